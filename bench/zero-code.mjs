#!/usr/bin/env node
// node bench/zero-code.mjs: cold start vs crac restore of the apps with no crac code, as their
// users start them (test/fixtures: a plain http server under `npm start`, a Koa app under node,
// express-generator's scaffold under `npm start`; examples/nextjs under `next start` on Node 24),
// side by side in each round: the time from the command's start to the first 200. Medians;
// Markdown on stdout.
// Options: --rounds=N (5), --skip-setup.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracCheckpoint, cracRestore, warmupCommand } from '../tools/crac.mjs';
import { atEnd, launch, runScript } from '../tools/lifecycle.mjs';
import { firstSuccess, median } from '../tools/measure.mjs';
import { paths } from '../tools/paths.mjs';
import { freePort } from '../tools/ports.mjs';
import { killGroup, stop, tempDir } from '../tools/processes.mjs';

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const rounds = Number(option('rounds', '5'));
const progress = (message) => process.stderr.write(`zero-code bench: ${message}\n`);
const fixtures = join(paths.root, 'test', 'fixtures');

/** Each app: how its users start it, where, and what it needs. */
const APPS = [
  { name: 'plain http (npm start)', cwd: join(fixtures, 'zero-code'), command: ['npm', 'start'] },
  { name: 'Koa (node koa-app.cjs)', cwd: join(fixtures, 'zero-code'), command: ['node', 'koa-app.cjs'] },
  { name: 'express-generator (npm start)', cwd: join(fixtures, 'express-generator'), command: ['npm', 'start'] },
  // the Node our users run, its image made by it too
  {
    name: 'Next.js 16 (next start, Node 24)',
    cwd: join(paths.root, 'examples', 'nextjs'),
    command: [paths.node24, 'node_modules/next/dist/bin/next', 'start'],
  },
];

await runScript({ progress, setting: 'dependencies, CRIU, builds' }, async () => {
  if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`--rounds must be a positive integer, got ${option('rounds')}`);
  const { path: work, remove } = tempDir('crac-bench-zero-code-');
  atEnd(remove);
  const rows = [];
  for (const app of APPS) rows.push(await measure(app, work));
  console.log('| app | cold start | crac restore | speed-up |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.name} | ${row.cold} ms | **${row.restore} ms** | ${(row.cold / row.restore).toFixed(1)}x |`);
});

async function measure(app, work) {
  progress(`${app.name}: warm-up and checkpoint`);
  const image = join(work, app.name.replace(/\W+/g, '-'));
  const port = await freePort();
  const [command, ...args] = app.command;
  await cracCheckpoint({
    node: command,
    args,
    cwd: app.cwd,
    env: { ...process.env, PORT: String(port) },
    image,
    warmup: warmupCommand(`http://127.0.0.1:${port}/`, 200),
    logFile: join(work, 'checkpoint.log'),
  });
  const cold = [];
  const restore = [];
  for (let round = 1; round <= rounds; round++) {
    progress(`${app.name}: round ${round}/${rounds}`);
    const coldPort = await freePort();
    const startedAt = performance.now();
    // in a process group of its own: npm and the app under it are stopped together
    const started = launch(command, args, { cwd: app.cwd, env: { ...process.env, PORT: String(coldPort) }, detached: true });
    cold.push((await firstSuccess(`http://127.0.0.1:${coldPort}/`, startedAt, { isAlive: started.isAlive })).ms);
    killGroup(started.child.pid, 'SIGTERM');
    await stop(started);

    const restorePort = await freePort();
    const restoredAt = performance.now();
    const restored = cracRestore({ image, env: { ...process.env, PORT: String(restorePort) }, logFile: join(work, 'restore.log') });
    restore.push((await firstSuccess(`http://127.0.0.1:${restorePort}/`, restoredAt, { isAlive: restored.isAlive })).ms);
    await stop(restored);
  }
  return { name: app.name, cold: Math.round(median(cold)), restore: Math.round(median(restore)) };
}
