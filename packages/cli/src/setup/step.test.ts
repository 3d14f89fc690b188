import { CracError } from '@crac/core/protocol';
import { describe, expect, it } from 'vitest';
import { versionAtLeast } from './distribution.js';
import type { Progress } from './progress.js';
import { runSteps, type SetupStep, type StepState } from './step.js';

/** A step whose state is a variable; provide() makes it ready (or not, if told). */
function fakeStep(name: string, { ready = false, needsRoot = false, providesIt = true } = {}) {
  let state: StepState = ready ? { ready: true, detail: 'there' } : { ready: false, missing: 'not there' };
  const calls = { provide: 0 };
  const step: SetupStep = {
    name,
    needsRoot,
    inspect: () => state,
    async provide() {
      calls.provide += 1;
      if (providesIt) state = { ready: true, detail: 'there now' };
      return 'did it';
    },
  };
  return { step, calls };
}

function recorder(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: (name, message) => lines.push(`${name}: ${message}`),
    run: async () => '',
  };
}

describe('crac setup steps', () => {
  it('leave what is ready alone, and provide the rest, in order', async () => {
    const a = fakeStep('a', { ready: true });
    const b = fakeStep('b');
    const progress = recorder();
    const outcomes = await runSteps([a.step, b.step], progress, false);
    expect(outcomes).toEqual([
      { name: 'a', action: 'ready', detail: 'there' },
      { name: 'b', action: 'provided', detail: 'there now' },
    ]);
    expect(a.calls.provide).toBe(0);
    expect(progress.lines).toEqual(['a: ready: there', 'b: missing: not there', 'b: ready: there now (did it)']);
    // a second run finds everything ready and does nothing
    const again = await runSteps([a.step, b.step], recorder(), false);
    expect(again.map((outcome) => outcome.action)).toEqual(['ready', 'ready']);
    expect(b.calls.provide).toBe(1);
  });

  it('refuse a system-wide step without root (CRAC_EROOT) before doing anything of it', async () => {
    const system = fakeStep('criu', { needsRoot: true });
    const run = runSteps([system.step], recorder(), false);
    await expect(run).rejects.toThrow(CracError);
    await expect(run).rejects.toMatchObject({ code: 'CRAC_EROOT', message: expect.stringContaining('sudo npx crac setup') });
    expect(system.calls.provide).toBe(0);
    expect((await runSteps([system.step], recorder(), true))[0]?.action).toBe('provided');
  });

  it('fail with CRAC_ESETUP when a step was provided and is still missing', async () => {
    const stubborn = fakeStep('native programs', { providesIt: false });
    await expect(runSteps([stubborn.step], recorder(), true)).rejects.toMatchObject({
      code: 'CRAC_ESETUP',
      message: 'native programs: did it, but it is still missing: not there',
    });
  });
});

describe("the distribution's CRIU version", () => {
  it.each([
    ['3.17.1-2', false],
    ['4.1.1-1', false],
    ['4.2-1', true],
    ['4.2.1-1', true],
    ['1:4.10-1ubuntu1', true],
    ['5.0~rc1-1', true],
  ])('%s is new enough: %s', (version, usable) => {
    expect(versionAtLeast(version, [4, 2])).toBe(usable);
  });
});
