import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { onPackageLoad } from './package-load.js';

// A package on disk, `fake-client`, whose main requires a file of its own; loaded by a real require.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function fakePackage(): { require: NodeJS.Require; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'crac-package-load-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules', 'fake-client');
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fake-client', main: 'index.js' }));
  writeFileSync(join(dir, 'lib', 'pool.js'), 'module.exports = class Pool { kind() { return "original"; } };\n');
  writeFileSync(
    join(dir, 'index.js'),
    'const Pool = require("./lib/pool");\nexports.Pool = Pool;\nexports.createPool = () => new Pool();\n',
  );
  writeFileSync(join(root, 'app.js'), '');
  return { require: createRequire(join(root, 'app.js')), dir };
}

const watch = (...args: Parameters<typeof onPackageLoad>) => cleanups.push(onPackageLoad(...args));

describe('onPackageLoad', () => {
  it("patches a package's main in place, once per copy of the package", () => {
    const { require } = fakePackage();
    const seen: unknown[] = [];
    watch('fake-client', 'index.js', (exports) => {
      seen.push(exports);
      (exports as { patched: boolean }).patched = true;
    });
    const first = require('fake-client');
    expect(first.patched).toBe(true);
    expect(require('fake-client')).toBe(first);
    expect(seen).toEqual([first]);
  });

  it("replaces a file the package's own files require: the package builds on the replacement", () => {
    const { require } = fakePackage();
    watch(
      'fake-client',
      'lib/pool.js',
      (Pool) =>
        class extends (Pool as new () => { kind(): string }) {
          kind() {
            return `patched ${super.kind()}`;
          }
        },
    );
    expect(require('fake-client').createPool().kind()).toBe('patched original');
  });

  it('leaves the package as it is when a patch throws, with a warning', async () => {
    const { require } = fakePackage();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    watch('fake-client', 'index.js', () => {
      throw new Error('not the shape it knows');
    });
    expect(require('fake-client').createPool().kind()).toBe('original');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => warning.message)).toEqual([
      '@crac/core: could not take care of fake-client/index.js without code: not the shape it knows',
    ]);
  });

  it('stops watching when told to', () => {
    const { require } = fakePackage();
    let calls = 0;
    const stop = onPackageLoad('fake-client', 'index.js', () => {
      calls++;
    });
    stop();
    require('fake-client');
    expect(calls).toBe(0);
  });
});
