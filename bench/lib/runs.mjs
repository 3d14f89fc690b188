// One example of the benchmark: its images made once (prepareExample), then every way of
// starting it, one after the other, in each round (runRound), and the medians (summarize).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cracCheckpoint, cracRestore, warmupCommand } from '../../tools/crac.mjs';
import { exampleDir } from '../../tools/examples.mjs';
import { launch } from '../../tools/lifecycle.mjs';
import { firstSuccess, median, percentile } from '../../tools/measure.mjs';
import { paths } from '../../tools/paths.mjs';
import { freePort } from '../../tools/ports.mjs';
import { stop } from '../../tools/processes.mjs';
import { directRestore } from './direct.mjs';
import { imageBytes } from './images.mjs';
import { buildStartupSnapshot } from './snapshot.mjs';
import { rawCheckpoint, rawRestore } from './raw-criu.mjs';
import { criuPhaseMedians } from './criu-phases.mjs';
import { steadyLatencies, timeline } from './timeline.mjs';

/** The ways of starting an app, in the order a round runs them, with the chart's colours. */
export const VARIANTS = {
  cold: { label: 'cold start (Node 20)', color: '#888888' },
  crac: { label: 'crac restore', color: '#1f6feb' },
  cold24: { label: 'cold start (Node 24)', color: '#b0b0b0' },
  raw: { label: 'plain CRIU restore', color: '#8250df' },
  compileCache: { label: 'Node 24 + compile cache', color: '#d97706' },
  cracNoShrink: { label: 'crac restore, CRAC_SHRINK=0', color: '#57a6ff' },
  direct: { label: 'crac-init + CRIU only (no CLI)', color: '#0a3069' },
  // only for the examples with a snapshot entry (demo.json `snapshot`)
  snapshot: { label: 'Node 20 startup snapshot', color: '#2da44e' },
};

/** Checkpoints the example three ways (crac shrunk, crac unshrunk, raw CRIU) and fills a compile cache. */
export async function prepareExample(env, { name, config, services, work }) {
  const dir = exampleDir(name);
  const args = config.start.slice(1);
  const base = { ...process.env, ...services, NODE_ENV: 'production' };
  const example = { name, dir, args, base, config, work };
  for (const [key, shrink] of [
    ['crac', '1'],
    ['cracNoShrink', '0'],
  ]) {
    env.progress(`${name}: warm-up and crac checkpoint (CRAC_SHRINK=${shrink})...`);
    const port = await freePort();
    const image = join(work, `${name}-${key}`);
    const warmup = warmupCommand(`http://127.0.0.1:${port}${config.warmup.path}`, config.warmup.requests);
    const { checkpointMs } = await cracCheckpoint({
      node: env.node20,
      args,
      cwd: dir,
      env: { ...base, PORT: String(port), CRAC_SHRINK: shrink },
      image,
      warmup,
      logFile: join(work, `${name}-${key}-checkpoint.log`),
    });
    example[key] = { port, image, checkpointMs, imageBytes: imageBytes(image) };
  }
  env.progress(`${name}: warm-up and plain criu dump...`);
  const port = await freePort();
  const image = join(work, `${name}-raw`);
  const warmup = warmupCommand(`http://127.0.0.1:${port}${config.warmup.path}`, config.warmup.requests);
  const raw = await rawCheckpoint({
    criu: env.criu,
    node: env.node20,
    args,
    cwd: dir,
    env: { ...base, PORT: String(port) },
    image,
    warmup,
  });
  example.raw = { port, image, pid: raw.pid, rssBytes: raw.rssBytes, checkpointMs: raw.checkpointMs, imageBytes: imageBytes(image) };
  env.progress(`${name}: filling a Node 24 compile cache...`);
  example.cacheDir = join(work, `${name}-compile-cache`);
  await fillCompileCache(env, example);
  if (config.snapshot) {
    env.progress(`${name}: building a Node 20 startup snapshot...`);
    example.snapshot = await buildStartupSnapshot({ node: env.node20, example });
  }
  example.cliStartMs = cliStartMs();
  return example;
}

/** One start of each kind, one after the other. */
export async function runRound(env, example) {
  const result = {};
  for (const variant of Object.keys(VARIANTS)) {
    if (variant === 'snapshot' && !example.snapshot) continue;
    try {
      result[variant] = await runVariant(env, example, variant);
    } catch (error) {
      env.progress(`${example.name} ${variant}: ${error.message}`);
      result[variant] = { error: error.message };
    }
  }
  return result;
}

