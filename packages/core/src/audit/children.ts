import { readdirSync, readFileSync } from 'node:fs';

/** A live child process of this one. */
export interface ChildInfo {
  readonly pid: number;
  /** Its command line, arguments joined by spaces (shortened). */
  readonly command: string;
}

/** The children of every thread of this process (/proc/self/task/TID/children). */
export function listChildren(): ChildInfo[] {
  const pids = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  for (const task of tasks) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(/\s+/)) if (pid) pids.add(Number(pid));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...pids].sort((a, b) => a - b).map((pid) => ({ pid, command: commandOf(pid) }));
}

function commandOf(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return command.length > 120 ? `${command.slice(0, 117)}...` : command || '(exited)';
  } catch {
    return '(exited)';
  }
}
