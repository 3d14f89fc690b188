#!/usr/bin/env node
// Refused connections across a leave-running checkpoint under load: the HTTP fixture
// (test/fixtures/http-app.cjs) under autocannon (10 connections), `crac checkpoint --leave-running`
// mid-way. Per run: the connection attempts refused (autocannon's errors), how long the port
// refused them (first to last refusal), non-2xx, timeouts, and the slowest answer (the longest a
// request waited, in the backlog when the listener stays bound). Medians over the runs.
// Options: --runs=N (5), --framework=express|fastify (express), --root=DIR (the checkout whose
// CLI and fixture run: compare two builds; default this one), --requests=N (6000), --rate=N
// (requests per second over all connections, 1500).
// Needs CRIU and the native build (pnpm bootstrap); run under the e2e lock on a shared machine.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const runs = Number(option('runs', '5'));
const framework = option('framework', 'express');
const root = option('root', here);
const requests = Number(option('requests', '6000'));
const rate = Number(option('rate', '1500'));
const autocannon = createRequire(join(here, 'test', 'package.json'))('autocannon');
const cli = join(root, 'packages', 'cli', 'dist', 'cli.js');
const app = join(root, 'test', 'fixtures', 'http-app.cjs');

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `crac ARGS`; with `out`, stdout and stderr on files (a socket, as Node's 'pipe' is, cannot be dumped), and
 * calls `onLine` with each JSON line written there.
 */
function crac(args, env, onLine = () => {}, out = undefined) {
  const stdout = out ? openSync(out, 'w') : 'ignore';
  const stderrFile = out ? openSync(`${out}.err`, 'w') : 'pipe';
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', stdout, stderrFile] });
  if (typeof stdout === 'number') closeSync(stdout);
  if (typeof stderrFile === 'number') closeSync(stderrFile);
  let seen = 0;
  const poll = setInterval(() => {
    if (!out) return;
    const lines = readFileSync(out, 'utf8').split('\n');
    for (; seen < lines.length - 1; seen++) {
      try {
        onLine(JSON.parse(lines[seen] ?? ''));
      } catch {
        // not one of the fixture's JSON lines
      }
    }
  }, 10);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) =>
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    }),
  );
  return { child, exited };
}

async function oneRun() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'crac-listen-window-'));
  let pid;
  const listening = new Promise((resolve) => {
    const started = crac(
      ['checkpoint', '--to', join(dir, 'image'), '--', process.execPath, app],
      { FIXTURE_FRAMEWORK: framework, PORT: String(port) },
      (line) => {
        if (line.event === 'listening') resolve(line.pid);
      },
      join(dir, 'app.out'),
    );
    started.exited.then(({ code, stderr }) => code !== 0 && code !== null && console.error(`app exited ${code}: ${stderr}`));
    pid = started;
  });
  const appPid = await listening;
  const refusedAt = [];
  const load = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, amount: requests, overallRate: rate, timeout: 30 });
  const errorCodes = {};
  load.on('reqError', (error) => {
    const code = error.code ?? error.message;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    if (error.code === 'ECONNREFUSED') refusedAt.push(performance.now());
  });
  let answered = 0;
  load.on('response', () => answered++);
  while (answered < 500) await sleep(10);
  const checkpoint = crac(['checkpoint', '--pid', String(appPid), '--to', join(dir, 'image'), '--leave-running'], {});
  const { code, stderr } = await checkpoint.exited;
  if (code !== 0) throw new Error(`checkpoint failed (image dir ${dir}): ${stderr}`);
  const answeredAtCheckpoint = answered;
  const result = await load;
  pid.child.kill('SIGTERM');
  await pid.exited;
  rmSync(dir, { recursive: true, force: true });
  const windowMs = refusedAt.length > 1 ? (refusedAt.at(-1) ?? 0) - (refusedAt[0] ?? 0) : 0;
  return {
    refused: refusedAt.length,
    refusedWindowMs: Math.round(windowMs),
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    ok: result['2xx'],
    maxLatencyMs: result.latency.max,
    overlapped: answeredAtCheckpoint < requests,
    errorCodes,
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = [];
for (let i = 0; i < runs; i++) {
  const run = await oneRun();
  console.log(JSON.stringify(run));
  results.push(run);
}
const summary = Object.fromEntries(
  ['refused', 'refusedWindowMs', 'errors', 'non2xx', 'timeouts', 'ok', 'maxLatencyMs'].map((key) => [
    key,
    median(results.map((run) => run[key])),
  ]),
);
console.log(`median of ${runs} (${framework}, ${root}): ${JSON.stringify(summary)}`);
