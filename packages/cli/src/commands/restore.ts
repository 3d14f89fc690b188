import { spawn } from 'node:child_process';
import { exitCodeOf, requireNativeProgram, type CracError, ErrorCode } from '@crac/core/protocol';
import { ExitCode, Report } from '../output.js';
import { forwardSignals } from '../signals.js';

/**
 * `crac restore DIR` when this Node CLI is asked for it: `crac` (bin/crac) execs the native
 * restorer of @crac/core (crac-restore) itself, without starting Node, so this runs only for
 * `node dist/cli.js restore`, or when the launcher found no restorer. It runs the same program
 * with the arguments as given (the restorer owns the command line: its options, help and usage
 * errors), this process forwarding signals and passing its exit code on: the verification, the
 * restore and their messages have one implementation, in C (packages/core/native/src/restore).
 */
export async function restoreCommand(args: string[]): Promise<number> {
  let restorer: string;
  try {
    restorer = requireNativeProgram('restore');
  } catch (error) {
    const report = new Report(args.includes('--json'));
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return (error as CracError).code === ErrorCode.INVALID_ARGUMENT ? ExitCode.USAGE : ExitCode.RESTORE_FAILED;
  }
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