async function runVariant(env, example, variant) {
  const { base, config, dir, args } = example;
  if (variant === 'cold' || variant === 'cold24' || variant === 'compileCache' || variant === 'snapshot') {
    const port = await freePort();
    const node = variant === 'cold' || variant === 'snapshot' ? env.node20 : env.node24;
    const extra = variant === 'compileCache' ? { NODE_COMPILE_CACHE: example.cacheDir } : {};
    const nodeArgs = variant === 'snapshot' ? ['--snapshot-blob', example.snapshot.blob] : args;
    const started = performance.now();
    const app = launch(node, nodeArgs, { cwd: dir, env: { ...base, ...extra, PORT: String(port) } });
    try {
      return await timeline(`http://127.0.0.1:${port}${config.probe}`, started, { count: env.count, isAlive: app.isAlive });
    } finally {
      await stop(app);
    }
  }
  if (variant === 'raw') {
    const url = `http://127.0.0.1:${example.raw.port}${config.probe}`;
    const started = performance.now();
    const restored = rawRestore({ criu: env.criu, image: example.raw.image, pid: example.raw.pid });
    try {
      return await timeline(url, started, { count: env.count, isAlive: restored.isAlive });
    } finally {
      await restored.stopApp();
    }
  }
  if (variant === 'direct') {
    const url = `http://127.0.0.1:${example.crac.port}${config.probe}`;
    const started = performance.now();
    const restored = await directRestore({
      init: env.init,
      criu: env.criu,
      image: example.crac.image,
      env: { ...base, PORT: String(example.crac.port) },
    });
    try {
      return await timeline(url, started, { count: env.count, isAlive: restored.isAlive });
    } finally {
      await stop(restored);
      restored.removeWork();
    }
  }
  const { port, image } = example[variant];
  const url = `http://127.0.0.1:${port}${config.probe}`;
  const started = performance.now();
  const logFile = join(example.work, `${example.name}-${variant}-restore-${Date.now()}.log`);
  const restored = cracRestore({ image, env: { ...base, PORT: String(port) }, logFile });
  try {
    const seen = await timeline(url, started, { count: env.count, isAlive: restored.isAlive });
    const report = restored.report();
    const phases = report?.phases ?? [];
    const phase = (name) => phases.find((entry) => entry.phase === name)?.ms;
    // what the restore path holds while the app runs: crac restore and its supervisor
    const restorerRssKiB = variant === 'crac' ? restorerRss(restored.child.pid) : undefined;
    const steady = variant === 'crac' ? (await steadyLatencies(url, 400)).slice(100) : undefined;
    return { ...seen, verifyMs: phase('verify'), restorePhaseMs: phase('restore'), criu: report?.criu, steady, restorerRssKiB };
  } finally {
    await stop(restored);
  }
}

/**
 * Runs the app once on Node 24 with NODE_COMPILE_CACHE, until it answers, and makes it flush the
 * cache on SIGTERM (Node writes it at a normal exit only).
 */
async function fillCompileCache(env, example) {
  const port = await freePort();
  const flush = "data:text/javascript,import m from 'node:module';process.once('SIGTERM',()=>{m.flushCompileCache();process.exit(0)})";
  const app = launch(env.node24, ['--import', flush, ...example.args], {
    cwd: example.dir,
    env: { ...example.base, NODE_COMPILE_CACHE: example.cacheDir, PORT: String(port) },
  });
  await firstSuccess(`http://127.0.0.1:${port}${example.config.probe}`, performance.now(), { isAlive: app.isAlive });
  await stop(app);
  if (!existsSync(example.cacheDir) || readdirSync(example.cacheDir).length === 0) {
    throw new Error(`${example.name}: Node 24 wrote no compile cache in ${example.cacheDir}`);
  }
}

/**
 * Resident memory of a process in KiB (undefined once gone): `rss`, and `pss`, its share of the
 * pages it shares with others (libc's with every process): what it costs the machine.
 */
