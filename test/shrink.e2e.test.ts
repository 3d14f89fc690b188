import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, NODES, stopAll, tempDir } from './helpers/harness.js';

const APP = join(FIXTURES, 'shrink-app.cjs');
type Event = Record<string, unknown>;

beforeAll(() => assertRealCriuHost());

const cleanups: (() => void)[] = [];
afterEach(() => {
  stopAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function imageDir(): string {
  const dir = tempDir('crac-shrink-');
  cleanups.push(dir.remove);
  return join(dir.path, 'image');
}

/** The image's size in bytes, CRIU's logs left out. */
function imageBytes(dir: string): number {
  return readdirSync(dir)
    .filter((file) => !file.endsWith('.log'))
    .reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

async function checkpoint(node: string, dir: string, shrink: boolean): Promise<{ rss: number; image: number }> {
  const run = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'pipe', env: { FIXTURE_SHRINK: shrink ? '1' : '0' } });
  expect((await run.exited).code, run.output()).toBe(0);
  const before = run.events().find((event) => event.event === 'before-checkpoint') as Event;
  expect(before, run.output()).toBeDefined();
  return { rss: before.rss as number, image: imageBytes(dir) };
}

const MiB = 2 ** 20;

describe.each(NODES)('shrinking before the dump on $name', ({ bin: node }) => {
  it('gives an image well under the resident size of an app that dropped a lot, and it restores correctly', async () => {
    const shrunkDir = imageDir();
    const shrunk = await checkpoint(node, shrunkDir, true);
    const plain = await checkpoint(node, imageDir(), false);
    console.log(
      `[${node}] RSS at checkpoint ${(shrunk.rss / MiB).toFixed(0)} MiB: image ${(shrunk.image / MiB).toFixed(1)} MiB shrunk, ` +
        `${(plain.image / MiB).toFixed(1)} MiB with { shrink: false } (RSS ${(plain.rss / MiB).toFixed(0)} MiB)`,
    );
    // wide margins: measured about 3% of RSS shrunk (13-17 MiB of 460-470 MiB), about 90% not
    expect(shrunk.image).toBeLessThan(shrunk.rss / 2);
    expect(plain.image).toBeGreaterThan(shrunk.image * 1.5);

    await sleep(1_600); // PID 1 reaps the dumped process late: its pid must be free
    const restore = crac(['restore', shrunkDir], { stdout: 'pipe' });
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(restore.events()).toContainEqual(
      expect.objectContaining({ event: 'checkpoint-result', outcome: 'restored', stateIntact: true }),
    );
  });
});
