// Scaling out: N copies of one image restored at the same moment, each with its own PORT (as N
// containers started from one image would be). Reports each copy's time to its first 200 against
// a single restore of the same image, measured in the same rounds.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracRestore } from '../../tools/crac.mjs';
import { firstSuccess, median } from '../../tools/measure.mjs';
import { freePort } from '../../tools/ports.mjs';
import { stop } from '../../tools/processes.mjs';

/** Restores `copies` copies of the example's crac image at once, `rounds` times. */
export async function concurrentRestores(example, { copies = 8, rounds = 3 } = {}) {
  const firstMs = [];
  const failures = [];
  for (let round = 0; round < rounds; round++) {
    const ports = [];
    for (let i = 0; i < copies; i++) ports.push(await freePort());
    const started = performance.now();
    const restored = ports.map((port, i) =>
      cracRestore({
        image: example.crac.image,
        env: { ...example.base, PORT: String(port) },
        logFile: join(example.work, `${example.name}-concurrent-${round}-${i}-${Date.now()}.log`),
      }),
    );
    try {
      const results = await Promise.allSettled(
        restored.map((copy, i) =>
          firstSuccess(`http://127.0.0.1:${ports[i]}${example.config.probe}`, started, { isAlive: copy.isAlive, timeoutMs: 30_000 }),
        ),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') firstMs.push(result.value.ms);
        else failures.push(result.reason.message);
      }
    } finally {
      await Promise.all(restored.map((copy) => stop(copy)));
    }
  }
  return {
    copies,
    rounds,
    firstResponseMs: firstMs.length > 0 ? { median: median(firstMs), max: Math.max(...firstMs) } : null,
    answered: firstMs.length,
    failures,
  };
}
