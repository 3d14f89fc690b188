import { spawn } from 'node:child_process';

/** The warm-up command, in a process group of its own so that all of it can be stopped. */
export function runWarmup(command: string): { exited: Promise<number>; stop(): void } {
  // Its output goes to stderr: stdout is the app's.
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 2, 2], detached: true });
  return {
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code ?? 1))),
    stop: () => {
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
