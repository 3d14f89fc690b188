import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireNativeProgram } from '@crac/core/protocol';
import { afterEach, describe, expect, it } from 'vitest';

// bin/crac as npm installs it, with the platform package beside @crac/core: `crac restore` runs
// the prebuilt restorer, which refuses a platform package of another version than @crac/core's.

const LAUNCHER = join(import.meta.dirname, '..', 'bin', 'crac');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** node_modules/@crac/{cli,core,core-linux-x64-gnu} with these versions: the path of bin/crac. */
function installed(coreVersion: string, platformVersion: string): string {
  const root = mkdtempSync(join(tmpdir(), 'crac-launcher-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const scope = join(root, 'node_modules', '@crac');
  for (const dir of ['cli/bin', 'core/native', 'core-linux-x64-gnu']) mkdirSync(join(scope, dir), { recursive: true });
  copyFileSync(LAUNCHER, join(scope, 'cli', 'bin', 'crac'));
  writeFileSync(join(scope, 'core', 'native', 'build.mjs'), '');
  writeFileSync(join(scope, 'core', 'package.json'), JSON.stringify({ name: '@crac/core', version: coreVersion }));
  copyFileSync(requireNativeProgram('restore'), join(scope, 'core-linux-x64-gnu', 'crac-restore'));
  writeFileSync(
    join(scope, 'core-linux-x64-gnu', 'package.json'),
    JSON.stringify({ name: '@crac/core-linux-x64-gnu', version: platformVersion }),
  );
  return join(scope, 'cli', 'bin', 'crac');
}

function restore(crac: string) {
  const image = join(tmpdir(), 'crac-launcher-no-such-image');
  const run = spawnSync('/bin/sh', [crac, 'restore', image, '--json'], { encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('bin/crac restore with a prebuilt restorer', () => {
  it('runs it when its platform package has the version of @crac/core', () => {
    const run = restore(installed('1.2.0', '1.2.0'));
    // it got as far as the image
    expect(run.output).toContain('CRAC_EIMAGE');
    expect(run.output).not.toContain('CRAC_EENGINE');
  });

  it('refuses (CRAC_EENGINE) a platform package of another version, naming the install that fixes it', () => {
    const run = restore(installed('1.2.0', '1.1.0'));
    expect(run.status, 'the restore failed, the app never ran').toBe(125);
    expect(run.output).toContain('CRAC_EENGINE');
    expect(run.output).toContain('@crac/core-linux-x64-gnu 1.1.0 is installed');
    expect(run.output).toContain('but @crac/core is 1.2.0 and needs the same version');
    expect(run.output).toContain('npm install @crac/core-linux-x64-gnu@1.2.0');
  });
});
