#!/usr/bin/env node
// Does loading pages lazily make a restored app answer sooner? For each example, one image
// (crac checkpoint, default shrink), restored by crac-init + CRIU in turns: eagerly (what crac
// restore does) and with `--lazy-pages` (a `criu lazy-pages` daemon serves each page on its first
// touch, through userfaultfd, and pushes the rest in the background). With a warm page cache, and
// a cold one (caches dropped before each restore: an image just copied to the host) when root.
// Prints a Markdown table; writes bench/results/lazy-pages.md. Options: --only=heavy-start,
// --heap-sizes=200,500 (the scaling fixture retaining that many MB; none by default),
// --rounds=N (5), --out=DIR.
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cracCheckpoint, warmupCommand } from '../tools/crac.mjs';
import { exampleConfig, exampleDir } from '../tools/examples.mjs';
import { atEnd, launch, runScript } from '../tools/lifecycle.mjs';
import { median } from '../tools/measure.mjs';
import { paths } from '../tools/paths.mjs';
import { freePort } from '../tools/ports.mjs';
import { stop, tempDir } from '../tools/processes.mjs';
import { startPostgres, startRedis } from '../tools/services.mjs';
import { imageBytes, mib } from './lib/images.mjs';
import { machine } from './lib/machine.mjs';
import { markdownTable } from './lib/markdown.mjs';
import { withCriu } from './lib/direct.mjs';
import { timeline } from './lib/timeline.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const only = option('only', 'heavy-start,express-pg').split(',');
const rounds = Number(option('rounds', '5'));
const out = option('out', join(bench, 'results'));
const heapSizes = option('heap-sizes', '').split(',').filter(Boolean);
const caches = process.getuid?.() === 0 ? ['warm', 'cold'] : ['warm'];

/** The scaling fixture (bench/fixtures/heap-app.mjs) as an example. */
const heapConfig = {
  start: ['node', join(bench, 'fixtures', 'heap-app.mjs')],
  services: [],
  warmup: { path: '/', requests: 20 },
  probe: '/',
};

/** crac-init + CRIU restoring `image`, eagerly or lazily; resolves to the handle and what to stop after. */
async function restore(image, { lazy, env, work }) {
  // loaded when used, as bench/lib/direct.mjs does
  const { IMAGES_DIR_FD } = await import('../packages/core/dist/image.js');
  const { requireNativeProgram, restorerArguments } = await import('../packages/core/dist/protocol.js');
  const args = withCriu(paths.criu, () => restorerArguments(image, { workDir: work }));
  let daemon;
  if (lazy) {
    args.splice(args.indexOf('restore') + 1, 0, '--lazy-pages');
    daemon = launch(paths.criu, ['lazy-pages', '-D', image, '-W', work, '-o', 'lazy-pages.log']);
    while (!existsSync(join(work, 'lazy-pages.socket'))) await sleep(1);
  }
  const dirFd = openSync(image, 'r');
  const stdio = ['ignore', 'ignore', 'pipe'];
  stdio[IMAGES_DIR_FD] = dirFd;
  const restored = launch(requireNativeProgram('init'), args, { env, stdio });
  closeSync(dirFd);
  return { restored, daemon };
}

await runScript({ progress: (message) => process.stderr.write(`lazy-pages: ${message}\n`), stack: true }, async () => {
  const { path: work, remove } = tempDir('crac-lazy-');
  atEnd(remove);
  const services = {};
  const rows = [];
  const runs = [
    ...only.map((example) => ({ example, config: exampleConfig(example), cwd: exampleDir(example), extra: {} })),
    ...heapSizes.map((size) => ({ example: `heap-${size}`, config: heapConfig, cwd: bench, extra: { HEAP_MB: size } })),
  ];
  for (const { example, config, cwd, extra } of runs) {
    const env = { ...process.env, NODE_ENV: 'production', ...extra };
    if (config.services.includes('postgres')) {
      services.postgres ??= await startPostgres();
      env.DATABASE_URL = services.postgres.url;
    }
    if (config.services.includes('redis')) {
      services.redis ??= await startRedis();
      env.REDIS_URL = services.redis.url;
    }
    const port = await freePort();
    env.PORT = String(port);
    const image = join(work, example);
    const [command, ...args] = config.start;
    await cracCheckpoint({
      node: command === 'node' ? process.execPath : command,
      args,
      cwd,
      env,
      image,
      warmup: warmupCommand(`http://127.0.0.1:${port}${config.warmup.path}`, config.warmup.requests),
      logFile: `${image}.log`,
    });
    for (const cache of caches) {
      const times = { eager: [], lazy: [] };
      for (let round = 0; round < rounds; round++) {
        for (const mode of ['eager', 'lazy']) {
          process.stderr.write(`lazy-pages: ${example}, ${cache} cache, ${mode}, round ${round + 1}/${rounds}\n`);
          if (cache === 'cold') writeFileSync('/proc/sys/vm/drop_caches', '3');
          const { path: restoreWork, remove: removeWork } = tempDir('crac-lazy-restore-');
          const started = performance.now();
          const { restored, daemon } = await restore(image, { lazy: mode === 'lazy', env, work: restoreWork });
          try {
            const seen = await timeline(`http://127.0.0.1:${port}${config.probe}`, started, { isAlive: restored.isAlive });
            times[mode].push(seen.firstMs);
          } finally {
            await stop(restored);
            if (daemon) await stop(daemon);
            removeWork();
          }
        }
      }
      rows.push({ example, cache, imageBytes: imageBytes(image), eagerMs: median(times.eager), lazyMs: median(times.lazy) });
    }
  }
  for (const service of Object.values(services)) await service.dispose();
  const header = ['example', 'page cache', 'image', 'eager: first 200', 'lazy pages: first 200', 'lazy / eager'];
  const body = rows.map((row) => [
    row.example,
    row.cache,
    mib(row.imageBytes),
    `${Math.round(row.eagerMs)} ms`,
    `${Math.round(row.lazyMs)} ms`,
    (row.lazyMs / row.eagerMs).toFixed(2),
  ]);
  const host = machine({ nodes: { [`Node ${process.versions.node.split('.')[0]}`]: process.execPath }, criu: paths.criu });
  const text = `${[
    `Taken ${new Date().toISOString().slice(0, 10)} on ${host.cpu}, ${host.kernel}, CRIU ${host.criu}, Node ${process.version}: ` +
      `\`node bench/lazy-pages.mjs ${process.argv.slice(2).join(' ')}\`. crac-init + CRIU, eager and lazy restores in turns; medians of ${rounds}.`,
    '',
    ...markdownTable([header, ...body], ['l', 'l', 'r', 'r', 'r', 'r']),
  ].join('\n')}\n`;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'lazy-pages.md'), text);
  process.stdout.write(text);
});
