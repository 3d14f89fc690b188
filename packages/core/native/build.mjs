#!/usr/bin/env node
// build.mjs — builds crac-node's native programs with the system C compiler, from the layout of
// src/ (nothing is listed file by file):
//
//   src/lib/<name>/   a library shared by the programs (image, json, sha256, criu, supervise,
//                     base): its .c files become build/obj/libcrac-<name>.a; a program includes
//                     its headers as "<name>/<file>.h" and links only the objects it uses
//   src/<program>/    one program: its .c files, linked with the libraries, into build/<out>
//                     (the table PROGRAMS below: one row a folder, checked against src/)
//
// The C side's knowledge of names, codes and numbers that the TypeScript owns comes from headers
// generated first into build/include/crac/ (definitions.mjs).
//
// Plain Node ESM, no dependencies, no node-gyp (it downloads headers, and this project must
// build offline). The addon uses only the ABI-stable Node-API, so one build loads in every
// Node >= 20 on the same platform. node_api.h is looked up, in order, in:
//   1. the `node-api-headers` npm package, if resolvable from packages/core
//   2. ${dirname(process.execPath)}/../include/node
//   3. /usr/include/node
// CC (default `cc`) and CFLAGS (appended) are honoured. A fast no-op when every output is newer
// than every input (src/, the definitions' sources, these scripts).
// Options: --force (rebuild), --quiet (no "up to date"/"built" lines).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedHeaders } from './definitions.mjs';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const srcDir = join(nativeDir, 'src');
const libDir = join(srcDir, 'lib');
const buildDir = join(nativeDir, 'build');
const objDir = join(buildDir, 'obj');
const includeDir = join(buildDir, 'include');
const coreDir = dirname(nativeDir);
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

/**
 * The programs, by folder of src/: what each builds. `addon` is crac.node (Node-API; hidden by
 * default, it exports only its module init, so a helper of a library can never bind to a
 * same-named symbol of node); `preload` is an LD_PRELOAD shim (exports its wrappers, links no
 * library).
 */
const PROGRAMS = {
  addon: { out: 'crac.node', kind: 'addon', libs: ['-ldl'] },
  guard: { out: 'crac-guard' },
  nouring: { out: 'crac-nouring.so', kind: 'preload', libs: ['-ldl'] },
  init: { out: 'crac-init' },
  restore: { out: 'crac-restore' },
  seal: { out: 'crac-seal' },
};

function fail(message) {
  process.stderr.write(`crac native build: ERROR: ${message}\n`);
  process.exit(1);
}

