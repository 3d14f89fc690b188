#!/usr/bin/env node
// Brings a checkout to a runnable state, on a fresh machine too: dependencies, CRIU (built
// from Debian's source when missing), podman, runc, catatonit and docker-registry (apt-get, for the container suites), MariaDB's server
// (apt-get, for the @crac/mysql2 tests), clang with libFuzzer (apt-get, for the fuzz targets), then the packages' builds (the native bridge included). Idempotent and quick when there is nothing to do, so `pnpm test` and
// `pnpm demo:checkpoint` run it first. Plain Node, no dependencies: it runs before they exist
// (tools/ is imported by relative path).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../tools/paths.mjs';

const { root } = paths;
const quiet = process.argv.includes('--quiet');

function step(title, command, args, { optional = false, why = '' } = {}) {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: quiet ? 'pipe' : 'inherit' });
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    const reason = result.error ? result.error.message : `exit code ${result.status ?? result.signal}`;
    console.error(`setup: ${title} failed (${reason})${why}`);
    if (!optional) process.exit(1);
    return;
  }
  console.log(`setup: ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// pnpm runs this script with npm_execpath pointing at itself (also when it came from npx):
// a JavaScript file in older pnpm, a single executable from pnpm 11 on.
const execPath = process.env.npm_execpath ?? '';
const pnpm = !execPath.includes('pnpm') ? ['pnpm', []] : /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []];
const runPnpm = (title, args) => step(title, pnpm[0], [...pnpm[1], ...args]);

if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
  runPnpm('dependencies installed', ['install', '--frozen-lockfile']);
}
if (process.platform === 'linux') {
  // Not fatal: the unit suites run without CRIU; the real-CRIU suites then fail, naming what is missing.
  step('CRIU 4.2+ ready', 'bash', [join(root, 'packages', 'cli', 'scripts', 'setup-criu.sh')], {
    optional: true,
    why: ': the real-CRIU suites will fail; see the messages above',
  });
  // Not fatal either: the container suite then fails, naming what is missing.
  step('podman and the registry ready', 'bash', [join(root, 'scripts', 'setup-podman.sh')], {
    optional: true,
    why: ': the container suite will fail; see the messages above',
  });
  // Not fatal either: the @crac/mysql2 unit tests then fail, naming what is missing.
  step('MariaDB server ready', 'bash', [join(root, 'scripts', 'setup-mariadb.sh')], {
    optional: true,
    why: ': the @crac/mysql2 unit tests (a throwaway MariaDB each run) will fail; see the messages above',
  });
  // Not fatal either: the fuzz round of the unit suite then fails, naming what is missing.
  step('clang and libFuzzer ready', 'bash', [join(root, 'scripts', 'setup-clang.sh')], {
    optional: true,
    why: ': the fuzz round of the native readers (unit suite, `pnpm fuzz`) will fail; see the messages above',
  });
}
runPnpm('packages built', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
