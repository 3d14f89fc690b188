import { CracError, ErrorCode } from '@crac/core/protocol';
import type { Progress } from './progress.js';

/** What a step found on the host. */
export type StepState = { ready: true; detail: string } | { ready: false; missing: string };

/**
 * One thing `crac setup` provides. Steps run in order; one that is ready is left alone, so a
 * second run does nothing. A new provision (file capabilities for unprivileged use, say) is one
 * more step in the list that {@link setupSteps} of setup.ts returns.
 */
export interface SetupStep {
  /** Short name in the progress lines: `criu`, `native programs`. */
  readonly name: string;
  /** Whether {@link provide} installs system-wide, and so must run as root. */
  readonly needsRoot: boolean;
  /** What is there now. Never changes the host. */
  inspect(): StepState;
  /** Makes the step ready, reporting progress; resolves with what it did. Throws a CracError when it cannot. */
  provide(progress: Progress): Promise<string>;
}

/** How each step ended: ready already, or provided now. */
export interface StepOutcome {
  name: string;
  action: 'ready' | 'provided';
  detail: string;
}

/**
 * Runs the steps in order, stopping at the first that fails.
 * @throws {@link CracError} `CRAC_EROOT` when a step must install system-wide and this is not
 * root (before anything of that step ran); `CRAC_ESETUP` when a step was provided and is still
 * not ready; or the step's own error.
 */
export async function runSteps(steps: readonly SetupStep[], progress: Progress, isRoot: boolean): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const before = step.inspect();
    if (before.ready) {
      progress.step(step.name, `ready: ${before.detail}`);
      outcomes.push({ name: step.name, action: 'ready', detail: before.detail });
      continue;
    }
    progress.step(step.name, `missing: ${before.missing}`);
    if (step.needsRoot && !isRoot) {
      throw new CracError(
        ErrorCode.NEEDS_ROOT,
        `${step.name}: providing it installs system-wide and needs root: run \`sudo npx crac setup\` (or as root: \`npx crac setup\`)`,
      );
    }
    const did = await step.provide(progress);
    const after = step.inspect();
    if (!after.ready) throw new CracError(ErrorCode.SETUP, `${step.name}: ${did}, but it is still missing: ${after.missing}`);
    progress.step(step.name, `ready: ${after.detail} (${did})`);
    outcomes.push({ name: step.name, action: 'provided', detail: after.detail });
  }
  return outcomes;
}
