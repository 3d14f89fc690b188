#!/usr/bin/env node
// pnpm demo:checkpoint: for each example, a cold start, a checkpoint after warm-up, a restore,
// and a table of what a user feels. Progress on stderr, the table on stdout (--json: results).
// Every process and throwaway server is stopped at the end, on failure and on Ctrl-C too.
// Options: --json (results as JSON), --only=a,b (some examples), --skip-setup (development).
// Its helpers come from tools/ by relative path: the demo runs the set-up before dependencies exist.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracCheckpoint, warmupCommand } from '../tools/crac.mjs';
import { exampleConfig, exampleDir, exampleNames } from '../tools/examples.mjs';
import { atEnd, launch, runScript } from '../tools/lifecycle.mjs';
import { firstSuccess, latencies, percentile } from '../tools/measure.mjs';
import { paths } from '../tools/paths.mjs';
import { freePort } from '../tools/ports.mjs';
import { stop, tempDir } from '../tools/processes.mjs';
import { serviceEnvironment } from '../tools/services.mjs';

const json = process.argv.includes('--json');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const progress = (message) => process.stderr.write(`demo: ${message}\n`);

await runScript({ progress, setting: 'dependencies, CRIU, builds' }, async () => {
  const results = [];
  const names = exampleNames(only);
  const services = await serviceEnvironment(new Set(names.flatMap((name) => exampleConfig(name).services)), { atEnd, progress });
  for (const name of names) results.push(await demo(name, services));
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(table(results));
});

async function demo(name, services) {
  const dir = exampleDir(name);
  const config = exampleConfig(name);
  const env = { ...process.env, ...services, NODE_ENV: 'production' };
  const [command, ...args] = config.start;
  const node = command === 'node' ? process.execPath : command;

  progress(`${name}: cold start...`);
  const coldPort = await freePort();
  const coldUrl = `http://127.0.0.1:${coldPort}${config.probe}`;
  const coldStarted = performance.now();
  const cold = launch(node, args, { cwd: dir, env: { ...env, PORT: String(coldPort) } });
  const coldFirst = await firstSuccess(coldUrl, coldStarted, { isAlive: cold.isAlive });
  const coldLatencies = await latencies(coldUrl);
  await stop(cold);
  progress(`${name}: cold start answered after ${coldFirst.ms.toFixed(0)} ms`);

  progress(`${name}: warming up (${config.warmup.requests} requests) and checkpointing...`);
  const work = tempDir(`crac-demo-${name}-`);
  atEnd(work.remove);
  const image = join(work.path, 'image');
  const port = await freePort();
  // stdout on a file: the image records it, and a file (unlike a socket) can be handed over at restore
  const { checkpointMs } = await cracCheckpoint({
    node,
    args,
    cwd: dir,
    env: { ...env, PORT: String(port) },
    image,
    warmup: warmupCommand(`http://127.0.0.1:${port}${config.warmup.path}`, config.warmup.requests),
    logFile: join(work.path, 'checkpoint.log'),
  }).catch((error) => {
    throw new Error(`${name}: ${error.message}`);
  });
  const imageBytes = readdirSync(image).reduce((sum, file) => sum + statSync(join(image, file)).size, 0);
  progress(`${name}: checkpointed in ${checkpointMs.toFixed(0)} ms, image ${(imageBytes / 2 ** 20).toFixed(1)} MiB`);

  progress(`${name}: restoring...`);
  const restoreUrl = `http://127.0.0.1:${port}${config.probe}`;
  const restoreStarted = performance.now();
  // restored with the same environment: same port, same servers
  const restored = launch(paths.crac, ['restore', image], { env: { ...env, PORT: String(port) } });
  const restoredFirst = await firstSuccess(restoreUrl, restoreStarted, { isAlive: restored.isAlive });
  const restoredLatencies = await latencies(restoreUrl);
  await stop(restored);
  // the same content, but for fields an example names as volatile (where a cached value came from, say)
  if (comparable(restoredFirst.body, config) !== comparable(coldFirst.body, config)) {
    throw new Error(`${name}: the restored app answered ${restoredFirst.body}, the cold one ${coldFirst.body}`);
  }
  progress(`${name}: restored, answered after ${restoredFirst.ms.toFixed(0)} ms`);

  return {
    example: name,
    cold: { firstResponseMs: coldFirst.ms, first100: summary(coldLatencies) },
    restored: { firstResponseMs: restoredFirst.ms, first100: summary(restoredLatencies), sameAnswer: true },
    speedup: coldFirst.ms / restoredFirst.ms,
    checkpointMs,
    imageBytes,
  };
}

function comparable(body, config) {
  if (!config.volatile) return body;
  const value = JSON.parse(body);
  for (const field of config.volatile) delete value[field];
  return JSON.stringify(value);
}

function summary(times) {
  return { firstMs: times[0], p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

function table(results) {
  const rows = [
    ['example', 'cold: first 200', 'restore: first 200', 'speed-up', 'first 100 req p50/p99 cold', 'restored', 'image', 'checkpoint'],
    ...results.map((r) => [
      r.example,
      `${r.cold.firstResponseMs.toFixed(0)} ms`,
      `${r.restored.firstResponseMs.toFixed(0)} ms`,
      `${r.speedup.toFixed(1)}x`,
      `${r.cold.first100.p50Ms.toFixed(2)} / ${r.cold.first100.p99Ms.toFixed(2)} ms`,
      `${r.restored.first100.p50Ms.toFixed(2)} / ${r.restored.first100.p99Ms.toFixed(2)} ms`,
      `${(r.imageBytes / 2 ** 20).toFixed(1)} MiB`,
      `${r.checkpointMs.toFixed(0)} ms`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) => `${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}\n`;
  return `\n${line(rows[0])}${line(widths.map((width) => '-'.repeat(width)))}${rows.slice(1).map(line).join('')}`;
}
