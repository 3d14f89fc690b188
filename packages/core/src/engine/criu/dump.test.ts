import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Context } from '../../context.js';
import { checkpointRestore } from '../../cycle/checkpoint-restore.js';
import { CheckpointError } from '../../errors.js';
import { processState } from '../../protocol/processes.js';
import { nativeProgramPath } from '../../protocol/programs.js';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// The self-dump runs in this test process: with a CRIU that never answers, nothing is frozen.
describe.runIf(process.platform === 'linux')('the criu engine with a CRIU that hangs', () => {
  it('stops CRIU after CRAC_CRIU_TIMEOUT_MS, fails the checkpoint and gives the resources back', async () => {
    expect(existsSync(nativeProgramPath('addon')), 'the native bridge is built by scripts/setup.mjs (pnpm bootstrap)').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'crac-hang-'));
    dirs.push(dir);
    const pidFile = join(dir, 'criu.pid');
    const criu = join(dir, 'criu');
    // answers --version like CRIU 4.2.1, then, as `criu swrk 3`, says nothing
    writeFileSync(criu, `#!/bin/sh\n[ "$1" = --version ] && { echo "Version: 4.2.1"; exit 0; }\necho $$ > ${pidFile}\nexec sleep 600\n`);
    chmodSync(criu, 0o755);
    vi.stubEnv('CRAC_CRIU_PATH', criu);
    vi.stubEnv('CRAC_CRIU_TIMEOUT_MS', '300');
    const log: string[] = [];
    const context = new Context();
    context.register({
      name: 'socket',
      beforeCheckpoint: () => void log.push('released'),
      afterRestore: () => void log.push('taken back'),
    });
    const error = (await checkpointRestore({
      engine: 'criu',
      imagesDir: join(dir, 'image'),
      leaveRunning: true,
      context,
      audit: 'off',
      shrink: false,
    }).catch((e: unknown) => e)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error.errors[0] as { code: string }).code).toBe('CRAC_ECRIU_DUMP');
    expect((error.errors[0] as Error).message).toMatch(/did not answer within 300 ms and was stopped/);
    expect(log).toEqual(['released', 'taken back']);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 100 && processState(pid) === 'alive'; i++) await sleep(20);
    expect(processState(pid)).not.toBe('alive');
  });

  it('refuses a CRAC_CRIU_TIMEOUT_MS that is not a number of milliseconds', async () => {
    vi.stubEnv('CRAC_CRIU_TIMEOUT_MS', 'soon');
    const dir = mkdtempSync(join(tmpdir(), 'crac-hang-'));
    dirs.push(dir);
    const error = (await checkpointRestore({ engine: 'criu', imagesDir: dir, context: new Context(), audit: 'off' }).catch(
      (e: unknown) => e,
    )) as CheckpointError;
    expect((error.errors[0] as { code: string }).code).toBe('CRAC_EINVAL');
  });
});
