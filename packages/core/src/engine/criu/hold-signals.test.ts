import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeBuildCommand, nativeProgramPath } from '../../protocol/programs.js';
import { bundleForNode } from '../../test-bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
let work: string;
let child: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'crac-hold-signals-'));
  child = join(work, 'hold-signals-child.mjs');
  await bundleForNode({ 'hold-signals-child': join(here, 'hold-signals-child.ts') }, work);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(listener: 0 | 1 | 2) {
  const addon = nativeProgramPath('addon');
  if (!existsSync(addon)) throw new Error(`the native bridge is not built: run \`${nativeBuildCommand()}\``);
  return spawnSync(process.execPath, [child, addon, String(listener)], { encoding: 'utf8', timeout: 20_000 });
}

// A stop signal that arrives as the cycle ends (a SIGTERM to a just-restored app) used to wait in
// libuv's pipe, which Node drops when the cycle removed the last listener: the app served on.
describe.runIf(process.platform === 'linux')('stop signals caught in C until the cycle gives them back', () => {
  it('a signal that arrives after the dump, as the cycle settles, takes its default action', () => {
    const result = run(0);
    expect(result.stdout, result.stderr).toBe('');
    expect(result.signal).toBe('SIGTERM');
  });

  it("reaches the app's own listener, also one added during the cycle (an afterRestore hook's)", () => {
    for (const listener of [1, 2] as const) {
      const result = run(listener);
      expect(result.stdout, result.stderr).toBe('listener');
      expect(result.status).toBe(3);
    }
  });
});
