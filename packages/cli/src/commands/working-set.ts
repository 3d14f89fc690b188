import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { addWorkingSet, CracError, ErrorCode, REPORT_FORMAT, requireNativeProgram, type WorkingSetSummary } from '@crac/core/protocol';
import { formatBytes, type Report } from '../output.js';
import { stopProcessTree } from '../process-tree.js';
import type { Watchdog } from '../watchdog.js';
import { runWarmup } from './warmup.js';

/** How long the trial copy gets to stop after SIGTERM before everything of it is stopped. */
const STOP_MS = 10_000;

/**
 * `crac checkpoint --working-set`: once the image is sealed, a trial restore of it whose memory
 * comes only on demand (`crac-restore --record-working-set`: nothing in the background), the
 * warm-up run again against it, and the pages it touched recorded into the image
 * ({@link addWorkingSet}). The trial copy is stopped before the image is rewritten. A failure
 * leaves the image as it was: whole, restored eagerly.
 */
export async function recordWorkingSet(imagesDir: string, warmup: string, report: Report, watchdog: Watchdog): Promise<WorkingSetSummary> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'crac-working-set-'));
  watchdog.dir(dir);
  const faults = join(dir, 'faults.log');
  const trial = spawn(requireNativeProgram('restore'), ['--record-working-set', faults, imagesDir], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  watchdog.tree(trial.pid);
  let ended = false;
  const exited = new Promise<void>((resolveExit) =>
    trial.once('exit', () => {
      ended = true;
      resolveExit();
    }),
  );
  // the restorer forwards SIGTERM to the copy; whatever of it is left after STOP_MS is stopped
  const stop = async () => {
    if (ended) return;
    process.kill(trial.pid as number, 'SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(STOP_MS).then(() => false)]))) await stopProcessTree(trial.pid as number);
  };
  try {
    const restored = await Promise.race([restoredLine(trial.stderr), exited.then(() => false)]);
    if (!restored) throw failure(`the trial restore of ${imagesDir} failed (see above)`);
    const warm = await runWarmup(warmup, watchdog).exited;
    if (warm !== 0) throw failure(`the warm-up command failed against the trial restore (exit code ${warm})`);
    // what the copy touched to answer the warm-up; what it does to stop is not the working set
    const log = readFileSync(faults, 'utf8');
    await stop();
    const summary = addWorkingSet(imagesDir, log);
    report.phase(
      'working set',
      performance.now() - started,
      `${formatBytes(summary.pages * 4096)} restored with the process, ${formatBytes(summary.lazyPages * 4096)} after it`,
    );
    return summary;
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function failure(why: string): CracError {
  return new CracError(ErrorCode.CHECKPOINT, `${why}; the image is kept without a working set (restored eagerly)`);
}

/** Resolves once the restorer says the copy runs (its `restore` phase line); passes its stderr on meanwhile and after. */
function restoredLine(stderr: NodeJS.ReadableStream): Promise<boolean> {
  const restored = `${REPORT_FORMAT.prefix}restore `;
  return new Promise((resolveRestored) => {
    const lines = createInterface({ input: stderr });
    lines.on('line', (line) => {
      process.stderr.write(`${line}\n`);
      // on a pipe: no colour
      if (line.startsWith(restored)) resolveRestored(true);
    });
    lines.once('close', () => resolveRestored(false));
  });
}
