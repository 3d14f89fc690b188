import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCTest, NATIVE_DIR } from '../native-c-test.js';

const work = mkdtempSync(join(tmpdir(), 'crac-core-caps-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the capabilities of an image's app (C)", () => {
  it('reads them from real and synthetic core images, refuses malformed ones, and names what a restore lacks', () => {
    const { binary, sanitized } = compileCTest(work, 'core_caps_test', ['image/core_caps.c', 'criu/capabilities.c']);
    const run = spawnSync(binary, [join(NATIVE_DIR, 'test', 'fixtures', 'core-node.img')], {
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
