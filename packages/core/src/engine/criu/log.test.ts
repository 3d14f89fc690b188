import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { criuRestorePhases } from './log.js';

/** A real restore's log (CRIU 4.2.1, -v4, an http server; the lines of each VMA and page left out, paths made neutral). */
const LOG = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'restore-v4.txt');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('criuRestorePhases', () => {
  it('splits a restore by the lines that begin each phase, which add up to the whole', () => {
    const { ms, phases } = criuRestorePhases(LOG);
    expect(phases.map(({ phase }) => phase)).toEqual(['setup', 'fork', 'mappings', 'files', 'restorer', 'memory', 'threads', 'resume']);
    // the log's own timestamps: CRIU forked at 11.438 ms, switched to the restorer at 50.159, restored the first thread at 145.860, wrote its last line at 149.160
    expect(ms).toBeCloseTo(149.16, 2);
    expect(phases[0]?.ms).toBeCloseTo(11.438, 2);
    expect(phases.find(({ phase }) => phase === 'memory')?.ms).toBeCloseTo(145.86 - 50.159, 2);
    expect(phases.reduce((sum, { ms: each }) => sum + each, 0)).toBeCloseTo(ms, 6);
    for (const { ms: each } of phases) expect(each).toBeGreaterThanOrEqual(0);
  });

  it('counts a phase whose first line is missing in the one before, and reads nothing from no log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-criu-log-'));
    dirs.push(dir);
    const without = join(dir, 'restore.log');
    writeFileSync(without, readFileSync(LOG, 'utf8').replace('Opening fdinfo-s', 'opening descriptors'));
    const { phases } = criuRestorePhases(without);
    expect(phases.map(({ phase }) => phase)).toEqual(['setup', 'fork', 'mappings', 'restorer', 'memory', 'threads', 'resume']);
    const whole = criuRestorePhases(LOG).phases;
    const of = (list: typeof phases, name: string) => list.find(({ phase }) => phase === name)?.ms ?? 0;
    expect(of(phases, 'mappings')).toBeCloseTo(of(whole, 'mappings') + of(whole, 'files'), 6);

    expect(criuRestorePhases(join(dir, 'none.log'))).toEqual({ ms: 0, phases: [] });
    writeFileSync(join(dir, 'plain.log'), 'no timestamps here\n');
    expect(criuRestorePhases(join(dir, 'plain.log'))).toEqual({ ms: 0, phases: [] });
  });
});
