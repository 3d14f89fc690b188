import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeBinaries, mappedFiles } from './binaries.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crac-binaries-'));
});
afterEach(() => {
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
    const records = describeBinaries(node, [addon, library], {
      read: [join(dir, 'digests.json')],
      write: join(dir, 'digests.json'),
      rootOnly: false,
    });
    expect(records.map(({ role, sha256 }) => [role, typeof sha256])).toEqual([
      ['node', 'string'],
      ['addon', 'string'],
      ['library', 'undefined'],
    ]);
  });
});
