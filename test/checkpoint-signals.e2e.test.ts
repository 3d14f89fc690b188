// A stop request (SIGTERM) during a checkpoint, with real CRIU: honoured once, by the original
// process only. During the drain, or sent by the app's last hook to itself: the checkpoint is
// abandoned and the app shuts down once, through its own handler, with its exit code (the CLI does
// not stop it a second time). During the dump itself (sent from outside while CRIU holds the
// process): the original gets it once after the cycle, and a copy restored from the image, where
// the signal was pending, drops it and keeps serving.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type Started, start, testDir } from './helpers/harness.js';
import { commandOf, foregroundGroupOf, treeOf } from './helpers/process-tree.js';

const APP = join(FIXTURES, 'stop-signal-app.cjs');
const MID_DUMP = join(FIXTURES, 'signal-mid-dump.cjs');
type Event = Record<string, unknown>;

beforeAll(() => assertRealCriuHost());

function sigtermsOf(started: Started): Event[] {
  return started.events().filter((e) => e.event === 'sigterm');
}

async function getJson(port: number): Promise<{ pid: number; sigterms: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(200);
  return (await response.json()) as { pid: number; sigterms: number };
}

describe.each(NODES)('SIGTERM during a checkpoint on $name', ({ bin: node }) => {
  /** `crac checkpoint` of the fixture, after a warm-up long enough for the test to act. */
  function checkpoint(dir: string, env: NodeJS.ProcessEnv, flags: string[] = [], warmup = 'sleep 0.5'): Started {
    return crac(['checkpoint', '--to', dir, ...flags, '--warmup', warmup, '--', node, APP], { stdout: 'pipe', env });
  }

  it('during the drain: the checkpoint is abandoned, the app shuts down once with its own exit code', async () => {
    const dir = imageDir();
    const app = checkpoint(dir, { FIXTURE_STOP: 'drain' });
    const draining = await app.waitFor((e) => e.event === 'draining');
    process.kill(draining.pid as number, 'SIGTERM');

    const exit = await app.exited;
    const output = app.output();
    expect(exit.code, output).toBe(1);
    expect(output).toContain('CRAC_ESIGNAL');
    expect(output).toContain('the app stops as it was asked (exit code 7)');
    const events = app.events();
    // the hook was told to stop, the server listened again, then the app's handler ran, once
    expect(events.find((e) => e.event === 'drain-stopped')).toMatchObject({ aborted: true });
    const names = events.map((e) => e.event);
    expect(names.indexOf('after-restore')).toBeLessThan(names.indexOf('sigterm'));
    expect(sigtermsOf(app)).toEqual([expect.objectContaining({ count: 1, listening: true })]);
    expect(events.find((e) => e.event === 'exit')).toMatchObject({ code: 7, sigterms: 1 });
    expect(existsSync(join(dir, 'crac-manifest.json')), 'no image was started').toBe(false);
  });

  it('sent by the last hook to its own process: abandoned before the dump, not saved in an image', async () => {
    const dir = imageDir();
    const app = checkpoint(dir, { FIXTURE_STOP: 'self' });
    const exit = await app.exited;
    const output = app.output();
    expect(exit.code, output).toBe(1);
    expect(output).toContain('CRAC_ESIGNAL');
    expect(app.events().some((e) => e.event === 'sent-self')).toBe(true);
    expect(sigtermsOf(app)).toEqual([expect.objectContaining({ count: 1 })]);
    expect(app.events().find((e) => e.event === 'exit')).toMatchObject({ code: 7, sigterms: 1 });
    expect(existsSync(join(dir, 'crac-manifest.json')), 'no image was started').toBe(false);
  });

  it('during the drain, with no handler of its own: the default action ends the app once it is given back', async () => {
    const app = checkpoint(imageDir(), { FIXTURE_STOP: 'drain', FIXTURE_NO_HANDLER: '1' });
    const draining = await app.waitFor((e) => e.event === 'draining');
    process.kill(draining.pid as number, 'SIGTERM');
    expect((await app.exited).code, app.output()).toBe(1);
    const names = app.events().map((e) => e.event);
    expect(names.lastIndexOf('listening'), 'the server listened again (rollback) before the end').toBeGreaterThan(
      names.indexOf('draining'),
    );
    expect(app.output()).toContain('the app stops as it was asked (signal SIGTERM)');
  });

  /** Checkpoints with a SIGTERM sent from outside while CRIU holds the process; returns the app's port. */
  async function checkpointSignalledMidDump(dir: string, flags: string[]): Promise<{ app: Started; port: number }> {
    // a bigger image: CRIU holds the process longer, the signal lands well inside the dump
    // the dump starts once the sender watches
    const ready = join(testDir('crac-mid-dump-'), 'ready');
    const warmup = `for i in $(seq 600); do [ -e ${ready} ] && exit 0; sleep 0.1; done; exit 1`;
    const app = checkpoint(dir, { FIXTURE_RETAIN_MB: '192', CRAC_SHRINK: '0' }, flags, warmup);
    const started = await app.waitFor((e) => e.event === 'started');
    // real-time priority: on a busy machine it must still run in the few ms between CRIU seizing
    // the process and CRIU reading its pending signals
    const sender = start('chrt', ['--fifo', '50', process.execPath, MID_DUMP, String(started.pid), 'SIGTERM', ready]);
    expect(await sender.exited, sender.output()).toEqual({ code: 0, signal: null });
    expect(sender.events()[0]).toMatchObject({ event: 'sent' });
    return { app, port: started.port as number };
  }

  /** Restores `dir` and checks the copy dropped the image's SIGTERM, serves, and still stops on a SIGTERM of its own. */
  async function expectCopyIgnoresIt(dir: string, port: number) {
    // stdout on a file: the handle's process is crac restore itself, the one to signal
    const copy = crac(['restore', dir], { stdout: 'file' });
    const restored = await copy.waitFor((e) => e.event === 'after-restore');
    expect(restored.sigterms, 'no SIGTERM ran in the copy before its resources were back').toBe(0);
    // room for a replayed signal to arrive
    await sleep(500);
    expect(await getJson(port)).toMatchObject({ sigterms: 0 });
    expect(sigtermsOf(copy), copy.output()).toEqual([]);
    expect(copy.output(), 'the copy says what it dropped').toMatch(/CRAC_ESIGNAL.*SIGTERM reached the process being checkpointed/s);
    // its own stop request is honoured, once
    process.kill(copy.child.pid as number, 'SIGTERM');
    expect(await copy.exited, copy.output()).toEqual({ code: 7, signal: null });
    expect(sigtermsOf(copy)).toEqual([expect.objectContaining({ count: 1 })]);
  }

  it('during a leave-running dump: the original stops once after the cycle, a restored copy drops it', async () => {
    const dir = imageDir();
    const { app, port } = await checkpointSignalledMidDump(dir, ['--leave-running']);
    // left running: crac checkpoint stays its parent and exits with its exit code
    expect(await app.exited, app.output()).toEqual({ code: 7, signal: null });
    expect(app.output()).toMatch(/crac: checkpoint .* checkpointed/);
    const names = app.events().map((e) => e.event);
    expect(names.indexOf('after-restore')).toBeLessThan(names.indexOf('sigterm'));
    expect(sigtermsOf(app)).toEqual([expect.objectContaining({ count: 1, listening: true })]);
    expect(app.events().find((e) => e.event === 'exit')).toMatchObject({ code: 7, sigterms: 1 });

    await expectCopyIgnoresIt(dir, port);
  });

  it('during a dump that ends the original: the image is made, and a restored copy drops the signal', async () => {
    const dir = imageDir();
    const { app, port } = await checkpointSignalledMidDump(dir, []);
    expect(await app.exited, app.output()).toEqual({ code: 0, signal: null });
    expect(app.output()).toMatch(/crac: checkpoint .* dumped/);
    expect(sigtermsOf(app), 'CRIU ended the original before any handler ran').toEqual([]);

    await expectCopyIgnoresIt(dir, port);
  });
});

