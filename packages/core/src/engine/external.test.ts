import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, checkpointRestore, Context, type Resource } from '../index.js';
import { parseControlRequest } from '../protocol/control-socket.js';
import { claimRestoreEnvironment, createExternalEngine, parseEnvFile, processIncarnation } from './external.js';

function recorder(log: string[], name: string): Resource {
  return {
    name,
    beforeCheckpoint: () => {
      log.push(`before:${name}`);
    },
    afterRestore: () => {
      log.push(`after:${name}`);
    },
  };
}

/** An incarnation the test changes, as a container engine's restore changes the real one. */
function fakeIncarnation() {
  let value = 'original';
  return { read: () => value, restore: (copy: string) => (value = copy) };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the external engine (a container engine checkpoints)', () => {
  it('holds after every beforeCheckpoint, and runs afterRestore once the process was restored', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'server'));
    const incarnation = fakeIncarnation();
    const engine = createExternalEngine({
      pollMs: 5,
      incarnation: incarnation.read,
      onHeld: () => {
        log.push('held');
        // the engine dumps, then restores: the copy's incarnation differs
        setTimeout(() => incarnation.restore('copy'), 30);
      },
      onReleased: () => log.push('released'),
      restored: async () => {
        log.push('restored: randomness and environment');
        return { environment: { set: { PORT: '3001' }, removed: [] } };
      },
    });
    const result = await checkpointRestore({ engine, context, audit: 'off' });
    expect(result.outcome).toBe('restored');
    expect(result.engine).toBe('external');
    expect(result.environment).toEqual({ set: { PORT: '3001' }, removed: [] });
    expect(log).toEqual(['before:server', 'held', 'restored: randomness and environment', 'released', 'after:server']);
  });

  it('gives the resources back when no restore comes within holdMs: the original runs on', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'pool'));
    const engine = createExternalEngine({ holdMs: 40, pollMs: 5, incarnation: () => 'same', onReleased: () => log.push('released') });
    const failed = await checkpointRestore({ engine, context, audit: 'off' }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CheckpointError);
    expect((failed as CheckpointError).errors[0]).toMatchObject({ code: 'CRAC_ECHECKPOINT' });
    expect(log).toEqual(['before:pool', 'released', 'after:pool']);
  });

  it("reads this process's incarnation: start time and pid namespace, stable while it runs", () => {
    const incarnation = processIncarnation();
    expect(incarnation).toMatch(/^\d+ (pid:\[\d+\])?$/);
    expect(processIncarnation()).toBe(incarnation);
  });
});

describe('the restoring environment of an engine-restored copy', () => {
  it('gives each copy its own file: claimed by a rename, never twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-env-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'copy-a.env'), '# copy a\nPORT=3001\nDATABASE_URL=postgres://db/a?x=1\n\n');
    writeFileSync(join(dir, 'copy-b.env'), 'PORT=3002\n');
    const [first, second] = await Promise.all([claimRestoreEnvironment(dir, 100), claimRestoreEnvironment(dir, 100)]);
    expect([first, second]).toEqual([{ PORT: '3001', DATABASE_URL: 'postgres://db/a?x=1' }, { PORT: '3002' }]);
    expect(readdirSync(dir).filter((name) => name.endsWith('.env'))).toEqual([]);
    expect(readdirSync(dir).every((name) => name.includes('.claimed-'))).toBe(true);
  });

  it("keeps the image's environment, with a warning, when no file comes", async () => {
    const dir = join(tmpdir(), 'crac-env-none-here');
    expect(existsSync(dir)).toBe(false);
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    try {
      expect(await claimRestoreEnvironment(dir, 30)).toBeUndefined();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual(['CRAC_ERESTORE_ENV']);
  });

  it("takes no environment another user could have left: a directory others can write, another user's file, a link, a FIFO", async () => {
    const warned = async (dir: string) => {
      const warnings: string[] = [];
      const onWarning = (warning: Error & { code?: string }) => warnings.push(`${warning.code} ${warning.message}`);
      process.on('warning', onWarning);
      try {
        const claimed = await claimRestoreEnvironment(dir, 30);
        await new Promise((resolve) => setImmediate(resolve));
        return { claimed, warnings };
      } finally {
        process.off('warning', onWarning);
      }
    };
    const fresh = (file = 'copy.env') => {
      const dir = mkdtempSync(join(tmpdir(), 'crac-env-'));
      dirs.push(dir);
      return { dir, file: join(dir, file) };
    };
    // writable by others
    const open = fresh();
    writeFileSync(open.file, 'PORT=1\n');
    chmodSync(open.dir, 0o777);
    expect(await warned(open.dir)).toMatchObject({
      claimed: undefined,
      warnings: [expect.stringMatching(/^CRAC_ERESTORE_ENV .* is writable by others/)],
    });
    // a link in place of a file: not followed
    const linked = fresh();
    writeFileSync(join(linked.dir, 'target'), 'PORT=2\n');
    symlinkSync(join(linked.dir, 'target'), linked.file);
    expect(await warned(linked.dir)).toMatchObject({
      claimed: undefined,
      warnings: [expect.stringMatching(/^CRAC_ERESTORE_ENV .*cannot read .*ELOOP/)],
    });
    // a FIFO: refused at once, not waited on
    const fifo = fresh();
    execFileSync('mkfifo', [fifo.file]);
    expect(await warned(fifo.dir)).toMatchObject({ claimed: undefined, warnings: [expect.stringMatching(/not a regular file/)] });
    if (process.geteuid?.() === 0) {
      const theirs = fresh();
      writeFileSync(theirs.file, 'PORT=3\n');
      chownSync(theirs.file, 65534, 65534);
      expect(await warned(theirs.dir)).toMatchObject({ claimed: undefined, warnings: [expect.stringMatching(/belongs to another user/)] });
    }
  });

  it('parses NAME=value lines', () => {
    expect(parseEnvFile('A=1\n  B = 2\n#C=3\nD=x=y\nnot a line\n')).toEqual({ A: '1', 'B ': ' 2', D: 'x=y' });
  });
});

describe('the prepare request', () => {
  it('is a control request with an optional positive holdMs', () => {
    expect(parseControlRequest('{"protocol":1,"id":"a","command":"prepare"}')).toMatchObject({ command: 'prepare' });
    expect(parseControlRequest('{"protocol":1,"id":"a","command":"prepare","holdMs":5000}')).toMatchObject({ holdMs: 5000 });
    expect(parseControlRequest('{"protocol":1,"id":"a","command":"prepare","holdMs":-1}')).toBeUndefined();
    expect(parseControlRequest('{"protocol":1,"id":"a","command":"prepare","holdMs":"1"}')).toBeUndefined();
  });
});
