import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findPrebuiltPackage, prebuiltPackageName } from './prebuilt.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An installed @crac/core with the given platform packages beside it, as npm lays them out. */
function installed(platformPackages: Record<string, string>): string {
  const app = mkdtempSync(join(tmpdir(), 'crac-prebuilt-'));
  dirs.push(app);
  const core = join(app, 'node_modules', '@crac', 'core');
  mkdirSync(core, { recursive: true });
  writeFileSync(join(core, 'package.json'), JSON.stringify({ name: '@crac/core', version: '1.2.3' }));
  for (const [platform, version] of Object.entries(platformPackages)) {
    const dir = join(app, 'node_modules', '@crac', `core-${platform}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: prebuiltPackageName(platform), version }));
  }
  return core;
}

describe('the package of prebuilt native programs', () => {
  it('is found beside @crac/core, with the same version', () => {
    const core = installed({ 'linux-x64-gnu': '1.2.3' });
    const lookup = findPrebuiltPackage(core, '1.2.3', { platform: 'linux', arch: 'x64' });
    expect(lookup.found).toEqual({ name: '@crac/core-linux-x64-gnu', dir: join(core, '..', 'core-linux-x64-gnu'), version: '1.2.3' });
  });

  it('is the musl one where only that one was installed (the package manager chose by libc)', () => {
    const core = installed({ 'linux-arm64-musl': '1.2.3' });
    expect(findPrebuiltPackage(core, '1.2.3', { platform: 'linux', arch: 'arm64' }).found?.name).toBe('@crac/core-linux-arm64-musl');
  });

  it('is refused in another version than @crac/core: the programs and the JavaScript speak one protocol', () => {
    const core = installed({ 'linux-x64-gnu': '1.2.2' });
    const lookup = findPrebuiltPackage(core, '1.2.3', { platform: 'linux', arch: 'x64' });
    expect(lookup.found).toBeUndefined();
    expect(lookup).toMatchObject({
      reason: expect.stringContaining('@crac/core-linux-x64-gnu 1.2.2 is installed, but @crac/core is 1.2.3'),
    });
  });

  it("is not installed when only another platform's is", () => {
    // riscv64: pnpm's bin shims put the workspace's own linux-x64 package on NODE_PATH, which Node resolves too
    const core = installed({ 'linux-arm64-gnu': '1.2.3' });
    const lookup = findPrebuiltPackage(core, '1.2.3', { platform: 'linux', arch: 'riscv64' });
    expect(lookup).toEqual({ reason: 'not installed' });
  });
});
