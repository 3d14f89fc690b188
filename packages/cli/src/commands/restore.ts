import { spawn } from 'node:child_process';
import { exitCodeOf, requireNativeProgram, type CracError, ErrorCode } from '@crac/core/protocol';
import { ExitCode, Report } from '../output.js';
import { forwardSignals } from '../signals.js';

/** Options of `crac restore`. */
export interface RestoreCommandOptions {
  json?: boolean;
  /**
   * Restore into a new pid namespace: `auto` (always, except an image checkpointed on a terminal,
   * which gets one only when its pids are taken), `always`, `never`.
   */
  pidNamespace?: 'auto' | 'always' | 'never';
  /** `quick` (default): hash only the image files touched since the seal; `full`: hash them all. */
  verify?: 'quick' | 'full';
}

/**
 * `crac restore DIR` when this Node CLI is asked for it: `crac` (bin/crac) execs the native
 * restorer of @crac/core (crac-restore) itself, without starting Node, so this runs only for
 * `node dist/cli.js restore`, or when the launcher found no restorer. It runs the same program,
 * with the same options, this process forwarding signals and passing its exit code on: the
 * verification, the restore and their messages have one implementation, in C
 * (packages/core/native/src/restore.c).
 */
export async function restoreCommand(dir: string, options: RestoreCommandOptions): Promise<number> {
  let restorer: string;
  try {
    restorer = requireNativeProgram('restore');
  } catch (error) {
    const report = new Report(options.json ?? false);
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return (error as CracError).code === ErrorCode.INVALID_ARGUMENT ? ExitCode.USAGE : ExitCode.RESTORE_FAILED;
  }
  const args = [
    ...(options.pidNamespace ? ['--pid-namespace', options.pidNamespace] : []),
    ...(options.verify ? ['--verify', options.verify] : []),
    ...(options.json ? ['--json'] : []),
    '--',
    dir,
  ];
  // SIGUSR1 would open an inspector in this process: it is the app's (forwarded). The restorer
  // is in this process's group: a terminal's Ctrl-C reaches it directly, and is not forwarded.
  const child = spawn(restorer, args, { stdio: 'inherit' });
  const stopForwarding = forwardSignals(() => child.pid as number, { sameGroup: true });
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
    return exitCodeOf(exit, ExitCode.RESTORE_FAILED);
  } finally {
    stopForwarding();
  }
}
