#!/usr/bin/env node
// Fills this package with @crac/core's native programs, built by @crac/core's native/build.mjs
// into packages/core/native/build (turbo runs @crac/core#build:native first). It copies only on
// the platform this package is for: an arm64 or musl build in it would install fine and then
// fail to load on every x64 glibc machine.
//   --check  copy nothing; fail unless every program is here (prepack: never publish it empty)
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { name, os, cpu, libc, files } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const built = join(here, '..', 'core', 'native', 'build');

function fail(message) {
  process.stderr.write(`${name}: ERROR: ${message}\n`);
  process.exit(1);
}

if (process.argv.includes('--check')) {
  const missing = files.filter((file) => !existsSync(join(here, file)));
  if (missing.length > 0) fail(`missing ${missing.join(', ')}: build it on ${os}-${cpu}-${libc} (pnpm build) before packing`);
  process.exit(0);
}

// glibcVersionRuntime is in the report of a glibc Node only.
const hostLibc = process.platform === 'linux' && process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'other';
if (!os.includes(process.platform) || !cpu.includes(process.arch) || !libc.includes(hostLibc)) {
  // Not an error: the monorepo builds on other machines too, and uses native/build there.
  for (const file of files) rmSync(join(here, file), { force: true });
  process.stdout.write(`${name}: left empty (this host is ${process.platform}-${process.arch}-${hostLibc})\n`);
  process.exit(0);
}
for (const file of files) {
  const from = join(built, file);
  if (!existsSync(from)) fail(`${from} is missing: build @crac/core's native programs first (node packages/core/native/build.mjs)`);
  // copy then rename: a process loading crac.node never sees a half-written file
  const partial = join(here, `${file}.tmp-${process.pid}`);
  copyFileSync(from, partial);
  renameSync(partial, join(here, file));
}
