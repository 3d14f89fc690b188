import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
const work = mkdtempSync(join(tmpdir(), 'crac-core-caps-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Compiles native/test/core_caps_test.c with the reader and the refusal, under ASan and UBSan when the compiler has them. */
function build(): { binary: string; sanitized: boolean } {
  const binary = join(work, 'core_caps_test');
  const sources = [
    join(native, 'test', 'core_caps_test.c'),
    join(native, 'src', 'lib', 'image', 'core_caps.c'),
    join(native, 'src', 'lib', 'criu', 'capabilities.c'),
    '-I',
    join(native, 'src', 'lib'),
    '-I',
    join(native, 'build', 'include'),
  ];
  const cc = process.env.CC || 'cc';
  const sanitized = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-fsanitize=address,undefined', '-o', binary, ...sources], {
    encoding: 'utf8',
  });
  if (sanitized.status === 0) return { binary, sanitized: true };
  const plain = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-o', binary, ...sources], { encoding: 'utf8' });
  if (plain.status !== 0) throw new Error(`cannot compile the core image reader test with ${cc}: ${plain.error?.message ?? plain.stderr}`);
  return { binary, sanitized: false };
}

describe("the capabilities of an image's app (C)", () => {
  it('reads them from real and synthetic core images, refuses malformed ones, and names what a restore lacks', () => {
    const { binary, sanitized } = build();
    const run = spawnSync(binary, [join(native, 'test', 'fixtures', 'core-node.img')], {
      encoding: 'utf8',
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, `${sanitized ? 'under ASan/UBSan' : 'without sanitizers'}:\n${output}`).toBe(0);
    expect(output).toContain('ok reads a real core image');
    expect(output).toContain('ok refuses what it lacks, naming each capability and its --cap-add');
    expect(output).toContain('0 failure(s)');
    expect(output).not.toMatch(/runtime error|AddressSanitizer/);
  });
});
