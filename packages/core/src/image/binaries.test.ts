import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeBinaries, mappedFiles } from './binaries.js';
import { CACHE_DIR_ENV } from './digest-cache.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crac-binaries-'));
  vi.stubEnv(CACHE_DIR_ENV, join(dir, 'cache'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('binaries', () => {
  it.runIf(process.platform === 'linux')('lists the files mapped into this process, node first', () => {
    const mapped = mappedFiles();
    expect(mapped).toContain(process.execPath);
    expect(mapped.every((path) => path.startsWith('/') && !path.startsWith('/dev/'))).toBe(true);
  });

  it('hashes node, addons and the preload shim; libraries by size only', () => {
    const node = join(dir, 'node');
    const addon = join(dir, 'crac.node');
    const library = join(dir, 'libc.so.6');
    writeFileSync(node, 'node binary');
    writeFileSync(addon, 'addon');
    writeFileSync(library, 'libc');
    const records = describeBinaries(node, [addon, library]);
    expect(records.map(({ role, sha256 }) => [role, typeof sha256])).toEqual([
      ['node', 'string'],
      ['addon', 'string'],
      ['library', 'undefined'],
    ]);
  });
});
