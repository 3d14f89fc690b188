import { CRIU_GROUP, criuCapabilityStatus, findCriu, grantCriuCapabilities, whoMayRunCriu } from '@crac/core/protocol';
import type { SetupStep } from './step.js';

/**
 * `crac setup --unprivileged`: the file capabilities with which a non-root user's CRIU checkpoints
 * and restores (`cap_checkpoint_restore,cap_setpcap+ep`, see grantCriuCapabilities), granted as
 * root to the CRIU the criu step provided, which becomes `root:crac` 0750: the members of the group
 * `crac` checkpoint and restore their own processes with it (and could keep both capabilities,
 * which is why the group is the grant). A binary granted earlier to everyone is restricted again.
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
        if (missing.length > 0) return { ready: false, missing: `${path} lacks ${missing.map(({ name }) => name).join(', ')}` };
        const { everyone, group } = whoMayRunCriu(path);
        if (everyone || group !== CRIU_GROUP)
          return {
            ready: false,
            missing: `${path} is granted to ${everyone ? 'every user' : `group ${group ?? 'none'}`}, not to the group ${CRIU_GROUP} alone`,
          };
        return { ready: true, detail: `${path} has what the members of ${CRIU_GROUP} need` };
      } catch (error) {
        return { ready: false, missing: `cannot read the capabilities of ${path}: ${(error as Error).message}` };
      }
    },
    async provide() {
      const { path, command, group } = grantCriuCapabilities(findCriu(env).path);
      return `granted them to ${path} (${command}), which only root and the group ${group} may run: add users with usermod -aG ${group} USER`;
    },
  };
}
