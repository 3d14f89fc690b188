// A short round of the fuzz targets of the native readers (scripts/fuzz.mjs, `pnpm fuzz` runs the
// campaign): every seed and regression input, then 20 000 mutations each, under ASan and UBSan.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('the native readers under libFuzzer', () => {
  it('survive their seeds, their regression inputs and a short round of mutations', { timeout: 240_000 }, () => {
    const targets = ['json', 'manifest', 'criu_rpc', 'listen_spec'];
    // the control socket's TypeScript targets have their round of their own (protocol/fuzz/)
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'fuzz.mjs'), '--runs=20000', `--only=${targets.join(',')}`], {
      encoding: 'utf8',
    });
    expect(run.status, `${run.stdout}${run.stderr.slice(-4000)}`).toBe(0);
    for (const target of targets) {
      expect(run.stdout).toMatch(new RegExp(`fuzz: ${target}: 20000 executions .* no crash`));
    }
  });
});
