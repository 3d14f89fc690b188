import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** What `/proc` says of a process: running (or sleeping...), a zombie waiting to be reaped, or gone. */
export type ProcessState = 'alive' | 'zombie' | 'gone';

/** The state of process `pid`, read from `/proc/PID/stat`. */
export function processState(pid: number): ProcessState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'gone';
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' ? 'zombie' : 'alive';
}

/** How a child process ended, as Node reports it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The exit code a shell reports for an exit: the code, or 128 + the signal's number. */
export function exitCodeOf({ code, signal }: ProcessExit, fallback = 1): number {
  if (code !== null) return code;
  return signal ? 128 + (constants.signals[signal] ?? 0) : fallback;
}
