// Types of processes.mjs.
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export type Event = Record<string, unknown>;

/** A process being watched. */
export interface Started {
  child: ChildProcess;
  /** Resolves when it has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** False once it has ended (a plain function: it can be handed on alone). */
  isAlive(): boolean;
  /** Everything printed so far (on the pipes it was given, or in its output file). */
  output(): string;
  /** The JSON lines printed so far. */
  events(): Event[];
  /** Resolves with the first JSON line matching, or rejects after `timeoutMs` (30 s) or once the process ended. */
  waitFor(match: (event: Event) => boolean, timeoutMs?: number): Promise<Event>;
}

/** Sends `signal` (SIGKILL) to `pid` (negative: a process group); false when there was nobody to send it to. */
export function kill(pid: number, signal?: NodeJS.Signals): boolean;
/** Kills the process group `pid` leads. */
export function killGroup(pid: number, signal?: NodeJS.Signals): boolean;
/** The JSON lines of `text`: those that start with `{`. */
export function jsonLines(text: string): Event[];
/** Spawns a command and watches it; `readOutput` reads its output when it goes to a file. */
export function spawnProcess(command: string, args: readonly string[], options?: SpawnOptions & { readOutput?: () => string }): Started;
/** Stops a process (`signal`, SIGTERM; SIGKILL after `graceMs`, 5 s) and waits for its end. */
export function stop(handle: Started, options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;

/** Where a command's stdout and stderr go: a real pipe, a file, or a terminal (a pty). */
export type StdoutKind = 'pipe' | 'file' | 'tty';
export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Default 'pipe'. */
  stdout?: StdoutKind;
  cwd?: string;
}
/** Starts a command in its own process group, its stdout and stderr on the kind of file asked for; ended by `stopAll()`. */
export function start(command: string, args: string[], options?: StartOptions): Started;
/** Runs a command to its end. */
export function run(
  command: string,
  args: string[],
  options?: StartOptions,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; events: Event[] }>;
/** Ends what `start` started: process groups, and the pids announced in JSON lines. */
export function stopAll(): void;
/** A fresh private directory under the system's temporary one, removed by `remove()`. */
export function tempDir(prefix?: string): { path: string; remove: () => void };
