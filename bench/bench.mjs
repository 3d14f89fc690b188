#!/usr/bin/env node
// pnpm bench: start-up benchmark of the examples. For each example, in every round and one after
// the other: a cold start (Node 20 and 24), a cold start with Node's module compile cache warm
// (Node 24), a restore with crac-node (shrunk image, and with CRAC_SHRINK=0), the same image
// restored by crac-init + CRIU alone (the floor: no launcher, no verification), a plain CRIU
// dump/restore with no coordination, and (heavy-start) Node's own startup snapshot. Then N copies
// of one image restored at once, and restore time against image size (a fixture retaining
// 50/200/500 MB), and the container rows (podman: a cold start and a restore in a container, and
// where the restored one's time goes). Medians, ratios, JSON (bench/results/latest.json), a
// Markdown table (bench/results/latest.md) and a chart (bench/results/chart.svg).
// Options: --rounds=N (5), --requests=N (first requests timed after start, 100), --only=a,b,
// --heap-sizes=50,200,500 (MB; empty: skip), --copies=N (restored at once, 8),
// --containers=express-pg,heavy-start (empty: skip), --skip-setup, --out=DIR.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exampleConfig, exampleNames } from '../tools/examples.mjs';
import { atEnd, runScript } from '../tools/lifecycle.mjs';
import { paths } from '../tools/paths.mjs';
import { tempDir } from '../tools/processes.mjs';
import { serviceEnvironment } from '../tools/services.mjs';
import { benchChart } from './lib/chart.mjs';
import { concurrentRestores } from './lib/concurrent.mjs';
import { containerRows } from './lib/containers.mjs';
import { machine } from './lib/machine.mjs';
import { prepareExample, runRound, summarize } from './lib/runs.mjs';
import { scaling } from './lib/scaling.mjs';
import { markdown } from './lib/table.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const rounds = Number(option('rounds', '5'));
const count = Number(option('requests', '100'));
const only = option('only', '');
const copies = Number(option('copies', '8'));
const heapSizes = option('heap-sizes', '50,200,500').split(',').filter(Boolean).map(Number);
const inContainers = option('containers', 'express-pg,heavy-start').split(',').filter(Boolean);
const out = option('out', join(bench, 'results'));
const progress = (message) => process.stderr.write(`bench: ${message}\n`);

const env = {
  bench,
  node20: process.execPath,
  node24: paths.node24,
  init: join(paths.nativeBuild, 'crac-init'),
  criu: paths.criu,
  count,
  progress,
};

await runScript({ progress, setting: 'dependencies, CRIU, builds', stack: true }, async () => {
  if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`--rounds must be a positive integer, got ${option('rounds')}`);
  if (!existsSync(env.node24)) throw new Error(`Node 24 is missing at ${env.node24} (pnpm install)`);
  const { path: work, remove } = tempDir('crac-bench-');
  atEnd(remove);
  const names = exampleNames(only);
  const configs = Object.fromEntries(names.map((name) => [name, exampleConfig(name)]));
  const services = await serviceEnvironment(new Set(Object.values(configs).flatMap((config) => config.services)), { atEnd, progress });
  const started = Date.now();
  const prepared = [];
  for (const name of names) prepared.push(await prepareExample(env, { name, config: configs[name], services, work }));
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 1; round <= rounds; round++) {
    progress(`round ${round}/${rounds}`);
    for (const example of prepared) runs[example.name].push(await runRound(env, example));
  }
  const examples = prepared.map((example) => summarize(example, runs[example.name]));
  for (const [i, example] of prepared.entries()) {
    progress(`${example.name}: ${copies} copies restored at once...`);
    examples[i].concurrent = await concurrentRestores(example, { copies, rounds: Math.min(rounds, 3) });
  }
  const heap = heapSizes.length > 0 ? await scaling(env, { sizes: heapSizes, rounds: Math.min(rounds, 3), work }) : [];
  const containerNames = names.filter((name) => inContainers.includes(name));
  const containers =
    containerNames.length > 0 ? await containerRows(env, { names: containerNames, configs, services, rounds, work, atEnd }) : [];
  const results = {
    takenAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: machine({ nodes: { node20: env.node20, node24: env.node24 }, criu: env.criu }),
    rounds,
    requestsAfterStart: count,
    examples,
    imageSizeScaling: heap,
    containers,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const table = markdown(results);
  writeFileSync(join(out, 'latest.md'), table);
  writeFileSync(join(out, 'chart.svg'), benchChart(results));
  process.stdout.write(table);
  progress(`results in ${out} (latest.json, latest.md, chart.svg)`);
});