describe.each(NODES)('signals to an app running under crac checkpoint on $name', ({ bin: node }) => {
  const SIGNALS_APP = join(FIXTURES, 'signals-app.cjs');

  it("a terminal's Ctrl-C (its foreground group) reaches the app once; a signal to crac checkpoint once", async () => {
    // no warm-up: the app runs under crac checkpoint until it ends, as a dev loop does
    const app = crac(['checkpoint', '--to', imageDir(), '--', node, SIGNALS_APP], { stdout: 'tty' });
    await app.waitFor((e) => e.event === 'started');
    const cli = await cliOf(app);
    const group = foregroundGroupOf(cli);
    expect(group, 'the terminal has a foreground group').toBeGreaterThan(1);
    for (const signal of ['SIGINT', 'SIGHUP'] as const) {
      process.kill(-group, signal);
      await app.waitFor((e) => e.event === 'signal' && e.signal === signal);
      // room for a forwarded duplicate to arrive
      await sleep(300);
    }
    process.kill(cli, 'SIGUSR2');
    await app.waitFor((e) => e.event === 'signal' && e.signal === 'SIGUSR2');
    process.kill(cli, 'SIGTERM');
    await app.exited;
    const received = app.events().filter((e) => e.event === 'signal');
    expect(
      received.map((e) => e.signal),
      app.output(),
    ).toEqual(['SIGINT', 'SIGHUP', 'SIGUSR2', 'SIGTERM']);
  });
});

/** The `crac checkpoint` process under the `script` that gives it a terminal. */
async function cliOf(started: Started): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const cli = treeOf(started.child.pid as number).find((pid) => /^\S*node \S*cli\.js checkpoint /.test(commandOf(pid)));
    if (cli) return cli;
    await sleep(20);
  }
  throw new Error(`no crac checkpoint among the processes of ${started.child.pid}`);
}
