import { describe, expect, it } from 'vitest';
import { applyEnvironment, readRestorerEnvironment } from './environment.js';
import { createRandom } from './randomness.js';

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

describe('readRestorerEnvironment', () => {
  it('finds nothing when the process was not restored by crac restore', () => {
    expect(readRestorerEnvironment()).toBeUndefined();
  });
});
