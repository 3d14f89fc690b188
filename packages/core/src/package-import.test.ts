import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { exports } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
/** `@crac/core`, `@crac/core/kit`...: every entry point but the preload (which starts the app's trigger). */
const entryPoints = Object.keys(exports)
  .filter((subpath) => subpath !== './package.json' && subpath !== './register')
  .map((subpath) => `@crac/core${subpath.slice(1)}`);

// The published entry points, loaded by plain Node as a user's app would (no CRIU needed).
describe('the built package', () => {
  it('exports from each built entry point, ESM and CommonJS, what its source exports (scripts/setup.mjs builds it)', async () => {
    // here, vitest resolves the `@crac/source` condition: the sources
    const source = Object.fromEntries(
      await Promise.all(entryPoints.map(async (name) => [name, Object.keys(await import(name)).sort()] as const)),
    );
    const code = [
      `const names = ${JSON.stringify(entryPoints)};`,
      'Promise.all(names.map(async (name) => [name, { esm: Object.keys(await import(name)).sort(), cjs: Object.keys(require(name)).sort() }]))',
      '  .then((built) => console.log(JSON.stringify(Object.fromEntries(built))));',
    ].join('\n');
    let output: string;
    try {
      output = execFileSync(process.execPath, ['-e', code], { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(`run \`pnpm bootstrap\` to build @crac/core: ${(error as { stderr?: string }).stderr ?? error}`);
    }
    const built = JSON.parse(output) as Record<string, { esm: string[]; cjs: string[] }>;
    for (const name of entryPoints) {
      expect(source[name]?.length, name).toBeGreaterThan(0);
      expect(built[name], name).toEqual({ esm: source[name], cjs: source[name] });
    }
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
