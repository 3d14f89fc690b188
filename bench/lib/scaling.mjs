// How restore time grows with the image: a fixture retaining HEAP_MB of data, checkpointed with
// crac-node (shrink on: it cannot drop retained data), restored a few times.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracCheckpoint, cracRestore, warmupCommand } from '../../tools/crac.mjs';
import { firstSuccess, median } from '../../tools/measure.mjs';
import { freePort } from '../../tools/ports.mjs';
import { stop } from '../../tools/processes.mjs';
import { criuPhaseMedians } from './criu-phases.mjs';
import { imageBytes } from './images.mjs';

/** For each size (MB retained): image size, checkpoint time, median restore to first 200. */
export async function scaling(env, { sizes, rounds, work }) {
  const results = [];
  for (const size of sizes) {
    env.progress(`image size scaling: ${size} MB retained...`);
    const port = await freePort();
    const image = join(work, `heap-${size}`);
    const url = `http://127.0.0.1:${port}/`;
    const appEnv = { ...process.env, PORT: String(port), HEAP_MB: String(size) };
    const { checkpointMs } = await cracCheckpoint({
      node: env.node20,
      args: [join(env.bench, 'fixtures', 'heap-app.mjs')],
      cwd: env.bench,
      env: appEnv,
      image,
      warmup: warmupCommand(url, 20),
      logFile: join(work, `heap-${size}-checkpoint.log`),
    });
    const times = [];
    const criu = [];
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      const restored = cracRestore({ image, env: appEnv, logFile: join(work, `heap-${size}-restore-${round}.log`) });
      try {
        times.push((await firstSuccess(url, started, { isAlive: restored.isAlive })).ms);
        criu.push(restored.report()?.criu);
      } finally {
        await stop(restored);
      }
    }
    results.push({
      retainedMB: size,
      imageBytes: imageBytes(image),
      checkpointMs,
      restoreFirstResponseMs: median(times),
      runs: times,
      criuRestoreMs: criuPhaseMedians(criu),
    });
  }
  return results;
}
