#!/usr/bin/env node
// pnpm demo:container: path 1 of docs/containers.md, measured. Builds the example's image
// (tools/rootfs.mjs, no registry), bakes its warm image in (tools/warm-image.mjs), then times a
// container's cold start against a container's restore to the first 200 (medians of a few runs),
// with where a restored container's time goes (tools/container-timing.mjs), and starts 8
// containers at once from the one warm image. Progress on stderr, the tables on stdout (--json:
// results). Every container, the warm image and the throwaway PostgreSQL are
// removed at the end, on failure and on Ctrl-C too (the base image stays, cached by its hash).
// Options: --json, --runs=N (5), --only=express-pg,heavy-start, --skip-setup (development).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exampleConfig } from '../tools/examples.mjs';
import { atEnd, runScript } from '../tools/lifecycle.mjs';
import { timeContainer } from '../tools/container-timing.mjs';
import { get, median } from '../tools/measure.mjs';
import { assertContainerHost, podman, RUN_FLAGS, removeContainers } from '../tools/podman.mjs';
import { tempDir } from '../tools/processes.mjs';
import { serviceEnvironment } from '../tools/services.mjs';
import { bakeExample, restoreFlags, writeRestoreSeccompProfile } from '../tools/warm-image.mjs';

const json = process.argv.includes('--json');
const runs = Number(process.argv.find((arg) => arg.startsWith('--runs='))?.slice('--runs='.length) ?? 5);
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
/** express-pg (the app) and heavy-start (a start that costs what real ones do). */
const EXAMPLES = ['express-pg', 'heavy-start'];
/** The example started 4 times at once: its /instance tells the copies apart. */
const TOGETHER = 'express-pg';
const COPIES = 8;
const progress = (message) => process.stderr.write(`demo: ${message}\n`);

await runScript({ progress, setting: 'dependencies, CRIU, podman, builds' }, async () => {
  assertContainerHost();
  const results = await demo();
  if (json)
    process.stdout.write(`${JSON.stringify(results)}\n`); // one line: a JSON-lines reader takes it
  else process.stdout.write(table(results));
});

async function demo() {
  const names = only ? only.split(',') : EXAMPLES;
  const services = await serviceEnvironment(new Set(names.flatMap((name) => exampleConfig(name).services)), { atEnd, progress });
  const containers = [];
  atEnd(() => removeContainers(containers));
  const work = tempDir('crac-demo-container-');
  atEnd(work.remove);
  const seccomp = writeRestoreSeccompProfile(join(work.path, 'restore-seccomp.json'));

  /** `podman run -d` on a fresh port: ms from the command to the first 200 of `probe`, and where they went. */
  const timeToFirst200 = (label, flags, image, probe) => {
    const name = `crac-demo-${label}-${process.pid}-${containers.length}`;
    containers.push(name);
    return timeContainer({ name, flags, image, env: services, probe });
  };

  const results = { runs, examples: [] };
  for (const example of names) {
    const config = exampleConfig(example);
    const tag = `demo-${process.pid}`;
    atEnd(() => podman(['rmi', '--force', `localhost/crac-node/${example}-warm:${tag}`], { check: false }));
    const { image, warmImage, bakeMs } = await bakeExample({ example, config, services, tag, progress });

    const cold = [];
    const restored = [];
    const coldPhases = [];
    const restoredPhases = [];
    for (let run = 1; run <= runs; run++) {
      const coldRun = await timeToFirst200('cold', RUN_FLAGS, [image, ...config.start], config.probe);
      cold.push(coldRun.ms);
      coldPhases.push(coldRun.phases);
      const restoredRun = await timeToFirst200('restore', restoreFlags(seccomp), [warmImage], config.probe);
      restored.push(restoredRun.ms);
      restoredPhases.push(restoredRun.phases);
      await removeContainers([coldRun.name, restoredRun.name]);
      progress(
        `${example}: run ${run}/${runs}: cold start ${coldRun.ms.toFixed(0)} ms, restore ${restoredRun.ms.toFixed(0)} ms to the first 200`,
      );
    }
    results.examples.push({
      example,
      image,
      bakeMs,
      cold: { medianMs: median(cold), runsMs: cold, containerStartMs: median(coldPhases.map((p) => p.containerStartMs)) },
      restored: { medianMs: median(restored), runsMs: restored, phasesMs: medianPhases(restoredPhases) },
      speedup: median(cold) / median(restored),
    });

    if (example !== TOGETHER) continue;
    progress(`${COPIES} containers at once from ${warmImage}...`);
    const together = performance.now();
    const copies = await Promise.all(
      Array.from({ length: COPIES }, () => timeToFirst200('copy', restoreFlags(seccomp), [warmImage], config.probe)),
    );
    const single = results.examples.find((result) => result.example === example).restored.medianMs;
    const allMs = performance.now() - together;
    const instances = await Promise.all(copies.map(async ({ port }) => JSON.parse((await get(`http://127.0.0.1:${port}/instance`)).body)));
    if (new Set(instances.map((instance) => instance.uuid)).size !== COPIES)
      throw new Error('two copies gave the same UUID: their randomness was not their own');
    instances.forEach((instance, index) => {
      if (instance.port !== copies[index].port)
        throw new Error(`copy ${index} answered with PORT ${instance.port}, not ${copies[index].port}`);
    });
    await removeContainers(copies.map(({ name }) => name));
    results.together = {
      example,
      copies: COPIES,
      allAnsweredMs: allMs,
      eachMs: copies.map(({ ms }) => ms),
      medianMs: median(copies.map(({ ms }) => ms)),
      singleMs: single,
      ports: instances.map((instance) => instance.port),
      uuids: instances.map((instance) => instance.uuid),
    };
  }
  return results;
}

