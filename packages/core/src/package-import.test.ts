import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

// The published entry points, loaded by plain Node as a user's app would (no CRIU needed).
describe('the built package', () => {
  it('exists (scripts/setup.mjs builds it before the tests)', () => {
    expect(existsSync(join(packageDir, 'dist', 'index.js')), 'run `pnpm bootstrap` to build @crac/core').toBe(true);
  });

  for (const [format, code] of [
    ['ESM', "import('@crac/core').then((m) => m.checkpointRestore({ engine: 'simulate' })).then((r) => console.log(r.outcome))"],
    ['CommonJS', "require('@crac/core').checkpointRestore({ engine: 'simulate' }).then((r) => console.log(r.outcome))"],
  ]) {
    it(`imports as ${format} and runs a simulated cycle`, () => {
      const output = execFileSync(process.execPath, ['-e', code as string], { cwd: packageDir, encoding: 'utf8' });
      expect(output.trim()).toBe('simulated');
    });
  }

  it('shares one global context between the ESM and CommonJS builds', () => {
    const code =
      "const cjs = require('@crac/core'); import('@crac/core').then((esm) => console.log(esm.getGlobalContext() === cjs.getGlobalContext()))";
    expect(execFileSync(process.execPath, ['-e', code], { cwd: packageDir, encoding: 'utf8' }).trim()).toBe('true');
  });

  it('keeps its process-wide state in one record on globalThis, shared by every build and entry point', () => {
    const code = [
      "const cjs = require('@crac/core');",
      "const { onPackageLoad } = require('@crac/core/kit');",
      "onPackageLoad('none', 'index.js', () => undefined);",
      "import('@crac/core').then(async (esm) => {",
      "  await esm.checkpointRestore({ engine: 'simulate' });",
      "  const ours = Object.getOwnPropertySymbols(globalThis).filter((s) => s.description.startsWith('@crac/core'));",
      "  const record = globalThis[Symbol.for('@crac/core')];",
      "  console.log(ours.length, Object.keys(record).sort().join(','), record.core.context === cjs.getGlobalContext());",
      '});',
    ].join('\n');
    expect(execFileSync(process.execPath, ['-e', code], { cwd: packageDir, encoding: 'utf8' }).trim()).toBe(
      '1 core,creationSites,cycleScope,loadHook true',
    );
  });

  it("recognises a CracError thrown by another entry point's or build's copy", () => {
    const code = [
      "const { CracError } = require('@crac/core');",
      "const { expectShape } = require('@crac/core/kit');",
      "let thrown; try { expectShape({}, { connect: 'function' }, 'not a pool'); } catch (error) { thrown = error; }",
      "import('@crac/core').then((esm) => console.log(thrown instanceof CracError, thrown instanceof esm.CracError, thrown.code));",
    ].join('\n');
    expect(execFileSync(process.execPath, ['-e', code], { cwd: packageDir, encoding: 'utf8' }).trim()).toBe('true true CRAC_EINVAL');
  });
});
