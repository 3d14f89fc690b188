// The checkpoint trigger (this process's control socket) against two requesters at once, on the
// simulated engine: one cycle at a time, and each requester told about its own request only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { getGlobalContext } from '../global-context.js';
import { connect } from 'node:net';
import { CONTROL_PROTOCOL, controlSocketPath, ensureControlDir, MAX_CONTROL_LINE, readLines } from './control-socket.js';
import { requestCheckpoint } from './trigger-client.js';
import { CheckpointTrigger } from './trigger-server.js';

const saved = { runtime: process.env.CRAC_RUNTIME_DIR, engine: process.env.CRAC_ENGINE };
let runtimeDir: string;

beforeAll(async () => {
  runtimeDir = mkdtempSync(join(tmpdir(), 'crac-trigger-server-'));
  process.env.CRAC_RUNTIME_DIR = runtimeDir;
  process.env.CRAC_ENGINE = 'simulate';
  ensureControlDir();
  await new CheckpointTrigger().start();
});

afterAll(() => {
  for (const [name, value] of [
    ['CRAC_RUNTIME_DIR', saved.runtime],
    ['CRAC_ENGINE', saved.engine],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(runtimeDir, { recursive: true, force: true });
});

describe('the checkpoint trigger', () => {
  it('refuses a second request while a cycle runs (CRAC_EBUSY), and the first one still settles', async () => {
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const inHook = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const unregister = getGlobalContext().register({
      name: 'slow',
      beforeCheckpoint: () =>
        new Promise<void>((resolve) => {
          release = resolve;
          entered();
        }),
      afterRestore: () => {},
    });
    try {
      const first = requestCheckpoint(process.pid, { leaveRunning: true, timeoutMs: 30_000 });
      await inHook;
      await expect(requestCheckpoint(process.pid, { leaveRunning: true })).rejects.toMatchObject({ code: ErrorCode.BUSY });
      release();
      await expect(first).resolves.toEqual({ outcome: 'simulated' });
    } finally {
      release();
      unregister();
    }
  });

  it('remembers the last 64 settled requests, not every one', { timeout: 60_000 }, async () => {
    const ids = Array.from({ length: 66 }, (_, i) => `request-${i}`);
    const status = (id: string) => converse({ protocol: CONTROL_PROTOCOL, command: 'status', id }).catch(() => undefined);
    for (const id of ids) {
      expect(await converse({ protocol: CONTROL_PROTOCOL, command: 'checkpoint', id, leaveRunning: true })).toEqual({
        event: 'accepted',
        id,
      });
      // the trigger closes for the dump, as the real one does: ask again until it settled
      let settled = await status(id);
      while (settled?.event !== 'settled') {
        await sleep(10);
        settled = await status(id);
      }
      expect(settled).toMatchObject({ event: 'settled', id, outcome: 'simulated' });
    }
    expect(await status('request-0')).toEqual({ event: 'unknown', id: 'request-0' });
    expect(await status('request-1')).toEqual({ event: 'unknown', id: 'request-1' });
    expect(await status('request-2')).toMatchObject({ event: 'settled' });
    expect(await status('request-65')).toMatchObject({ event: 'settled' });
  });
});

/** Sends one request line to this process's trigger; resolves with its first reply. */
function converse(request: object): Promise<{ event: string; id: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath('self'));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    readLines(socket, MAX_CONTROL_LINE, (line) => {
      const reply = JSON.parse(line) as { event: string; id: string };
      socket.destroy();
      resolve(reply);
    });
  });
}