const folders = (dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
const cFiles = (dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.c'))
    .sort()
    .map((name) => join(dir, name));

const programFolders = folders(srcDir).filter((name) => name !== 'lib');
const unknown = programFolders.filter((name) => !PROGRAMS[name]);
const absent = Object.keys(PROGRAMS).filter((name) => !programFolders.includes(name));
if (unknown.length || absent.length) {
  fail(
    `src/ and the PROGRAMS table of build.mjs disagree: ${[...unknown.map((n) => `src/${n} has no row`), ...absent.map((n) => `no src/${n}`)].join('; ')}`,
  );
}
const libraries = folders(libDir).filter((name) => cFiles(join(libDir, name)).length > 0);

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// The generated headers, rewritten only when their text changes (their mtime then says so).
let headers;
try {
  headers = generatedHeaders(coreDir);
} catch (error) {
  fail(`cannot generate the definitions' headers: ${error.message}`);
}
for (const [name, text] of Object.entries(headers)) {
  const path = join(includeDir, name);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const inputs = [
  fileURLToPath(import.meta.url),
  join(nativeDir, 'definitions.mjs'),
  ...filesUnder(srcDir),
  ...Object.keys(headers).map((name) => join(includeDir, name)),
];
const newestInput = Math.max(...inputs.map(mtime));
const outputs = Object.values(PROGRAMS).map(({ out }) => join(buildDir, out));
if (!force && outputs.every((out) => mtime(out) > newestInput)) {
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
const nodeApi = findNodeApiHeaders();
if (!nodeApi.dir) {
  fail(
    `node_api.h not found; looked in:\n${nodeApi.candidates.map((c) => `    ${c}`).join('\n')}\n` +
      '  Install the `node-api-headers` npm package in packages/core, or the Node.js\n' +
      '  development headers (Debian: the nodejs package ships /usr/include/node).',
  );
}

const extraCflags = (process.env.CFLAGS || '').split(/\s+/).filter(Boolean);
// The hardening a distribution builds with (Debian's and Fedora's defaults): checked buffer calls,
// stack canaries, position-independent code, and the relocations read-only once loaded.
const hardening = ['-D_FORTIFY_SOURCE=3', '-fstack-protector-strong', '-fstack-clash-protection', '-fcf-protection'];
const hardenedLink = ['-Wl,-z,relro', '-Wl,-z,now', '-Wl,-z,noexecstack'];
const cflags = [
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror=implicit-function-declaration',
  '-std=gnu11',
  ...hardening,
  '-I',
  libDir,
  '-I',
  includeDir,
];

/** Runs the compiler; rejects with its command line and output. */
function run(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cc, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => reject(new Error(`${cc} ${args.join(' ')}\n${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) {
        if (output.trim()) process.stderr.write(output);
        resolve();
      } else reject(new Error(`${cc} ${args.join(' ')}\n${output}`));
    });
  });
}

/** Runs `jobs` (functions returning promises), as many at once as there are CPUs. */
async function pool(jobs) {
  const queue = [...jobs];
  const worker = async () => {
    while (queue.length > 0) await queue.shift()();
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), queue.length) }, worker));
}

/** A library: its objects (position-independent and hidden: crac.node links them too), archived. */
async function buildLibrary(name) {
  const dir = join(objDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run(['-c', '-fPIC', '-fvisibility=hidden', ...cflags, ...extraCflags, ...cFiles(join(libDir, name))], dir);
  const archive = join(objDir, `libcrac-${name}.a`);
  rmSync(archive, { force: true });
  // sorted, deterministic (D: no timestamps or owners): the same sources give the same binaries,
  // whose digests an image records (another crac.node refuses every image made before)
  const objects = readdirSync(dir)
    .sort()
    .map((file) => join(dir, file));
  const ar = spawnSync(process.env.AR || 'ar', ['rcsD', archive, ...objects], { encoding: 'utf8' });
  if (ar.error || ar.status !== 0) throw new Error(`ar rcs ${archive}: ${ar.error?.message ?? ar.stderr}`);
  return archive;
}

async function buildProgram(folder, archives) {
  const { out, kind, libs = [] } = PROGRAMS[folder];
  const target = join(buildDir, out);
  const tmp = `${target}.tmp-${process.pid}`;
  const flags =
    kind === 'addon'
      ? ['-shared', '-fPIC', '-fvisibility=hidden', '-I', nodeApi.dir]
      : kind === 'preload'
        ? ['-shared', '-fPIC']
        : ['-fPIE', '-pie'];
  const linked = kind === 'preload' ? [] : ['-Wl,--start-group', ...archives, '-Wl,--end-group'];
  try {
    await run([...cflags, ...flags, ...hardenedLink, ...extraCflags, '-o', tmp, ...cFiles(join(srcDir, folder)), ...linked, ...libs]);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  renameSync(tmp, target);
  if (!quiet) process.stdout.write(`crac native build: built ${target}\n`);
}

try {
  mkdirSync(objDir, { recursive: true });
  // in the libraries' order, not in the order they finish compiling: the link order shapes the binary
  const archives = [];
  await pool(
    libraries.map((name, index) => async () => {
      archives[index] = await buildLibrary(name);
    }),
  );
  await pool(Object.keys(PROGRAMS).map((folder) => () => buildProgram(folder, archives)));
} catch (error) {
  fail(`compiling failed:\n  ${error.message}`);
}
