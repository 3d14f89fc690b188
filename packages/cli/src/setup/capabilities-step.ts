import { criuCapabilityStatus, findCriu, grantCriuCapabilities } from '@crac/core/protocol';
import type { SetupStep } from './step.js';

/**
 * `crac setup --unprivileged`: the file capabilities with which a non-root user's CRIU checkpoints
 * and restores (`cap_checkpoint_restore,cap_setpcap+ep`, see grantCriuCapabilities), granted as
 * root to the CRIU the criu step provided. Any user who can run that binary can then checkpoint
 * and restore their own processes with it.
 */
export function capabilitiesStep(env: NodeJS.ProcessEnv = process.env): SetupStep {
  return {
    name: 'unprivileged use',
    needsRoot: true,
    inspect() {
      let path: string;
      try {
        path = findCriu(env).path;
      } catch (error) {
        return { ready: false, missing: `no CRIU yet (${(error as Error).message})` };
      }
      try {
        const { missing } = criuCapabilityStatus(path);
        if (missing.length === 0) return { ready: true, detail: `${path} has what non-root users need` };
        return { ready: false, missing: `${path} lacks ${missing.map(({ name }) => name).join(', ')}` };
      } catch (error) {
        return { ready: false, missing: `cannot read the capabilities of ${path}: ${(error as Error).message}` };
      }
    },
    async provide() {
      const { path, command } = grantCriuCapabilities(findCriu(env).path);
      return `granted them to ${path} (${command})`;
    },
  };
}
