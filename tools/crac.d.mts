// Types of crac.mjs.
import type { Started } from './processes.mjs';

export interface Phase {
  phase: string;
  ms: number;
}
/** The JSON report (`--json`) of `crac checkpoint` / `crac restore`. */
export interface Report {
  ok: boolean;
  phases: Phase[];
  [field: string]: unknown;
}

/** The JSON report line in a command's output, or undefined. */
export function reportOf(output: string): Report | undefined;
/** `crac checkpoint --to IMAGE --json [--warmup WARMUP] -- NODE ARGS`, its output on `logFile`; throws unless it succeeded. */
export function cracCheckpoint(options: {
  node: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  image: string;
  /** A shell command (see `warmupCommand`); without it the app checkpoints itself. */
  warmup?: string;
  logFile: string;
  /** Options before `--`, such as `--working-set`. */
  options?: string[];
}): Promise<{ checkpointMs: number; phases: Phase[] }>;
/** Starts `crac restore --json [OPTIONS] IMAGE`, its output and the app's on `logFile` (stopped at the end of the run). */
export function cracRestore(options: { image: string; env?: NodeJS.ProcessEnv; logFile: string; options?: string[] }): Started & {
  report(): Report | undefined;
};
/** The shell command that warms an app up: bench/warmup.mjs URL COUNT. */
export function warmupCommand(url: string, requests: number): string;
