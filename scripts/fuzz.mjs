#!/usr/bin/env node
// fuzz.mjs — `pnpm fuzz`: the readers of untrusted input, seeded with real inputs.
//
// The native readers under libFuzzer, with AddressSanitizer and UndefinedBehaviorSanitizer: the
// JSON reader, the manifest reader, the decoder of CRIU's RPC replies and the `--listen` spec
// parser (packages/core/native/fuzz/<target>.c, seeds in fuzz/seeds/<target>/). A crash fails the
// run and its input is kept in fuzz/crashes/ (a regression input to fix, then to add to the seeds).
//
// The TypeScript readers of the control socket, under a mutation fuzzer of ours
// (packages/core/src/protocol/fuzz/: campaign.ts, one file a target, seeds in seeds/<target>/):
// control_request (parseControlRequest), control_reply (the requester's parseReply),
// control_lines (readLines, in many chunkings) and trigger_server (the checkpoint trigger end to
// end over its unix socket, in a process of its own). Bundled with esbuild from the sources. A
// crash's input is kept in that folder's crashes/. Not Jazzer.js (@jazzer.js/core, the
// coverage-guided fuzzer for Node): 4.0.0's prebuilt addon needs glibc 2.38 (Debian 12 has 2.36),
// and the older releases fetch their addon from GitHub or build it with cmake-js, which downloads
// Node's headers. Ours is deterministic (--seed=) and guided by behaviour rather than coverage:
// an input whose outcome was not seen before joins the corpus.
//
//   node scripts/fuzz.mjs [--runs=N | --seconds=S] [--only=json,control_lines] [--seed=N]
//
// Default: 10 000 000 executions a target (the campaign), except trigger_server (two connections
// an execution): 300 seconds unless --runs or --seconds says otherwise. The unit suite runs a
// short round of each kind (native-fuzz.test.ts, protocol/fuzz/control-socket-fuzz.test.ts).
// Prints one line a target: executions, seconds, executions a second, the corpus size.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'packages', 'core', 'native');
const lib = join(native, 'src', 'lib');
const fuzzDir = join(native, 'fuzz');
const controlFuzzDir = join(root, 'packages', 'core', 'src', 'protocol', 'fuzz');

/** Each native target and the library sources it reads with. */
const NATIVE_TARGETS = {
  json: ['json/json.c'],
  manifest: ['image/manifest.c', 'json/json.c'],
  criu_rpc: ['criu/criu_rpc.c'],
  listen_spec: ['supervise/listen_slots.c', 'supervise/messages.c'],
};

/** The control socket's TypeScript targets (protocol/fuzz/campaign.ts). */
const CONTROL_TARGETS = ['control_request', 'control_reply', 'control_lines', 'trigger_server'];
/** The slow one's budget when neither --runs nor --seconds is given. */
const TRIGGER_SERVER_SECONDS = 300;

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seconds = option('seconds');
const explicitRuns = option('runs');
const runs = seconds ? undefined : Number(explicitRuns ?? '10000000');
const seed = Number(option('seed', '1'));
const allTargets = [...Object.keys(NATIVE_TARGETS), ...CONTROL_TARGETS];
const only = option('only', allTargets.join(',')).split(',');
const unknown = only.filter((name) => !allTargets.includes(name));
if (unknown.length) fail(`no fuzz target ${unknown.join(', ')} (the targets: ${allTargets.join(', ')})`);

