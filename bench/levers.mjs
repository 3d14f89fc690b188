#!/usr/bin/env node
// Each shrink lever alone, on real images: for heavy-start and express-pg, on Node 20 and 24,
// an in-process runner warms the example up, pulls the levers, checkpoints (crac's own shrink
// off), and the image is restored with `crac restore`. Prints a Markdown table; writes
// bench/results/levers.json and levers.md. Options: --only=heavy-start, --restores=N (2),
// --levers=SET,SET (each SET joined with +, e.g. low-memory+trim; an empty SET: none), --out=DIR.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cracCheckpoint, cracRestore } from '../tools/crac.mjs';
import { exampleConfig, exampleDir } from '../tools/examples.mjs';
import { atEnd, runScript } from '../tools/lifecycle.mjs';
import { median, percentile } from '../tools/measure.mjs';
import { paths } from '../tools/paths.mjs';
import { freePort } from '../tools/ports.mjs';
import { stop, tempDir } from '../tools/processes.mjs';
import { startPostgres } from '../tools/services.mjs';
import { imageBytes, mib } from './lib/images.mjs';
import { machine } from './lib/machine.mjs';
import { markdownTable } from './lib/markdown.mjs';
import { timeline } from './lib/timeline.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const only = option('only', 'heavy-start,express-pg').split(',');
const restores = Number(option('restores', '2'));
const out = option('out', join(bench, 'results'));
const LEVERS = option('levers', ',trim,pressure-critical,low-memory,low-memory+trim')
  .split(',')
  .map((set) => set.replaceAll('+', ','));
const NODES = { [`Node ${process.versions.node.split('.')[0]}`]: process.execPath, 'Node 22': paths.node22, 'Node 24': paths.node24 };

await runScript({ progress: (message) => process.stderr.write(`levers: ${message}\n`), stack: true }, async () => {
  const { path: work, remove } = tempDir('crac-levers-');
  atEnd(remove);
  let databaseUrl = process.env.DATABASE_URL;
  if (only.includes('express-pg') && !databaseUrl) {
    const postgres = await startPostgres();
    atEnd(() => postgres.dispose());
    databaseUrl = postgres.url;
  }
  const rows = [];
  for (const example of only) {
    const config = exampleConfig(example);
    for (const [nodeName, node] of Object.entries(NODES)) {
      for (const levers of LEVERS) {
        process.stderr.write(`levers: ${example} ${nodeName} [${levers || 'none'}]...\n`);
        const port = await freePort();
        const image = join(work, `${example}-${nodeName.replace(' ', '')}-${levers || 'none'}`);
        const env = {
          ...process.env,
          NODE_ENV: 'production',
          DATABASE_URL: databaseUrl,
          PORT: String(port),
          APP: join(exampleDir(example), 'app.js'),
          WARM_URL: `http://127.0.0.1:${port}${config.warmup.path}`,
          WARM_REQUESTS: String(config.warmup.requests),
          LEVERS: levers,
        };
        const logFile = join(`${image}.log`);
        const { checkpointMs } = await cracCheckpoint({
          node,
          args: [join(bench, 'fixtures', 'lever-runner.mjs')],
          cwd: exampleDir(example),
          env,
          image,
          logFile,
        });
        const lever = JSON.parse(
          readFileSync(logFile, 'utf8')
            .split('\n')
            .find((line) => line.includes('"levers"')),
        );
        const times = [];
        const latencies = [];
        for (let i = 0; i < restores; i++) {
          const started = performance.now();
          const restored = cracRestore({
            image,
            env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port) },
            logFile: `${image}-restore-${i}.log`,
          });
          try {
            const seen = await timeline(`http://127.0.0.1:${port}${config.probe}`, started, { isAlive: restored.isAlive });
            times.push(seen.firstMs);
            latencies.push(...seen.requests.map((request) => request.ms));
          } finally {
            await stop(restored);
          }
        }
        rows.push({
          example,
          node: nodeName,
          levers: levers || 'none',
          rssBeforeBytes: lever.rssBefore,
          rssAfterBytes: lever.rssAfter,
          leverMs: lever.ms,
          imageBytes: imageBytes(image),
          checkpointMs,
          restoreFirstResponseMs: median(times),
          first100: { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: Math.max(...latencies) },
        });
      }
    }
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'levers.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const host = machine({ nodes: NODES, criu: paths.criu });
  const nodes = Object.entries(host.nodes)
    .map(([name, version]) => `${name} = ${version}`)
    .join(', ');
  const header = [
    'example',
    'node',
    'levers',
    'RSS before',
    'RSS after',
    'lever time',
    'image',
    'restore: first 200',
    'next 100: p50 / p99 / max',
  ];
  const body = rows.map((row) => [
    row.example,
    row.node,
    row.levers,
    mib(row.rssBeforeBytes),
    mib(row.rssAfterBytes),
    `${Math.round(row.leverMs)} ms`,
    mib(row.imageBytes),
    `${Math.round(row.restoreFirstResponseMs)} ms`,
    `${row.first100.p50Ms.toFixed(2)} / ${row.first100.p99Ms.toFixed(2)} / ${row.first100.maxMs.toFixed(1)} ms`,
  ]);
  const table = `${[
    `Taken ${new Date().toISOString().slice(0, 10)} on ${host.cpu}, ${host.kernel}, CRIU ${host.criu}, ${nodes}: ` +
      `\`node bench/levers.mjs ${process.argv.slice(2).join(' ')}\`. Levers pulled by hand, crac's own shrink off; ` +
      `restore: median of ${restores}; the next 100 requests over all restores.`,
    '',
    ...markdownTable([header, ...body], ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']),
  ].join('\n')}\n`;
  writeFileSync(join(out, 'levers.md'), table);
  process.stdout.write(table);
});
