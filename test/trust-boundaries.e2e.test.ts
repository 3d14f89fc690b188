// Root's CRIU and what a user could have set for it (PROTOCOL.md and the README's security model):
// real CRIU, as root, with an environment a user controls (sudo -E, a unit's Environment=, a CI job).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { paths } from '@crac/tools/paths';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, testDir } from './helpers/harness.js';

const APP = join(FIXTURES, 'lifecycle-app.cjs');
const NOBODY = 65534;
beforeAll(() => assertRealCriuHost());

/** A user's directory (nobody's) holding a CRIU configuration whose action script leaves a mark. */
function usersConfig(): { home: string; marker: string; envConfig: string; tmp: string } {
  const home = testDir('crac-user-home-');
  chmodSync(home, 0o777);
  const marker = join(home, 'action-script-ran');
  const script = join(home, 'script.sh');
  writeFileSync(script, `#!/bin/sh\necho "$CRTOOLS_SCRIPT_ACTION as $(id -u)" >> ${marker}\n`, { mode: 0o755 });
  mkdirSync(join(home, '.criu'));
  writeFileSync(join(home, '.criu', 'default.conf'), `action-script ${script}\n`);
  const envConfig = join(home, 'env.conf');
  writeFileSync(envConfig, `action-script ${script}\n`);
  const tmp = join(home, 'tmp');
  mkdirSync(tmp);
  for (const path of [home, script, join(home, '.criu'), join(home, '.criu', 'default.conf'), envConfig, tmp])
    chownSync(path, NOBODY, NOBODY);
  return { home, marker, envConfig, tmp };
}

describe.each(NODES.slice(0, 1))("root's CRIU on $name", ({ bin: node }) => {
  it("reads no configuration a user could have written ($HOME/.criu/default.conf, CRIU_CONFIG_FILE), and keeps nothing in the user's TMPDIR", async () => {
    if (process.geteuid?.() !== 0) throw new Error('this suite checks what root does: run it as root');
    const { home, marker, envConfig, tmp } = usersConfig();
    const env = { HOME: home, CRIU_CONFIG_FILE: envConfig, TMPDIR: tmp };
    const image = imageDir();
    const checkpoint = crac(['checkpoint', '--to', image, '--warmup', 'sleep 0.3', '--', node, APP], {
      stdout: 'pipe',
      env: { ...env, FIXTURE_TRIGGER: 'cli', FIXTURE_AFTER_TICKS: '3' },
    });
    expect(await checkpoint.exited, checkpoint.output()).toEqual({ code: 0, signal: null });
    const restore = crac(['restore', image], { stdout: 'pipe', env });
    expect(await restore.exited, restore.output()).toEqual({ code: 0, signal: null });
    expect(restore.events()).toContainEqual(expect.objectContaining({ event: 'summary' }));
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : 'nothing ran').toBe('nothing ran');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('will not run a CRAC_CRIU_PATH a user could replace: crac check says why', async () => {
    if (process.geteuid?.() !== 0) throw new Error('this suite checks what root does: run it as root');
    const { home, marker } = usersConfig();
    const fake = join(home, 'criu');
    writeFileSync(fake, `#!/bin/sh\necho ran >> ${marker}\necho "Version: 4.2.1"\n`, { mode: 0o755 });
    chownSync(fake, NOBODY, NOBODY);
    const check = crac(['check', '--json'], { stdout: 'pipe', env: { CRAC_CRIU_PATH: fake } });
    expect((await check.exited).code).toBe(1);
    expect(check.output()).toMatch(/CRAC_CRIU_PATH=.* is not root's alone \(.*owner uid 65534/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('crac setup, as root', () => {
  const SCRIPT = join(paths.root, 'packages', 'cli', 'scripts', 'setup-criu.sh');
  /** setup-criu.sh made to take its lock and fail soon after: a build forced, from a mirror that does not answer. */
  const failingSetup = () =>
    spawnSync('bash', [SCRIPT], {
      encoding: 'utf8',
      env: {
        ...process.env,
        CRAC_CRIU_PATH: '',
        CRAC_CRIU_INSTALL_DIR: testDir('crac-setup-install-'),
        CRAC_CRIU_FORCE_BUILD: '1',
        CRAC_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian',
      },
      timeout: 120_000,
    });

  it("takes its lock where no user can plant one: a link in /run/lock truncates nothing, a user's /run/crac is refused", () => {
    if (process.geteuid?.() !== 0) throw new Error('this suite checks what root does: run it as root');
    const victim = join(testDir('crac-setup-victim-'), 'precious');
    writeFileSync(victim, 'root data');
    const planted = '/run/lock/crac-setup-criu.lock';
    rmSync(planted, { force: true });
    symlinkSync(victim, planted);
    try {
      const run = failingSetup();
      expect(run.status, run.stderr).not.toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('root data');
    } finally {
      rmSync(planted, { force: true });
    }
    const lockDir = '/run/crac';
    const saved = existsSync(lockDir) ? `${lockDir}.saved-${process.pid}` : undefined;
    if (saved) renameSync(lockDir, saved);
    try {
      mkdirSync(lockDir, { mode: 0o700 });
      chownSync(lockDir, NOBODY, NOBODY);
      const run = failingSetup();
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/\/run\/crac is not root's alone \(owner nobody, mode 700\)/);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
      if (saved) renameSync(saved, lockDir);
    }
  });
});
