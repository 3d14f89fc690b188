import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native');
const work = mkdtempSync(join(tmpdir(), 'crac-rpc-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Compiles native/test/criu_rpc_test.c with the decoder, under ASan and UBSan when the compiler has them. */
function build(): { binary: string; sanitized: boolean } {
  const binary = join(work, 'criu_rpc_test');
  const sources = [
    join(native, 'test', 'criu_rpc_test.c'),
    join(native, 'src', 'lib', 'criu', 'criu_rpc.c'),
    '-I',
    join(native, 'src', 'lib'),
  ];
  const cc = process.env.CC || 'cc';
  const sanitized = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-fsanitize=address,undefined', '-o', binary, ...sources], {
    encoding: 'utf8',
  });
  if (sanitized.status === 0) return { binary, sanitized: true };
  const plain = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-o', binary, ...sources], { encoding: 'utf8' });
  if (plain.status !== 0) throw new Error(`cannot compile the CRIU RPC decoder test with ${cc}: ${plain.error?.message ?? plain.stderr}`);
  return { binary, sanitized: false };
}

describe('the CRIU RPC decoder (C)', () => {
  it('decodes replies, refuses malformed ones, and survives random bytes', () => {
    const { binary, sanitized } = build();
    const run = spawnSync(binary, { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, `${sanitized ? 'under ASan/UBSan' : 'without sanitizers'}:\n${output}`).toBe(0);
    expect(output).toContain('ok refuses a length past the end of the message');
    expect(output).toContain('0 failure(s)');
    expect(output).not.toMatch(/runtime error|AddressSanitizer/);
  });
});
