// The packages as a user gets them: every publishable package packed once (`pnpm pack`, what
// `pnpm publish` uploads), installed from the tarballs into a scratch express app outside the
// workspace with npm, and into another with pnpm (which runs no install script it was not told
// to: the prebuilt platform package needs none), then `npx crac setup`, `npx crac check`,
// `npx crac checkpoint` and `npx crac restore` there, with the environment of a user's shell.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@crac/tools/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, FIXTURES, ROOT, run, start, tempDir } from './helpers/harness.js';
import { commandOf, treeOf } from './helpers/process-tree.js';

const APP_FILES = join(FIXTURES, 'installed-app');
const PLATFORM_PACKAGE = '@crac/core-linux-x64-gnu';
/** pnpm as this repository pins it (`packageManager`), through npx as a user without pnpm would. */
const PNPM = ['--yes', JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager as string];
const INSTALL_TIMEOUT_MS = 300_000;

/**
 * A user's shell: nothing that this run's package manager or vitest added. NODE_PATH above all:
 * pnpm's shims point it into this workspace, where the platform package would be found.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of Object.keys(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|VITEST|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$|NODE_ENV$)/i.test(name)) env[name] = undefined;
  }
  // and no workspace node_modules/.bin on PATH
  env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.startsWith(ROOT))
    .join(':');
  return { ...env, ...extra };
}

const scratch: (() => void)[] = [];
afterAll(() => {
  for (const remove of scratch.splice(0)) remove();
});
function scratchDir(prefix: string): string {
  const dir = tempDir(prefix);
  scratch.push(dir.remove);
  return dir.path;
}

/** The tarball of each publishable package, by name. */
const tarballs = new Map<string, string>();
const manifestOf = (tarball: string) => JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));

beforeAll(async () => {
  assertRealCriuHost();
  const packs = scratchDir('crac-packs-');
  for (const dir of readdirSync(join(ROOT, 'packages')).map((name) => join(ROOT, 'packages', name))) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const packed = await run('npx', [...PNPM, 'pack', '--pack-destination', packs], { cwd: dir, env: userEnv() });
    expect(packed.code, `pnpm pack of ${manifest.name}:\n${packed.output}`).toBe(0);
    const file = join(packs, `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`);
    expect(existsSync(file), `pnpm pack of ${manifest.name} made no ${file}:\n${packed.output}`).toBe(true);
    tarballs.set(manifest.name, file);
  }
}, INSTALL_TIMEOUT_MS);

