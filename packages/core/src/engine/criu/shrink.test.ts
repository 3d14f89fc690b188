import { describe, expect, it } from 'vitest';
import { fullGc } from './full-gc.js';
import { resolveShrink } from './shrink-option.js';
import { shrinkProcess } from './shrink.js';

describe('resolveShrink', () => {
  it('is on by default, the option wins, CRAC_SHRINK=0 turns it off', () => {
    expect(resolveShrink(undefined, {})).toBe(true);
    expect(resolveShrink(undefined, { CRAC_SHRINK: '0' })).toBe(false);
    expect(resolveShrink(undefined, { CRAC_SHRINK: 'on' })).toBe(true);
    expect(resolveShrink(true, { CRAC_SHRINK: '0' })).toBe(true);
    expect(resolveShrink(false, {})).toBe(false);
  });
  it('refuses a value it does not understand', () => {
    expect(() => resolveShrink(undefined, { CRAC_SHRINK: 'maybe' })).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
  });
});

describe('fullGc', () => {
  it('collects without leaving a gc global to later contexts', async () => {
    const { runInNewContext } = await import('node:vm');
    fullGc();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});

describe('shrinkProcess', () => {
  it('pulls the levers in order and records a missing one as skipped', () => {
    const calls: string[] = [];
    const report = shrinkProcess({
      v8Notify: () => {
        calls.push('v8');
        throw Object.assign(new Error('no symbol'), { code: 'CRAC_ESHRINK' });
      },
      fullGc: () => {
        calls.push('gc');
      },
      mallocTrim: () => {
        calls.push('trim');
        return 1;
      },
    });
    expect(calls).toEqual(['v8', 'gc', 'trim']);
    expect(report.steps.map((step) => [step.step, step.skipped])).toEqual([
      ['v8-low-memory', 'no symbol'],
      ['full-gc', undefined],
      ['malloc-trim', undefined],
    ]);
    expect(report.rssBeforeBytes).toBeGreaterThan(0);
  });
});