function memoryKiB(pid, field) {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** The resident memory of crac restore (`pid`, crac-restore: the launcher exec'd it) and of its supervisor child. */
function restorerRss(pid) {
  let supervisor;
  try {
    supervisor = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // gone
  }
  return {
    restore: memoryKiB(pid, 'Rss'),
    supervisor: supervisor ? memoryKiB(supervisor, 'Rss') : undefined,
    restorePss: memoryKiB(pid, 'Pss'),
    supervisorPss: supervisor ? memoryKiB(supervisor, 'Pss') : undefined,
  };
}

let cliStart;
/**
 * What starting `crac restore` costs before it does anything: the launcher (sh) and the native
 * restorer it execs, `crac restore --help`, median of 5.
 */
function cliStartMs() {
  if (cliStart === undefined) {
    const times = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      spawnSync(paths.crac, ['restore', '--help'], { stdio: 'ignore' });
      times.push(performance.now() - started);
    }
    cliStart = { cliMs: median(times) };
  }
  return cliStart;
}

/** Medians over the rounds, ratios, latency after start, the restore breakdown, the chart's series. */
export function summarize(example, rounds) {
  const variants = {};
  for (const variant of Object.keys(VARIANTS)) {
    const ok = rounds.map((round) => round[variant]).filter((run) => run && !run.error);
    const latencies = ok.flatMap((run) => run.requests.map((request) => request.ms));
    variants[variant] = {
      label: VARIANTS[variant].label,
      firstResponseMs: ok.length > 0 ? median(ok.map((run) => run.firstMs)) : null,
      runs: ok.map((run) => round1(run.firstMs)),
      failures: rounds.map((round) => round[variant]?.error).filter(Boolean),
      firstRequests: latencies.length > 0 ? { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) } : null,
    };
  }
  const cracRuns = rounds.map((round) => round.crac).filter((run) => run && !run.error);
  const steady = cracRuns.flatMap((run) => run.steady ?? []);
  const restoreMs = variants.crac.firstResponseMs;
  const ratio = (variant) => (variants[variant].firstResponseMs && restoreMs ? variants[variant].firstResponseMs / restoreMs : null);
  const verifyMs = median(cracRuns.map((run) => run.verifyMs ?? 0));
  const restorePhaseMs = median(cracRuns.map((run) => run.restorePhaseMs ?? 0));
  const { cliMs } = example.cliStartMs;
  const rss = (key) => median(cracRuns.map((run) => run.restorerRssKiB?.[key]).filter((kib) => kib !== undefined));
  return {
    example: example.name,
    variants,
    speedup: Object.fromEntries(
      Object.keys(VARIANTS)
        .filter((v) => v !== 'crac')
        .map((v) => [v, ratio(v)]),
    ),
    steady: steady.length > 0 ? { p50Ms: percentile(steady, 50), p99Ms: percentile(steady, 99) } : null,
    rssAtCheckpointBytes: example.raw.rssBytes,
    imageBytes: { crac: example.crac.imageBytes, cracNoShrink: example.cracNoShrink.imageBytes, raw: example.raw.imageBytes },
    checkpointMs: { crac: example.crac.checkpointMs, cracNoShrink: example.cracNoShrink.checkpointMs, raw: example.raw.checkpointMs },
    restoreBreakdownMs: {
      launcher: cliMs,
      verify: verifyMs,
      initAndCriu: restorePhaseMs - verifyMs,
      afterRestoreAndFirstResponse: restoreMs - cliMs - restorePhaseMs,
      total: restoreMs,
    },
    criuRestoreMs: criuPhaseMedians(cracRuns.map((run) => run.criu)),
    restorerRssKiB: {
      restore: rss('restore'),
      supervisor: rss('supervisor'),
      restorePss: rss('restorePss'),
      supervisorPss: rss('supervisorPss'),
    },
    // each variant's median round (by its first 200), not whichever round came last
    chart: ['cold', 'compileCache', 'raw', 'crac']
      .map((variant) => [variant, medianRun(rounds.map((round) => round[variant]).filter((run) => run && !run.error))])
      .filter(([, run]) => run)
      .map(([variant, run]) => ({ ...VARIANTS[variant], firstMs: run.firstMs, requests: run.requests })),
  };
}

/** The run whose first response is the median of `runs` (the lower middle one of an even count). */
function medianRun(runs) {
  const sorted = [...runs].sort((a, b) => a.firstMs - b.firstMs);
  return sorted[Math.ceil(sorted.length / 2) - 1];
}

function round1(value) {
  return Math.round(value * 10) / 10;
}