describe('the packed packages', () => {
  it('are every package, with the native programs prebuilt and executable, and no install script', () => {
    expect([...tarballs.keys()].sort()).toEqual(
      [
        '@crac/cli',
        '@crac/core',
        PLATFORM_PACKAGE,
        '@crac/express',
        '@crac/fastify',
        '@crac/generic-pool',
        '@crac/ioredis',
        '@crac/mysql2',
        '@crac/pg',
      ].sort(),
    );
    for (const [name, tarball] of tarballs) {
      const { scripts = {} } = manifestOf(tarball);
      expect(
        Object.keys(scripts).filter((script) => /^(pre|post)?install$|^prepare$/.test(script)),
        name,
      ).toEqual([]);
    }
    const core = manifestOf(tarballs.get('@crac/core') as string);
    expect(core.optionalDependencies).toEqual({ [PLATFORM_PACKAGE]: core.version });
    const platform = manifestOf(tarballs.get(PLATFORM_PACKAGE) as string);
    expect(platform).toMatchObject({ version: core.version, os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
    const listing = execFileSync('tar', ['-tvzf', tarballs.get(PLATFORM_PACKAGE) as string], { encoding: 'utf8' });
    for (const program of ['crac-guard', 'crac-init', 'crac-restore'])
      expect(listing).toMatch(new RegExp(`^-rwxr-xr-x .* package/${program}$`, 'm'));
    for (const library of ['crac.node', 'crac-nouring.so']) expect(listing).toMatch(new RegExp(` package/${library}$`, 'm'));
    const cli = execFileSync('tar', ['-tvzf', tarballs.get('@crac/cli') as string], { encoding: 'utf8' });
    expect(cli).toMatch(/^-rwxr-xr-x .* package\/scripts\/setup-criu\.sh$/m);
    expect(cli).toMatch(/^-rwxr-xr-x .* package\/bin\/crac$/m);
  });
});

/**
 * A scratch express app depending on the tarballs as it would on the registry's versions: the
 * overrides make every @crac/* dependency, the platform package among them, the local tarball.
 */
function scratchApp(manager: 'npm' | 'pnpm'): string {
  const app = scratchDir(`crac-installed-${manager}-`);
  for (const file of ['app.js', 'plain.js', 'warmup.js']) copyFileSync(join(APP_FILES, file), join(app, file));
  const local = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  const manifest = {
    name: `scratch-${manager}-app`,
    private: true,
    scripts: { start: 'node plain.js' },
    dependencies: { express: '4.22.1', '@crac/core': local['@crac/core'], '@crac/express': local['@crac/express'] },
    devDependencies: { '@crac/cli': local['@crac/cli'] },
    ...(manager === 'npm' ? { overrides: local } : {}),
  };
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (manager === 'pnpm') {
    const overrides = Object.entries(local).map(([name, spec]) => `  "${name}": "${spec}"`);
    writeFileSync(join(app, 'pnpm-workspace.yaml'), `overrides:\n${overrides.join('\n')}\n`);
  }
  return app;
}

describe.each(['npm', 'pnpm'] as const)('installed with %s into an app outside the workspace', (manager) => {
  let app: string;
  let installOutput: string;
  const npx = (args: string[], extra: Record<string, string> = {}) => run('npx', args, { cwd: app, env: userEnv(extra) });

  beforeAll(async () => {
    app = scratchApp(manager);
    const install =
      manager === 'npm'
        ? await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: app, env: userEnv() })
        : await run('npx', [...PNPM, 'install'], { cwd: app, env: userEnv() });
    installOutput = install.output;
    expect(install.code, `${manager} install:\n${install.output}`).toBe(0);
  }, INSTALL_TIMEOUT_MS);

  it('installs the platform package beside @crac/core, and runs no install script', () => {
    const platform = execFileSync(
      process.execPath,
      ['-p', `require.resolve('${PLATFORM_PACKAGE}/package.json', { paths: [require.resolve('@crac/core')] })`],
      {
        cwd: app,
        env: userEnv(),
        encoding: 'utf8',
      },
    );
    expect(platform).toContain(join(app, 'node_modules'));
    // pnpm lists the dependencies whose build scripts it skipped: there must be none
    expect(installOutput).not.toMatch(/ignored build scripts/i);
  });

  it('crac setup finds everything ready, and a second run does nothing', async () => {
    for (let round = 1; round <= 2; round++) {
      const setup = await npx(['crac', 'setup']);
      expect(setup.code, setup.output).toBe(0);
      expect(setup.output).toMatch(/native programs\s+ready: prebuilt, in .*node_modules.*core-linux-x64-gnu/);
      expect(setup.output).toMatch(/criu\s+ready: CRIU 4\.\d+/);
      expect(setup.output).toContain('everything is ready; nothing to do');
    }
  });

  it("crac check passes, with the prebuilt programs from the app's node_modules", async () => {
    const check = await npx(['crac', 'check']);
    expect(check.code, check.output).toBe(0);
    expect(check.output).toMatch(new RegExp(`ok\\s+native bridge\\s+${app}/node_modules/.*core-linux-x64-gnu/crac\\.node \\(prebuilt\\)`));
    expect(check.output).toMatch(/ok\s+criu\s+4\.\d+/);
    expect(check.output).toContain('This host can checkpoint and restore.');
  });

  it('checkpoints the warmed-up app and restores it: the restored copy answers, warm', async () => {
    const image = join(scratchDir('crac-installed-image-'), 'image');
    const port = await freePort();
    const checkpoint = await npx(['crac', 'checkpoint', '--to', image, '--warmup', `node warmup.js ${port} 20`, '--', 'node', 'app.js'], {
      PORT: String(port),
    });
    expect(checkpoint.code, checkpoint.output).toBe(0);
    expect(checkpoint.output).toMatch(/checkpoint\s+[\d.]+ ms\s+dumped/);

    // on another port (the restoring environment's PORT): @crac/express listens there
    const restoredPort = await freePort();
    const restore = start('npx', ['crac', 'restore', image], { cwd: app, env: userEnv({ PORT: String(restoredPort) }) });
    const answer = await firstAnswer(restoredPort, restore);
    // 20 warm-up requests were served before the checkpoint: this is the 21st of the same process
    expect(answer).toBe('hello from a warm app: request 21');
    // the app may answer a moment before crac restore has printed its phase
    for (let tries = 0; tries < 100 && !/restore\s+[\d.]+ ms/.test(restore.output()); tries++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(restore.output()).toMatch(/restore\s+[\d.]+ ms/);
    // the bin (a link by npm, a shim by pnpm) exec'd the platform package's restorer: no Node CLI on the way
    const commands = treeOf(restore.child.pid as number).map(commandOf);
    expect(commands, commands.join('\n')).toContainEqual(expect.stringMatching(/core-linux-x64-gnu\/crac-restore /));
    expect(
      commands.filter((command) => command.includes('cli.js')),
      commands.join('\n'),
    ).toEqual([]);
  });

  it('checkpoints a server with no crac code started by npm start, and restores it on another port', async () => {
    const image = join(scratchDir('crac-installed-image-'), 'image');
    const port = await freePort();
    const checkpoint = await npx(['crac', 'checkpoint', '--to', image, '--warmup', `node warmup.js ${port} 20`, '--', 'npm', 'start'], {
      PORT: String(port),
    });
    expect(checkpoint.code, checkpoint.output).toBe(0);
    expect(checkpoint.output).toMatch(/start\s+[\d.]+ ms\s+pid \d+, under npm/);
    expect(checkpoint.output).toMatch(/checkpoint\s+[\d.]+ ms\s+dumped/);
    const restoredPort = await freePort();
    const restore = start('npx', ['crac', 'restore', image], { cwd: app, env: userEnv({ PORT: String(restoredPort) }) });
    expect(await firstAnswer(restoredPort, restore)).toBe('hello from a plain server: request 21');
  });

  if (manager === 'npm') {
    it('without the platform package: crac check names it and the fixes, and crac setup builds the programs from source', async () => {
      const platformDir = join(app, 'node_modules', '@crac', 'core-linux-x64-gnu');
      const aside = `${platformDir}.aside`;
      const built = join(app, 'node_modules', '@crac', 'core', 'native', 'build');
      renameSync(platformDir, aside);
      try {
        const check = await npx(['crac', 'check']);
        expect(check.code).toBe(1);
        expect(check.output).toMatch(/FAIL native bridge\s+crac\.node is missing/);
        expect(check.output).toContain(`${PLATFORM_PACKAGE} is not installed`);
        expect(check.output).toContain('npx crac setup');
        const checkpoint = await npx(['crac', 'checkpoint', '--to', join(app, 'never'), '--', 'node', 'app.js']);
        expect(checkpoint.code).toBe(1);
        expect(checkpoint.output).toMatch(/\[CRAC_EENGINE\] the io_uring guard \(crac-guard\) is missing: .*@crac\/core-linux-x64-gnu/);

        const setup = await npx(['crac', 'setup']);
        expect(setup.code, setup.output).toBe(0);
        expect(setup.output).toMatch(
          /native programs\s+ready: built from source, in .*node_modules\/@crac\/core\/native\/build \(built them from source\)/,
        );
        expect((await npx(['crac', 'check'])).code).toBe(0);
      } finally {
        rmSync(built, { recursive: true, force: true });
        renameSync(aside, platformDir);
      }
    });
  }
});

/** The body of the first successful answer on `port`, waiting (up to a minute) for the restore. */
async function firstAnswer(port: number, restore: ReturnType<typeof start>): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      if (response.ok) return await response.text();
    } catch {
      // not listening yet
    }
    if (!restore.isAlive()) throw new Error(`crac restore ended before the app answered:\n${restore.output()}`);
    if (Date.now() > deadline) throw new Error(`no answer on port ${port} within a minute:\n${restore.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
