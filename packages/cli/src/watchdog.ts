import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * What this command started, stopped when it ends however it ends: a `crac-guard --watch`
 * process reads the registrations on a pipe, and at its end (this process exited, even
 * SIGKILLed) stops what is left of them (see native/src/guard/watch.c). This command stops
 * everything itself on any end it sees: the watch then finds nothing.
 */
export interface Watchdog {
  /** `pid` and every process under it. */
  tree(pid: number | undefined): void;
  /** The process group `pgid` leads. */
  group(pgid: number | undefined): void;
  /** A private directory of this process (0700), removed with the files in it once the processes are stopped. */
  dir(path: string): void;
}

/** Starts the watch (`guard`: crac-guard). */
export function startWatchdog(guard: string): Watchdog {
  const child = spawn(guard, ['--watch'], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
  child.once('error', () => {}); // no watch: this command still stops what it started on every end it sees
  child.unref();
  const pipe = child.stdin as Socket;
  pipe.on('error', () => {});
  // the pipe must not keep this process alive: its end is the signal
  pipe.unref();
  const register = (kind: 'tree' | 'group', pid: number | undefined) => {
    if (pid !== undefined && pid > 1) pipe.write(`${kind} ${pid}\n`);
  };
  return {
    tree: (pid) => register('tree', pid),
    group: (pgid) => register('group', pgid),
    dir: (path) => {
      if (path.startsWith('/') && !path.includes('\n')) pipe.write(`dir ${path}\n`);
    },
  };
}