function fail(message) {
  process.stderr.write(`fuzz: ERROR: ${message}\n`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'crac-fuzz-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

if (only.some((name) => NATIVE_TARGETS[name])) {
  // the generated definitions the sources include (crac/layout.h...)
  const build = spawnSync(process.execPath, [join(native, 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  if (build.status !== 0) fail('the native build failed');
  const probe = spawnSync('clang', ['--version']);
  if (probe.error)
    fail('clang is needed (with its libFuzzer runtime: Debian clang and libclang-rt-14-dev; scripts/setup-clang.sh installs them)');
}

function compile(target) {
  const binary = join(work, target);
  const args = [
    '-g',
    '-O1',
    '-fsanitize=fuzzer,address,undefined',
    '-fno-sanitize-recover=undefined',
    '-I',
    lib,
    '-I',
    join(native, 'build', 'include'),
    '-o',
    binary,
    join(fuzzDir, `${target}.c`),
    ...NATIVE_TARGETS[target].map((source) => join(lib, source)),
  ];
  const run = spawnSync('clang', args, { encoding: 'utf8' });
  if (run.status !== 0) fail(`compiling the ${target} target failed:\n  clang ${args.join(' ')}\n${run.stderr}`);
  return binary;
}

function fuzz(target, binary) {
  const corpus = join(work, `${target}-corpus`);
  mkdirSync(corpus);
  cpSync(join(fuzzDir, 'seeds', target), corpus, { recursive: true });
  const crashes = join(fuzzDir, 'crashes');
  mkdirSync(crashes, { recursive: true });
  const args = [
    corpus,
    ...(runs !== undefined ? [`-runs=${runs}`] : [`-max_total_time=${seconds}`]),
    `-artifact_prefix=${crashes}/${target}-`,
    '-max_len=65536',
    '-print_final_stats=1',
    '-detect_leaks=1',
  ];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ASAN_OPTIONS: 'abort_on_error=0' } });
    let log = '';
    child.stderr.on('data', (chunk) => {
      log = (log + chunk).slice(-200_000);
    });
    child.once('close', (code) => {
      const executions = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(log)?.[1] ?? 0);
      const elapsed = (Date.now() - started) / 1000;
      resolve({ target, code, executions, elapsed, corpus: readdirSync(corpus).length, log });
    });
  });
}

/**
 * The control socket's targets, from their TypeScript sources: the campaign and the server
 * process of trigger_server bundled once (esbuild, the sources' own export condition).
 */
let controlCampaign;
async function bundleControlCampaign() {
  const { build } = await import('esbuild');
  await build({
    entryPoints: { campaign: join(controlFuzzDir, 'campaign.ts'), 'server-child': join(controlFuzzDir, 'server-child.ts') },
    outdir: work,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@crac/source'],
    packages: 'external',
    logLevel: 'error',
  });
  return import(pathToFileURL(join(work, 'campaign.mjs')).href);
}

async function fuzzControl(target) {
  controlCampaign ??= await bundleControlCampaign();
  const budget =
    target === 'trigger_server' && explicitRuns === undefined && seconds === undefined
      ? { seconds: TRIGGER_SERVER_SECONDS }
      : runs !== undefined
        ? { runs }
        : { seconds: Number(seconds) };
  const result = await controlCampaign.runCampaign(target, {
    ...budget,
    seed,
    seedsDir: join(controlFuzzDir, 'seeds'),
    serverChild: join(work, 'server-child.mjs'),
  });
  if (!result.failure) return { target, code: 0, executions: result.executions, elapsed: result.seconds, corpus: result.corpus };
  const crashes = join(controlFuzzDir, 'crashes');
  mkdirSync(crashes, { recursive: true });
  const file = join(crashes, `${target}-${createHash('sha1').update(result.failure.input).digest('hex')}`);
  writeFileSync(file, result.failure.input);
  const { error } = result.failure;
  const log = `${error?.stack ?? error}\ninput (${result.failure.input.length} bytes, kept in ${file}): ${JSON.stringify(result.failure.input.subarray(0, 400).toString('utf8'))}`;
  return { target, code: 1, executions: result.executions, elapsed: result.seconds, corpus: result.corpus, log };
}

let failed = false;
for (const target of only) {
  const result = NATIVE_TARGETS[target] ? await fuzz(target, compile(target)) : await fuzzControl(target);
  const rate = Math.round(result.executions / Math.max(result.elapsed, 0.001));
  process.stdout.write(
    `fuzz: ${target}: ${result.executions} executions in ${result.elapsed.toFixed(1)} s (${rate}/s), corpus ${result.corpus}, ${result.code === 0 ? 'no crash' : 'CRASHED'}\n`,
  );
  if (result.code !== 0) {
    failed = true;
    process.stderr.write(`${result.log.split('\n').slice(-60).join('\n')}\n`);
  }
}
for (const crashes of [join(fuzzDir, 'crashes'), join(controlFuzzDir, 'crashes')]) {
  if (existsSync(crashes) && readdirSync(crashes).length === 0) rmSync(crashes, { recursive: true });
}
if (failed) fail(`a target crashed: its input is in ${join(fuzzDir, 'crashes')} (native) or ${join(controlFuzzDir, 'crashes')}`);
