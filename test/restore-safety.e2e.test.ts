import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES } from './helpers/harness.js';

const APP = join(FIXTURES, 'random-app.cjs');
beforeAll(() => assertRealCriuHost());

const SOURCES = ['mathRandom', 'savedMathRandom', 'randomInt', 'randomBytes', 'randomUUID', 'getRandomValues'] as const;
type Sample = Record<(typeof SOURCES)[number], unknown>;

describe.each(NODES)('restored copies on $name', ({ bin: node }) => {
  it('have their own randomness (main thread and worker) and their own environment', async () => {
    const image = imageDir();
    const checkpoint = crac(['checkpoint', '--to', image, '--', node, APP], {
      stdout: 'file',
      env: { COPY_NAME: 'original', FIXTURE_SECRET: 'from-the-image' },
    });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

    // two copies at once, each with its own environment (the second one in a new pid namespace)
    const a = crac(['restore', image], { stdout: 'pipe', env: { COPY_NAME: 'a', FIXTURE_SECRET: undefined } });
    await a.waitFor((e) => e.event === 'restored');
    const b = crac(['restore', image], { stdout: 'pipe', env: { COPY_NAME: 'b', FIXTURE_SECRET: undefined } });
    for (const copy of [a, b]) expect((await copy.exited).code, copy.output()).toBe(0);

    const [first, second] = [a, b].map((copy) => copy.events().find((e) => e.event === 'restored') as Record<string, unknown>);
    expect(first?.outcome).toBe('restored');
    // each copy sees the environment it was restored with, before its afterRestore hooks
    expect(first?.env).toEqual({ COPY_NAME: 'a', FIXTURE_SECRET: null });
    expect(second?.env).toEqual({ COPY_NAME: 'b', FIXTURE_SECRET: null });
    expect(first?.environment).toMatchObject({ set: { COPY_NAME: 'a' }, removed: expect.arrayContaining(['FIXTURE_SECRET']) });

    for (const thread of ['main', 'worker'] as const) {
      const one = first?.[thread] as Sample;
      const other = second?.[thread] as Sample;
      for (const source of SOURCES) {
        expect(one[source], `${thread} ${source} differs between the copies`).not.toEqual(other[source]);
      }
    }
  });

  it("keeps CRIU's kernel-probe cache in a directory only root can write: one planted by another user is replaced", async () => {
    const KDAT_DIR = '/dev/shm/crac-criu'; // RUNDIR of scripts/setup-criu.sh, CRAC_KDAT_DIR of native/src/lib/criu/kdat_dir.h
    const image = imageDir();
    const checkpoint = crac(['checkpoint', '--to', image, '--', node, APP], { stdout: 'file' });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

    // as a user could: their own directory, writable by all, holding a cache of theirs
    rmSync(KDAT_DIR, { recursive: true, force: true });
    mkdirSync(KDAT_DIR, { mode: 0o777 });
    writeFileSync(join(KDAT_DIR, 'criu.kdat'), 'planted');
    chownSync(KDAT_DIR, 65534, 65534);
    const restore = crac(['restore', image], { stdout: 'pipe' });
    expect((await restore.exited).code, restore.output()).toBe(0);
    const dir = lstatSync(KDAT_DIR);
    expect({ directory: dir.isDirectory(), uid: dir.uid, mode: dir.mode & 0o777 }).toEqual({ directory: true, uid: 0, mode: 0o700 });
    // CRIU saved its own cache there; the planted directory was moved aside whole, unread
    expect(existsSync(join(KDAT_DIR, 'criu.kdat'))).toBe(true);
    expect(lstatSync(join(KDAT_DIR, 'criu.kdat')).uid).toBe(0);
    const aside = readdirSync('/dev/shm').filter((name) => name.startsWith('crac-criu.refused-'));
    expect(aside.some((name) => readFileSync(join('/dev/shm', name, 'criu.kdat'), 'utf8') === 'planted')).toBe(true);
    for (const name of aside) rmSync(join('/dev/shm', name), { recursive: true, force: true });
  });
});
