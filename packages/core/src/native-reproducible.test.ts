// The same sources build the same native programs, wherever they are built: an image records the
// digest of crac.node (and of node), so a rebuild that differs refuses every image made before it
// (`CRAC_EIMAGE_FOREIGN`). The build once linked its libraries in the order they finished
// compiling: about one build in five differed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const core = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROGRAMS = ['crac-restore', 'crac-init', 'crac-seal', 'crac-guard', 'crac.node', 'crac-nouring.so'];
const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** Builds a copy of the native sources (and the TypeScript its headers come from) elsewhere: each program's SHA-256. */
function buildCopy(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'crac-native-copy-'));
  copies.push(dir);
  cpSync(join(core, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(core, 'package.json'), join(dir, 'package.json'));
  const built = join(core, 'native', 'build');
  cpSync(join(core, 'native'), join(dir, 'native'), { recursive: true, filter: (path) => path !== built && !path.startsWith(`${built}/`) });
  const run = spawnSync(process.execPath, [join(dir, 'native', 'build.mjs'), '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status, run.stderr).toBe(0);
  return Object.fromEntries(
    PROGRAMS.map((program) => [
      program,
      createHash('sha256')
        .update(readFileSync(join(dir, 'native', 'build', program)))
        .digest('hex'),
    ]),
  );
}

describe('the native build', () => {
  it('is reproducible: two builds in two directories give the same files', { timeout: 300_000 }, () => {
    const first = buildCopy();
    const second = buildCopy();
    expect(second).toEqual(first);
  });
});
