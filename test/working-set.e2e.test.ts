// The working-set restore with real CRIU: `crac checkpoint --working-set` records the pages a
// trial restore touches to answer the warm-up; `crac restore` restores those with the process and
// the rest through CRIU's lazy-pages server. Every byte must come back right: with the page
// cache warm, cold and under pressure, and an app whose memory server dies must not run on.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@crac/tools/ports';
import { beforeAll, describe, expect, it } from 'vitest';
import { processStartTime } from '@crac/core/protocol';
import { paths } from '@crac/tools/paths';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type Started, start } from './helpers/harness.js';
import { isRunning, treeOf } from './helpers/process-tree.js';

const APP = join(FIXTURES, 'working-set-app.cjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
const RETAIN_MB = '64';

beforeAll(() => assertRealCriuHost());

async function get(port: number, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** An image of the app with a working set; its manifest. */
async function checkpointWithWorkingSet(node: string, dir: string, port: number) {
  const env = { PORT: String(port), RETAIN_MB };
  const warmup = `${JSON.stringify(process.execPath)} ${JSON.stringify(WARMUP)} ${port} 50`;
  const run = crac(['checkpoint', '--to', dir, '--working-set', '--json', '--warmup', warmup, '--', node, APP], { env });
  expect((await run.exited).code, run.output()).toBe(0);
  expect(run.events(), run.output()).toContainEqual(expect.objectContaining({ ok: true, workingSet: expect.any(Object) }));
  return JSON.parse(readFileSync(join(dir, 'crac-manifest.json'), 'utf8')) as { workingSet: { pages: number; lazyPages: number } };
}

/** `crac restore --json` of `dir`, once the app answers. */
async function restored(dir: string, port: number, args: string[] = []): Promise<Started> {
  const restore = crac(['restore', dir, '--json', ...args], { env: { PORT: String(port), RETAIN_MB } });
  await restore.waitFor((event) => event.ok === true);
  // then the app's own answer: it listens again in its afterRestore
  for (let tries = 0; ; tries++) {
    try {
      await get(port, '/');
      return restore;
    } catch (error) {
      if (tries > 200 || !restore.isAlive()) throw new Error(`the restored app does not answer (${error}):\n${restore.output()}`);
      await sleep(50);
    }
  }
}

/** SIGTERM to the restore's process group (crac restore passes it to the app); resolves with its exit. */
async function ended(restore: Started) {
  process.kill(-(restore.child.pid as number), 'SIGTERM');
  return restore.exited;
}

async function expectIntact(port: number, restore: Started): Promise<void> {
  const { atStart, now } = await get(port, '/digest').catch(async (error: Error) => {
    await sleep(1_000);
    throw new Error(`GET /digest failed (${error.cause ?? error.message}); the restore said:\n${restore.output()}`);
  });
  expect(now, 'every retained byte came back as it was').toBe(atStart);
}

/** Whether the lazy-pages server `pid` has yet to say it listens (CRIU's --status-fd 5 is a pipe until then). */
function statusPipeOpen(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/fd/5`).startsWith('pipe:');
  } catch {
    return !existsSync(`/proc/${pid}/fd`); // not yet exec'd into CRIU, or gone
  }
}

/** The pids under `restore` whose command line holds `word`. */
function processesOf(restore: Started, word: string): number[] {
  return treeOf(restore.child.pid as number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(word);
    } catch {
      return false;
    }
  });
}

describe.each(NODES)('working-set restore on $name', ({ bin: node }) => {
  it('records what the warm-up touches; restores it first and the rest lazily, every byte right; --memory eager loads all', async () => {
    const dir = imageDir();
    const port = await freePort();
    const { workingSet } = await checkpointWithWorkingSet(node, dir, port);
    // GET / touches little of the 64 MB retained: most of it is left to the background
    expect(workingSet.pages).toBeGreaterThan(0);
    expect(workingSet.lazyPages * 4096).toBeGreaterThan(32 * 2 ** 20);
    expect(workingSet.lazyPages).toBeGreaterThan(workingSet.pages);

    const lazy = await restored(dir, port);
    await expectIntact(port, lazy); // at once: pages still arriving
    // the server ends once every page is in (at nice 10, behind the app's hashing: not at once)
    for (let tries = 0; tries < 300 && processesOf(lazy, 'lazy-pages').length > 0; tries++) await sleep(100);
    expect(processesOf(lazy, 'lazy-pages'), 'the server ends once every page is in').toEqual([]);
    await expectIntact(port, lazy); // once the background is done
    await ended(lazy);
    expect(lazy.events(), lazy.output()).toContainEqual(expect.objectContaining({ ok: true, memory: 'working-set' }));

    const eager = await restored(dir, port, ['--memory', 'eager']);
    await expectIntact(port, eager);
    expect(processesOf(eager, 'lazy-pages')).toEqual([]);
    await ended(eager);
    expect(eager.events(), eager.output()).toContainEqual(expect.objectContaining({ ok: true, memory: 'eager' }));
  });
});

describe('working-set restore, faults', () => {
  const node = process.execPath;

  it('every page arrives right from a cold page cache, while the cache is dropped again and again', async () => {
    const dir = imageDir();
    const port = await freePort();
    await checkpointWithWorkingSet(node, dir, port);
    for (let round = 0; round < 3; round++) {
      writeFileSync('/proc/sys/vm/drop_caches', '3');
      let pressing = true;
      const pressure = (async () => {
        while (pressing) {
          writeFileSync('/proc/sys/vm/drop_caches', '1');
          await sleep(5);
        }
      })();
      try {
        const restore = await restored(dir, port);
        await expectIntact(port, restore);
        await ended(restore);
      } finally {
        pressing = false;
        await pressure;
      }
    }
  });

  it('an app whose lazy-pages server dies before every page is in is stopped, and the restore says why', async () => {
    const dir = imageDir();
    const port = await freePort();
    await checkpointWithWorkingSet(node, dir, port);
    const restore = crac(['restore', dir, '--json'], { env: { PORT: String(port), RETAIN_MB } });
    // the server held still once it listens (it has said so: its --status-fd 5 is closed): CRIU
    // hands it the app's memory and resumes the app, which waits on its first lazy page
    let server: number | undefined;
    for (let tries = 0; tries < 5000 && server === undefined; tries++) {
      const found = processesOf(restore, 'lazy-pages')[0];
      if (found !== undefined && !statusPipeOpen(found)) server = found;
      else await sleep(1);
    }
    expect(server, restore.output()).toBeDefined();
    process.kill(server as number, 'SIGSTOP');
    const app = await restore.waitFor((event) => event.ok === true && typeof event.pid === 'number');
    expect(app.memory).toBe('working-set');
    const appPids = processesOf(restore, APP);
    expect(appPids.length, restore.output()).toBeGreaterThan(0);
    process.kill(server as number, 'SIGKILL');
    const exit = await restore.exited;
    expect(exit.code, restore.output()).not.toBe(0);
    expect(restore.output()).toMatch(/lazy-pages server was killed by signal 9 before the app had all its memory: stopping the app/);
    for (const pid of appPids) expect(isRunning(pid), `app process ${pid}`).toBe(false);
  });

  it('a checkpoint killed during its trial restore takes the trial copy with it', async () => {
    const dir = imageDir();
    const port = await freePort();
    const marker = `working-set-${process.pid}-${Date.now()}`;
    const flag = join(dir, '..', 'warmed-once');
    // the second warm-up (against the trial copy) hangs: the checkpoint is killed meanwhile
    const warmup = `${JSON.stringify(process.execPath)} ${JSON.stringify(WARMUP)} ${port} 20 && if [ -e ${flag} ]; then sleep 60; fi; touch ${flag}`;
    // not under a package manager: crac-restore would end with its parent for that reason alone
    const unset = ['npm_lifecycle_event', 'npm_config_user_agent'].flatMap((name) => ['-u', name]);
    const checkpoint = [process.execPath, paths.cli, 'checkpoint', '--to', dir, '--working-set', '--warmup', warmup, '--', node, APP];
    const run = start('/usr/bin/env', [...unset, ...checkpoint], { env: { PORT: String(port), RETAIN_MB, CRAC_TEST_MARKER: marker } });
    // the trial copy: the node process under the trial's crac-restore (by its name: the command
    // line of a process whose pages are lazy may not be readable yet)
    const comm = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      } catch {
        return '';
      }
    };
    const trialCopies = () => {
      const restorer = treeOf(run.child.pid as number).find((pid) => comm(pid) === 'crac-restore');
      return restorer === undefined ? [] : treeOf(restorer).filter((pid) => comm(pid) === 'node');
    };
    /** The warm-up's shells (the hanging one leads a process group of its own). */
    const warmups = () =>
      readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          try {
            const ours = readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker);
            return ours && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(flag) && isRunning(Number(pid));
          } catch {
            return false;
          }
        });
    // the trial's directory (the checkpoint's watch removes it)
    const trialDirs = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('crac-working-set-')));
    const before = trialDirs();
    try {
      for (let tries = 0; tries < 600 && !/crac: restore /.test(run.output()); tries++) await sleep(100);
      expect(run.output()).toMatch(/crac: restore /);
      expect(trialCopies().length, `the trial copy runs: ${run.output()}`).toBeGreaterThan(0);
      // SIGKILL to crac checkpoint itself (the node process under the harness's shell)
      const copies = trialCopies().map((pid) => ({ pid, started: processStartTime(pid) }));
      const cli = treeOf(run.child.pid as number).find((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[1]?.endsWith('cli.js'),
      );
      process.kill(cli as number, 'SIGKILL');
      const running = () => copies.filter(({ pid, started }) => isRunning(pid) && processStartTime(pid) === started);
      for (let tries = 0; tries < 150 && running().length > 0; tries++) await sleep(100);
      const statusOf = (pid: string) => {
        try {
          const status = readFileSync(`/proc/${pid}/status`, 'latin1');
          const wchan = readFileSync(`/proc/${pid}/wchan`, 'latin1');
          const stack = readFileSync(`/proc/${pid}/stack`, 'latin1').split('\n').slice(0, 6).join(' | ');
          const blocked = status.match(/SigBlk:.*|SigPnd:.*|ShdPnd:.*/g)?.join(', ');
          return `${pid}: ${status.match(/State:.*|PPid:.*|NSpid:.*/g)?.join(', ')}, wchan ${wchan}, ${blocked}, ${stack}`;
        } catch {
          return `${pid}: gone`;
        }
      };
      expect(
        running().map(({ pid }) => statusOf(String(pid))),
        'no trial copy outlives the checkpoint',
      ).toEqual([]);
      expect(JSON.parse(readFileSync(join(dir, 'crac-manifest.json'), 'utf8')).workingSet, 'the image is left without one').toBeUndefined();
      // nor the hanging warm-up (a process group of its own: the checkpoint's watch stops it)
      for (let tries = 0; tries < 100 && warmups().length > 0; tries++) await sleep(100);
      expect(
        warmups().map((pid) => statusOf(pid)),
        'no warm-up outlives the checkpoint',
      ).toEqual([]);
      const newDirs = () => [...trialDirs()].filter((name) => !before.has(name));
      for (let tries = 0; tries < 50 && newDirs().length > 0; tries++) await sleep(100);
      expect(newDirs(), 'no trial directory is left').toEqual([]);
    } finally {
      for (const name of trialDirs()) if (!before.has(name)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
      // should the test fail: no hanging warm-up left behind
      for (const pid of warmups()) {
        try {
          process.kill(-Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });

  it('--working-set without --warmup is refused before anything starts', async () => {
    const run = crac(['checkpoint', '--to', imageDir(), '--working-set', '--', node, APP], { env: { PORT: '1', RETAIN_MB } });
    expect((await run.exited).code).toBe(2);
    expect(run.output()).toMatch(/CRAC_EINVAL.*--working-set replays --warmup/);
  });
});
