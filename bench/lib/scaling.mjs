// How restore time grows with the image: a fixture retaining HEAP_MB of data, checkpointed with
// crac-node (shrink on: it cannot drop retained data) and a working set (`--working-set`), then
// restored in turns both ways from that one image: eagerly (`--memory eager`: every page before
// the app resumes) and with its working set first (the rest through CRIU's lazy-pages server).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracCheckpoint, cracRestore, warmupCommand } from '../../tools/crac.mjs';
import { firstSuccess, latencies, median, percentile } from '../../tools/measure.mjs';
import { freePort } from '../../tools/ports.mjs';
import { stop } from '../../tools/processes.mjs';
import { criuPhaseMedians } from './criu-phases.mjs';
import { imageBytes } from './images.mjs';

const MODES = { eager: ['--memory', 'eager'], workingSet: [] };

/**
 * For each size (MB retained): image size, checkpoint time, the working set, and per restore mode
 * the median first 200 and the p99 of the first 100 requests against the steady state (the 300 after).
 */
export async function scaling(env, { sizes, rounds, work }) {
  const results = [];
  for (const size of sizes) {
    env.progress(`image size scaling: ${size} MB retained...`);
    const port = await freePort();
    const image = join(work, `heap-${size}`);
    const url = `http://127.0.0.1:${port}/`;
    const appEnv = { ...process.env, PORT: String(port), HEAP_MB: String(size) };
    const { checkpointMs, phases } = await cracCheckpoint({
      node: env.node20,
      args: [join(env.bench, 'fixtures', 'heap-app.mjs')],
      cwd: env.bench,
      env: appEnv,
      image,
      warmup: warmupCommand(url, 20),
      logFile: join(work, `heap-${size}-checkpoint.log`),
      options: ['--working-set'],
    });
    const runs = { eager: [], workingSet: [] };
    for (let round = 0; round < rounds; round++) {
      for (const [mode, options] of Object.entries(MODES)) {
        const started = performance.now();
        const restored = cracRestore({ image, env: appEnv, logFile: join(work, `heap-${size}-${mode}-${round}.log`), options });
        try {
          const first = (await firstSuccess(url, started, { isAlive: restored.isAlive })).ms;
          const after = await latencies(url, 400);
          runs[mode].push({
            first,
            p99First: percentile(after.slice(0, 100), 99),
            p99Steady: percentile(after.slice(100), 99),
            criu: restored.report()?.criu,
          });
        } finally {
          await stop(restored);
        }
      }
    }
    const summary = (mode) => ({
      firstResponseMs: median(runs[mode].map((run) => run.first)),
      runs: runs[mode].map((run) => run.first),
      p99FirstMs: median(runs[mode].map((run) => run.p99First)),
      p99SteadyMs: median(runs[mode].map((run) => run.p99Steady)),
    });
    results.push({
      retainedMB: size,
      imageBytes: imageBytes(image),
      checkpointMs,
      workingSetMs: phases.find((phase) => phase.phase === 'working set')?.ms,
      workingSetBytes: JSON.parse(readFileSync(join(image, 'crac-manifest.json'), 'utf8')).workingSet.pages * 4096,
      restoreFirstResponseMs: summary('eager').firstResponseMs,
      runs: summary('eager').runs,
      eager: summary('eager'),
      workingSet: summary('workingSet'),
      criuRestoreMs: criuPhaseMedians(runs.eager.map((run) => run.criu)),
    });
  }
  return results;
}
