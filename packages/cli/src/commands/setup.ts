import { CracError } from '@crac/core/protocol';
import { ExitCode } from '../output.js';
import { capabilitiesStep } from '../setup/capabilities-step.js';
import { criuStep } from '../setup/criu-step.js';
import { nativeStep } from '../setup/native-step.js';
import { consoleProgress, type Progress } from '../setup/progress.js';
import { runSteps, type SetupStep } from '../setup/step.js';

/** Options of `crac setup`; a new provision adds its option here and its step in {@link setupSteps}. */
export interface SetupOptions {
  /** Also grant CRIU the file capabilities with which non-root users checkpoint and restore. */
  unprivileged?: boolean;
}

/** What `crac setup` provides, in order: what needs no root first. */
export function setupSteps(options: SetupOptions = {}): SetupStep[] {
  return [nativeStep(), criuStep(), ...(options.unprivileged ? [capabilitiesStep()] : [])];
}

/**
 * `crac setup`: provides what checkpoint and restore need on this host (the native programs,
 * CRIU 4.2+). Idempotent: what is ready is left alone, and a second run only says so.
 */
export async function setupCommand(options: SetupOptions = {}, progress: Progress = consoleProgress()): Promise<number> {
  try {
    const outcomes = await runSteps(setupSteps(options), progress, process.getuid?.() === 0);
    const provided = outcomes.filter((outcome) => outcome.action === 'provided').length;
    process.stdout.write(
      provided === 0
        ? 'crac setup: everything is ready; nothing to do. `npx crac check` checks the rest of the host.\n'
        : 'crac setup: done. `npx crac check` checks the rest of the host.\n',
    );
    return ExitCode.OK;
  } catch (error) {
    if (!(error instanceof CracError)) throw error;
    process.stderr.write(`crac setup: error [${error.code}] ${error.message}\n`);
    return ExitCode.FAILED;
  }
}
