import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEnvironment, HANDOFF_MAGIC, readRestoreHandoff } from './environment.js';
import { createRandom, installRandom, refreshThreadRandomness } from './randomness.js';

describe('createRandom', () => {
  it('gives numbers in [0, 1), spread over the range', () => {
    const random = createRandom();
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
      buckets[Math.floor(value * 10)]++;
    }
    for (const count of buckets) expect(count).toBeGreaterThan(9_000);
  });

  it('starts every generator from a fresh seed', () => {
    const sequences = [createRandom(), createRandom()].map((random) => [random(), random(), random()]);
    expect(sequences[0]).not.toEqual(sequences[1]);
  });
});

describe('refreshThreadRandomness', () => {
  it('reseeds the generator in place, so that a reference kept to Math.random draws fresh numbers too', () => {
    const original = Math.random;
    try {
      const random = createRandom();
      installRandom(random);
      const kept = Math.random;
      Math.random = () => 0.5; // an app that replaced it meanwhile
      refreshThreadRandomness(random);
      expect(Math.random).toBe(random);
      expect(kept).toBe(random);
      expect(kept()).not.toBe(kept());
    } finally {
      Math.random = original;
    }
  });
});

describe('applyEnvironment', () => {
  it('sets new and changed values, removes missing ones, and reports both', () => {
    const saved = { ...process.env };
    try {
      process.env.CRAC_TEST_KEEP = 'same';
      process.env.CRAC_TEST_CHANGE = 'old';
      process.env.CRAC_TEST_GONE = 'bye';
      const next = { ...saved, CRAC_TEST_KEEP: 'same', CRAC_TEST_CHANGE: 'new', CRAC_TEST_NEW: 'hello' } as Record<string, string>;
      const changes = applyEnvironment(next);
      expect(changes).toEqual({ set: { CRAC_TEST_CHANGE: 'new', CRAC_TEST_NEW: 'hello' }, removed: ['CRAC_TEST_GONE'] });
      expect(process.env.CRAC_TEST_CHANGE).toBe('new');
      expect(process.env.CRAC_TEST_GONE).toBeUndefined();
      expect(process.env.CRAC_TEST_KEEP).toBe('same');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('readRestoreHandoff', () => {
  const read = (content: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-handoff-'));
    const path = join(dir, 'handoff');
    writeFileSync(path, content);
    const fd = openSync(path, 'r');
    try {
      return readRestoreHandoff(fd);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  };

  it('finds nothing in the empty handoff file (a plain criu restore): the image environment stays', () => {
    expect(read('')).toBeUndefined();
  });

  it("reads the restorer's environment, values with = and newlines included", () => {
    expect(read(`${HANDOFF_MAGIC}PORT=3001\0URL=a=b\nc\0EMPTY=\0`)).toEqual({ PORT: '3001', URL: 'a=b\nc', EMPTY: '' });
  });

  it('refuses a handoff in a format it does not know, or an empty environment, with a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    try {
      expect(read('CRAC-HANDOFF/9\0PORT=1\0')).toBeUndefined();
      expect(read(HANDOFF_MAGIC)).toBeUndefined();
      // warnings are emitted on the next tick
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual(['CRAC_ERESTORE_ENV', 'CRAC_ERESTORE_ENV']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
