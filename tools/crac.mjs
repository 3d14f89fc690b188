// `crac checkpoint` and `crac restore` as a user runs them, with a JSON report (`--json`): the
// benchmark and the demo. Processes come from lifecycle.mjs, so none outlives the run.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './lifecycle.mjs';
import { paths } from './paths.mjs';

/** The JSON report line (`--json`) in a command's output, or undefined. */
export function reportOf(output) {
  return output
    .split('\n')
    .filter((line) => line.includes('"phases"'))
    .map((line) => JSON.parse(line))[0];
}

/**
 * `crac checkpoint --to IMAGE --json --warmup WARMUP -- NODE ARGS`, its output and the app's on
 * `logFile`; `env` reaches the app (PORT, services, CRAC_SHRINK). Without `warmup` the app
 * checkpoints itself; `options` go before `--` (`--working-set`). Resolves with the report's phases
 * and the checkpoint phase in ms.
 */
export async function cracCheckpoint({ node, args, cwd, env, image, warmup, logFile, options = [] }) {
  const log = openSync(logFile, 'w');
  const warmupArgs = warmup === undefined ? [] : ['--warmup', warmup];
  const command = [paths.cli, 'checkpoint', '--to', image, '--json', ...warmupArgs, ...options, '--', node, ...args];
  const checkpoint = launch(process.execPath, command, {
    cwd,
    env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const { code } = await checkpoint.exited;
  const output = readFileSync(logFile, 'utf8');
  const report = reportOf(output);
  if (code !== 0 || !report?.ok) throw new Error(`the checkpoint failed (exit code ${code}):\n${output.slice(-3000)}`);
  return { checkpointMs: report.phases.find((phase) => phase.phase === 'checkpoint').ms, phases: report.phases };
}

/**
 * Starts `crac restore --json [OPTIONS] IMAGE` (its stdout and the app's on `logFile`). The handle's
 * `report()` gives the restorer's JSON report (phases verify, restore) once it was printed.
 */
export function cracRestore({ image, env, logFile, options = [] }) {
  const log = openSync(logFile, 'a');
  // as a user runs it: the launcher execs the native restorer, no Node starts
  const handle = launch(paths.crac, ['restore', '--json', ...options, image], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  return { ...handle, report: () => reportOf(readFileSync(logFile, 'utf8')) };
}

/** The shell command `crac checkpoint --warmup` runs: bench/warmup.mjs URL COUNT. */
export function warmupCommand(url, requests) {
  return [process.execPath, join(paths.root, 'bench', 'warmup.mjs'), url, String(requests)].map((word) => JSON.stringify(word)).join(' ');
}
