import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, ROOT, run, start } from './helpers/harness.js';

const DEMO = join(ROOT, 'scripts', 'demo.mjs');
beforeAll(() => assertRealCriuHost());

const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('crac-demo-'));

describe('pnpm demo:checkpoint', () => {
  it('runs every example cold and restored, and its figures come from real answers', async () => {
    // `pnpm test` has just run the set-up the demo would run first
    const { code, output } = await run(process.execPath, [DEMO, '--json', '--skip-setup'], { stdout: 'file' });
    expect(code, output).toBe(0);
    const results = JSON.parse(output.slice(output.indexOf('\n['))) as {
      example: string;
      cold: { firstResponseMs: number; first100: { p50Ms: number } };
      restored: { firstResponseMs: number; sameAnswer: boolean; first100: { p50Ms: number } };
      imageBytes: number;
      checkpointMs: number;
    }[];
    expect(results.map((result) => result.example)).toContain('heavy-start');
    for (const result of results) {
      expect(result.restored.sameAnswer, `${result.example}: the restored app gave the cold app's answer`).toBe(true);
      expect(result.cold.firstResponseMs).toBeGreaterThan(0);
      // heavy-start does a second of work at start; a restore skips it (a wide margin, not a benchmark)
      if (result.example === 'heavy-start') expect(result.restored.firstResponseMs).toBeLessThan(result.cold.firstResponseMs);
      expect(result.imageBytes).toBeGreaterThan(1 << 20);
      expect(result.checkpointMs).toBeGreaterThan(0);
    }
    expect(output).toMatch(/demo: heavy-start: restored, answered after \d+ ms/);
    expect(leftovers()).toEqual([]);
  });

  it('stops every process and removes its files when interrupted', async () => {
    const demo = start(process.execPath, [DEMO, '--skip-setup', '--only=heavy-start'], { stdout: 'file' });
    while (!demo.output().includes('checkpointing')) await sleep(50);
    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    expect(code).toBe(130);
    expect(demo.output()).toContain('SIGINT: stopping every process');
    expect(leftovers()).toEqual([]);
    const running = await run('pgrep', ['-f', 'bench/warmup.mjs|examples/heavy-start'], { stdout: 'file' });
    expect(running.output.trim()).toBe('');
  });
});
