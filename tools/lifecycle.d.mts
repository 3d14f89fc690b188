// Types of lifecycle.mjs.
import type { SpawnOptions } from 'node:child_process';
import type { Started } from './processes.mjs';

/** Runs scripts/setup.mjs --quiet (dependencies, CRIU, builds); throws if it failed. */
export function setUp(): void;
/** True once a signal asked the run to stop. */
export function isStopping(): boolean;
/** Spawns a process (default stdio: stderr kept as its output) stopped at the end of the run. */
export function launch(command: string, args: readonly string[], options?: SpawnOptions): Started;
/** Runs `cleanup` at the end of the run. */
export function atEnd(cleanup: () => unknown): void;
/** Stops the processes still running, then runs the cleanups, last first. */
export function stopEverything(): Promise<void>;
/** Stops everything on SIGINT / SIGTERM, then exits with 130 / 143. */
export function stopEverythingOnSignals(): void;
/** Runs `body` as the script's run: set-up first (when `setting` says what it brings; not with --skip-setup), failures said (exit code 1), everything stopped at the end. */
export function runScript(
  options: { progress: (message: string) => void; setting?: string; stack?: boolean },
  body: () => Promise<unknown>,
): Promise<void>;
