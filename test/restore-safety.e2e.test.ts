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
});
