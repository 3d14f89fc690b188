import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCTest } from '../../native-c-test.js';

const work = mkdtempSync(join(tmpdir(), 'crac-rpc-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the CRIU RPC decoder (C)', () => {
  it('decodes replies, refuses malformed ones, and survives random bytes', () => {
    const { binary, sanitized } = compileCTest(work, 'criu_rpc_test', ['criu/criu_rpc.c']);
    const run = spawnSync(binary, { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, `${sanitized ? 'under ASan/UBSan' : 'without sanitizers'}:\n${output}`).toBe(0);
    expect(output).toContain('ok refuses a length past the end of the message');
    expect(output).toContain('0 failure(s)');
    expect(output).not.toMatch(/runtime error|AddressSanitizer/);
  });
});
