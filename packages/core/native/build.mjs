#!/usr/bin/env node
// build.mjs — builds crac-node's native parts with the system C compiler.
//
//   build/crac.node   N-API (v8) addon: src/addon.c and what it exports
//                     (checkpoint.c, randomness.c, memory.c, fds.c, signals.c, xattr.c, napi.c, criu_rpc.c)
//   build/crac-guard  exec wrapper disabling io_uring (Node >= 22): src/guard.c
//   build/crac-nouring.so  the LD_PRELOAD shim crac-guard uses: src/nouring.c
//   build/crac-init   restore supervisor (exit code, signals, pid ns): src/init.c, src/supervise.c
//   build/crac-restore  `crac restore`: verifies the image, then supervises its restore:
//                     src/restore.c and the image reader, CRIU lookup, supervision it uses
//   build/crac-seal   the seal step CRIU runs at post-dump: src/seal.c and the image reader
//
// Plain Node ESM, no dependencies, no node-gyp (it downloads headers, and
// this project must build offline). The addon uses only the ABI-stable
// Node-API, so one build loads in every Node >= 20 on the same platform.
//
// node_api.h is looked up, in order, in:
//   1. the `node-api-headers` npm package, if resolvable from packages/core
//   2. ${dirname(process.execPath)}/../include/node
//   3. /usr/include/node
// CC (default `cc`) and CFLAGS (appended) are honoured.
// A fast no-op when both outputs are newer than every source (and this file).
// Options: --force (rebuild), --quiet (no "up to date"/"built" lines).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const srcDir = join(nativeDir, 'src');
const buildDir = join(nativeDir, 'build');
const coreDir = dirname(nativeDir);
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

const targets = [
  {
    out: join(buildDir, 'crac.node'),
    sources: [
      'addon.c',
      'napi.c',
      'checkpoint.c',
      'randomness.c',
      'memory.c',
      'fds.c',
      'signals.c',
      'xattr.c',
      'listeners.c',
      'criu_rpc.c',
    ],
    // Hidden by default: the .so exports only the module init (NAPI_MODULE_EXPORT), so the
    // helpers shared between its files can never bind to a same-named symbol of node.
    flags: ['-shared', '-fPIC', '-fvisibility=hidden'],
    libs: ['-ldl'],
    needsNodeHeaders: true,
  },
  {
    out: join(buildDir, 'crac-nouring.so'),
    sources: ['nouring.c'],
    flags: ['-shared', '-fPIC'],
    libs: ['-ldl'],
    needsNodeHeaders: false,
  },
  {
    out: join(buildDir, 'crac-guard'),
    sources: ['guard.c'],
    flags: [],
    libs: [],
    needsNodeHeaders: false,
  },
  {
    out: join(buildDir, 'crac-init'),
    sources: ['init.c', 'supervise.c', 'listen_slots.c'],
    flags: [],
    libs: [],
    needsNodeHeaders: false,
  },
  {
    out: join(buildDir, 'crac-restore'),
    sources: [
      'restore.c',
      'package_match.c',
      'relay.c',
      'report.c',
      'supervise.c',
      'listen_slots.c',
      'criu_binary.c',
      'image_dir.c',
      'manifest.c',
      'seal_verify.c',
      'host_check.c',
      'json.c',
      'sha256.c',
    ],
    flags: [],
    libs: [],
    needsNodeHeaders: false,
  },
  {
    out: join(buildDir, 'crac-seal'),
    sources: ['seal.c', 'manifest.c', 'image_dir.c', 'json.c', 'sha256.c'],
    flags: [],
    libs: [],
    needsNodeHeaders: false,
  },
];

function fail(message) {
  process.stderr.write(`crac native build: ERROR: ${message}\n`);
  process.exit(1);
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

// Newest input: every file in src/ (headers included) and this script.
const inputs = [fileURLToPath(import.meta.url), ...readdirSync(srcDir).map((f) => join(srcDir, f))];
const newestInput = Math.max(...inputs.map(mtime));
const stale = targets.filter((t) => force || mtime(t.out) <= newestInput);
if (stale.length === 0) {
  if (!quiet) process.stdout.write('crac native build: up to date\n');
  process.exit(0);
}

function findNodeApiHeaders() {
  const candidates = [];
  try {
    const require = createRequire(join(coreDir, 'package.json'));
    const pkg = require.resolve('node-api-headers/package.json');
    candidates.push(join(dirname(pkg), 'include'));
  } catch {
    // not installed: fine
  }
  candidates.push(join(dirname(process.execPath), '..', 'include', 'node'));
  candidates.push('/usr/include/node');
  return { dir: candidates.find((d) => existsSync(join(d, 'node_api.h'))), candidates };
}

const cc = process.env.CC || 'cc';
const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  fail(
    `no C compiler: '${cc} --version' failed (${probe.error ? probe.error.code : `exit ${probe.status}`}).\n` +
      '  Install one (Debian: apt-get install -y gcc libc6-dev) or set CC.',
  );
}

let includeDir;
if (stale.some((t) => t.needsNodeHeaders)) {
  const { dir, candidates } = findNodeApiHeaders();
  if (!dir) {
    fail(
      `node_api.h not found; looked in:\n${candidates.map((c) => `    ${c}`).join('\n')}\n` +
        '  Install the `node-api-headers` npm package in packages/core, or the Node.js\n' +
        '  development headers (Debian: the nodejs package ships /usr/include/node).',
    );
  }
  includeDir = dir;
}

mkdirSync(buildDir, { recursive: true });
const extraCflags = (process.env.CFLAGS || '').split(/\s+/).filter(Boolean);
for (const t of stale) {
  const tmp = `${t.out}.tmp-${process.pid}`;
  const args = [
    '-O2',
    '-Wall',
    '-Wextra',
    '-std=gnu11',
    ...t.flags,
    ...(t.needsNodeHeaders ? ['-I', includeDir] : []),
    ...extraCflags,
    '-o',
    tmp,
    ...t.sources.map((s) => join(srcDir, s)),
    ...t.libs,
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    fail(`compiling ${t.out} failed:\n  ${cc} ${args.join(' ')}\n${r.stderr || ''}${r.stdout || ''}`);
  }
  if (r.stderr?.trim()) process.stderr.write(r.stderr);
  renameSync(tmp, t.out);
  if (!quiet) process.stdout.write(`crac native build: built ${t.out}\n`);
}