/** The median of each phase over runs. */
function medianPhases(runs) {
  return Object.fromEntries(Object.keys(runs[0]).map((phase) => [phase, median(runs.map((run) => run[phase]))]));
}

function table(r) {
  const ms = (value) => `${value.toFixed(0)} ms`;
  const rows = [
    ['example', `cold start: first 200 (median of ${r.runs})`, 'restore: first 200', 'speed-up', 'build step'],
    ...r.examples.map((e) => [e.example, ms(e.cold.medianMs), ms(e.restored.medianMs), `${e.speedup.toFixed(1)}x`, ms(e.bakeMs)]),
  ];
  let text = `\n${lines(rows)}`;
  const phases = [
    [
      'example',
      'podman: container start',
      'crac restore: verify',
      'restore (CRIU)',
      'afterRestore + first 200',
      'first 200',
      'cold: container start',
    ],
    ...r.examples.map(({ example, cold, restored: { phasesMs: p, medianMs } }) => [
      example,
      ms(p.containerStartMs),
      `${p.verifyMs.toFixed(1)} ms`,
      ms(p.restoreMs),
      ms(p.restMs),
      ms(medianMs),
      ms(cold.containerStartMs),
    ]),
  ];
  text += `\nWhere a restored container's time goes (medians; afterRestore + first 200 includes crac's launcher):\n${lines(phases)}`;
  if (r.together) {
    const t = r.together;
    text += `\n${t.copies} containers of ${t.example} started at once from one image: all answering after ${ms(t.allAnsweredMs)}; median ${ms(t.medianMs)}, ${(t.medianMs / t.singleMs).toFixed(1)}x a single restore (${ms(t.singleMs)}); each: ${t.eachMs.map(ms).join(', ')}\n`;
    text += t.ports.map((port, index) => `  copy ${index}: PORT ${port}, uuid ${t.uuids[index]}\n`).join('');
  }
  return text;
}

/** Rows as aligned columns under a ruled header. */
function lines(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) => `${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd().concat('\n');
  return `${line(rows[0])}${line(widths.map((width) => '-'.repeat(width)))}${rows.slice(1).map(line).join('')}`;
}
