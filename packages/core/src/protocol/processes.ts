import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** What `/proc` says of a process: running (or sleeping...), a zombie waiting to be reaped, or gone. */
export type ProcessState = 'alive' | 'zombie' | 'gone';

/** The fields of `/proc/PID/stat` after the command name (the first is the state), or undefined when it is gone. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The state of process `pid`, read from `/proc/PID/stat`. */
export function processState(pid: number): ProcessState {
  const fields = statFields(pid);
  if (!fields) return 'gone';
  return fields[0] === 'Z' ? 'zombie' : 'alive';
}

/**
 * When process `pid` started (field 22 of `/proc/PID/stat`, in clock ticks since boot), or
 * undefined when it is gone: the same pid with the same start time is the same process.
 */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The parent of process `pid` (0 when it has none, or is gone). */
export function parentOf(pid: number): number {
  return Number(statFields(pid)?.[1] ?? 0);
}

/**
 * Process `root` and all its descendants, parents before children (breadth-first), from one
 * reading of `/proc`: the processes of a tree that `crac checkpoint` started (npm, sh, the app).
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const parent = parentOf(pid);
    if (parent > 0) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const tree = processState(root) === 'gone' ? [] : [root];
  for (let index = 0; index < tree.length; index++) tree.push(...(children.get(tree[index] as number) ?? []));
  return tree;
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
