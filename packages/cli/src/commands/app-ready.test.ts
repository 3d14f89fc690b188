import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuTicks, listensOnTcp, waitUntilReady } from './app-ready.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A node child running `script`; resolves once it runs. */
async function child(script: string): Promise<ChildProcess> {
  const started = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  children.push(started);
  await once(started, 'spawn');
  return started;
}

describe('when the warm-up may start', () => {
  it('sees a TCP listener of a process, IPv4 or IPv6, and not before it listens or after it closes', async () => {
    expect(listensOnTcp(process.pid)).toBe(false);
    for (const host of ['127.0.0.1', '::1']) {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      expect(listensOnTcp(process.pid)).toBe(true);
      await new Promise((resolve) => server.close(resolve));
      expect(listensOnTcp(process.pid)).toBe(false);
    }
    expect(listensOnTcp(2 ** 22 + 1)).toBe(false); // no such process
    expect(cpuTicks(2 ** 22 + 1)).toBeUndefined();
  });

  it('waits for an app that computes before it listens, until it listens', async () => {
    // 400 ms of work first (modules loading), then the server
    const app = await child(
      "const end = Date.now() + 400; while (Date.now() < end); require('node:net').createServer().listen(0, '127.0.0.1');",
    );
    // a generous idle time: a loaded machine may leave the child without CPU for a while
    expect(await waitUntilReady(app.pid as number, () => false, { idleMs: 3_000 })).toBe('listening');
    expect(listensOnTcp(app.pid as number)).toBe(true);
  });

  it('starts the warm-up for an app that listens on nothing once it sits idle, and says when the app ended', async () => {
    const idle = await child('setTimeout(() => {}, 30_000);');
    expect(await waitUntilReady(idle.pid as number, () => false)).toBe('idle');
    const ended = await child('');
    await once(ended, 'exit');
    expect(await waitUntilReady(ended.pid as number, () => true)).toBe('ended');
  });

  it('gives up on an app that stays busy without listening after maxMs', async () => {
    const busy = await child('for (;;);');
    expect(await waitUntilReady(busy.pid as number, () => false, { maxMs: 500, idleMs: 5_000 })).toBe('waited');
  });
});
