#!/usr/bin/env node
// fuzz.mjs — `pnpm fuzz`: the native readers under libFuzzer, with AddressSanitizer and
// UndefinedBehaviorSanitizer: the JSON reader, the manifest reader, the decoder of CRIU's RPC
// replies and the `--listen` spec parser (packages/core/native/fuzz/<target>.c), each seeded with
// real inputs (fuzz/seeds/<target>/). A crash fails the run and its input is kept in
// fuzz/crashes/ (a regression input to fix, then to add to the seeds).
//
//   node scripts/fuzz.mjs [--runs=N | --seconds=S] [--only=json,manifest] [--jobs=N]
//
// Default: 10 000 000 executions a target (the campaign); the unit suite runs a short round.
// Prints one line a target: executions, seconds, executions a second, the corpus size.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'packages', 'core', 'native');
const lib = join(native, 'src', 'lib');
const fuzzDir = join(native, 'fuzz');

/** Each target and the library sources it reads with. */
const TARGETS = {
  json: ['json/json.c'],
  manifest: ['image/manifest.c', 'json/json.c'],
  criu_rpc: ['criu/criu_rpc.c'],
  listen_spec: ['supervise/listen_slots.c', 'supervise/messages.c'],
};

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seconds = option('seconds');
const runs = seconds ? undefined : Number(option('runs', '10000000'));
const only = option('only', Object.keys(TARGETS).join(',')).split(',');
const unknown = only.filter((name) => !TARGETS[name]);
if (unknown.length) fail(`no fuzz target ${unknown.join(', ')} (the targets: ${Object.keys(TARGETS).join(', ')})`);

function fail(message) {
  process.stderr.write(`fuzz: ERROR: ${message}\n`);
  process.exit(1);
}

// the generated definitions the sources include (crac/layout.h...)
const build = spawnSync(process.execPath, [join(native, 'build.mjs'), '--quiet'], { stdio: 'inherit' });
if (build.status !== 0) fail('the native build failed');
const probe = spawnSync('clang', ['--version']);
if (probe.error)
  fail('clang is needed (with its libFuzzer runtime: Debian clang and libclang-rt-14-dev; scripts/setup-clang.sh installs them)');

const work = mkdtempSync(join(tmpdir(), 'crac-fuzz-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

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
    ...TARGETS[target].map((source) => join(lib, source)),
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

let failed = false;
for (const target of only) {
  const result = await fuzz(target, compile(target));
  const rate = Math.round(result.executions / Math.max(result.elapsed, 0.001));
  process.stdout.write(
    `fuzz: ${target}: ${result.executions} executions in ${result.elapsed.toFixed(1)} s (${rate}/s), corpus ${result.corpus}, ${result.code === 0 ? 'no crash' : 'CRASHED'}\n`,
  );
  if (result.code !== 0) {
    failed = true;
    process.stderr.write(`${result.log.split('\n').slice(-60).join('\n')}\n`);
  }
}
if (failed) fail(`a target crashed: its input is in ${join(fuzzDir, 'crashes')}`);
if (existsSync(join(fuzzDir, 'crashes')) && readdirSync(join(fuzzDir, 'crashes')).length === 0)
  rmSync(join(fuzzDir, 'crashes'), { recursive: true });
