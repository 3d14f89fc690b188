// Signals through `crac restore`: each reaches the restored app exactly once, whether sent to
// crac restore itself or to its process group (Ctrl-C on a terminal), in and out of a pid
// namespace, also while CRIU restores it; and SIGUSR1 opens no inspector anywhere.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from '@crac/tools/ports';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type Started, type StdoutKind } from './helpers/harness.js';
import { commandOf, foregroundGroupOf, treeOf } from './helpers/process-tree.js';

const APP = join(FIXTURES, 'signals-app.cjs');
const STOP_APP = join(FIXTURES, 'stop-signal-app.cjs');
const SIGNALS = ['SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM'] as const;

beforeAll(() => assertRealCriuHost());

/**
 * The `crac restore` process of a handle (the native restorer the launcher execs): the child
 * itself, or the one under the shell or `script` that runs it; its supervisor child, a copy of it
 * below it, comes later in the tree.
 */
async function cliOf(restore: Started): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const cli = treeOf(restore.child.pid as number).find((pid) => /^\S*\/crac-restore /.test(commandOf(pid)));
    if (cli) return cli;
    await sleep(20);
  }
  throw new Error(`no crac restore among the processes of ${restore.child.pid}`);
}

describe.each(NODES)('signals through crac restore on $name', ({ bin: node }) => {
  async function checkpoint(): Promise<string> {
    const dir = imageDir();
    const checkpointed = crac(['checkpoint', '--to', dir, '--warmup', 'sleep 0.3', '--', node, APP], { stdout: 'file' });
    expect(await checkpointed.exited, checkpointed.output()).toEqual({ code: 0, signal: null });
    return dir;
  }

  /** Sends each signal by `send`, one at a time, and checks the app counted each exactly once. */
  async function expectEachOnce(restore: Started, send: (signal: NodeJS.Signals) => void, label: string) {
    await restore.waitFor((e) => e.event === 'after-restore');
    for (const signal of SIGNALS) {
      send(signal);
      await restore.waitFor((e) => e.event === 'signal' && e.signal === signal);
      // room for a duplicate to arrive (through another path) before the next signal
      await sleep(300);
      if (signal === 'SIGUSR1') expect(await canConnect(9229), `${label}: SIGUSR1 opened an inspector`).toBe(false);
    }
    const exit = await restore.exited;
    expect(exit, `${label}: crac restore exits with the app's exit code\n${restore.output()}`).toEqual({ code: 0, signal: null });
    const received = restore.events().filter((e) => e.event === 'signal');
    expect(
      received.map((e) => e.signal),
      `${label}: each signal reached the app once`,
    ).toEqual([...SIGNALS]);
  }

  it('passes each signal sent to crac restore to the app exactly once, in and out of a pid namespace', async () => {
    const dir = await checkpoint();
    for (const mode of ['auto', 'never']) {
      for (const stdout of ['file', 'pipe'] satisfies StdoutKind[]) {
        const restore = crac(['restore', dir, '--pid-namespace', mode], { stdout });
        const cli = await cliOf(restore);
        await expectEachOnce(restore, (signal) => process.kill(cli, signal), `${mode}, stdout on a ${stdout}, kill PID`);
      }
    }
  });

  it("passes a signal sent to crac restore's process group (Ctrl-C) to the app exactly once", async () => {
    const dir = await checkpoint();
    for (const mode of ['auto', 'never']) {
      for (const stdout of ['file', 'tty'] satisfies StdoutKind[]) {
        const restore = crac(['restore', dir, '--pid-namespace', mode], { stdout });
        const cli = await cliOf(restore);
        // on a terminal: its foreground group, as the terminal's Ctrl-C; else crac restore's group
        const group = stdout === 'tty' ? foregroundGroupOf(cli) : cli;
        expect(group, 'the process group to signal').toBeGreaterThan(1);
        await expectEachOnce(restore, (signal) => process.kill(-group, signal), `${mode}, stdout on a ${stdout}, kill -PGID`);
      }
    }
  });

  it('ends an app without a SIGTERM listener by a SIGTERM sent as it comes back (its default action), every time', async () => {
    const dir = imageDir();
    const env = { FIXTURE_NO_HANDLER: '1' };
    const checkpointed = crac(['checkpoint', '--to', dir, '--warmup', 'sleep 0.3', '--', node, STOP_APP], { stdout: 'file', env });
    expect(await checkpointed.exited, checkpointed.output()).toEqual({ code: 0, signal: null });
    // as its cycle settles: a signal taken by Node then used to wait in libuv's pipe, dropped with the cycle's listener
    for (let i = 0; i < 6; i++) {
      const restore = crac(['restore', dir], { stdout: 'file' });
      const cli = await cliOf(restore);
      await restore.waitFor((e) => e.event === 'after-restore');
      process.kill(cli, 'SIGTERM');
      const exit = await Promise.race([restore.exited, sleep(20_000, 'still running' as const)]);
      expect(exit, `try ${i + 1}: the app ends\n${restore.output()}`).toEqual({ code: 143, signal: null });
    }
  });

  it('passes a SIGTERM sent while CRIU restores to the restored app, once it is back: nothing runs on', async () => {
    const dir = await checkpoint();
    // several times: the SIGTERM lands at some point of CRIU's restore or of the app's return from it
    for (const mode of ['auto', 'never', 'auto', 'never', 'auto']) {
      const restore = crac(['restore', dir, '--pid-namespace', mode], { stdout: 'file', env: { FIXTURE_GRACE_MS: '0' } });
      const cli = await cliOf(restore);
      // its supervisor (a copy of it) is there: CRIU is about to run, or runs
      for (let i = 0; i < 200 && treeOf(cli).filter((pid) => /^\S*\/crac-restore /.test(commandOf(pid))).length < 2; i++) await sleep(2);
      process.kill(cli, 'SIGTERM');
      const exit = await Promise.race([restore.exited, sleep(20_000, 'still running' as const)]);
      expect(exit, `${mode}: crac restore ends with the app\n${restore.output()}`).toEqual({ code: 0, signal: null });
      const events = restore.events();
      // restored, then the signal, once (not dropped as one of the original's)
      expect(
        events.filter((e) => e.event === 'signal').map((e) => e.signal),
        `${mode}\n${restore.output()}`,
      ).toEqual(['SIGTERM']);
      expect(events.findIndex((e) => e.event === 'after-restore')).toBeLessThan(events.findIndex((e) => e.event === 'signal'));
    }
  });
});
