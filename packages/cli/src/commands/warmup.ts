import { spawn } from 'node:child_process';
import type { Watchdog } from '../watchdog.js';

/** The warm-up command, in a process group of its own so that all of it can be stopped (by `watchdog` too). */
export function runWarmup(command: string, watchdog: Watchdog): { exited: Promise<number>; stop(): void } {
  // Its output goes to stderr: stdout is the app's.
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 2, 2], detached: true });
  watchdog.group(child.pid);
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
