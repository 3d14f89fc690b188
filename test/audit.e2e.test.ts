import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, NODES, imageDir } from './helpers/harness.js';

const APP = join(FIXTURES, 'audit-app.cjs');
type Event = Record<string, unknown>;

/** Where the fixture opens its socket: `audit-app.cjs:LINE:COLUMN`. */
const OPENED_AT = (() => {
  const lines = readFileSync(APP, 'utf8').split('\n');
  const line = lines.findIndex((text) => text.includes('// <- opened here'));
  return `${APP}:${line + 1}:${(lines[line] ?? '').indexOf('net.connect') + 5}`;
})();

// The peers the fixture talks to live in this process: outside the checkpointed tree.
let tcpPeer: Server;
let httpPeer: http.Server;
let calls = 0;
beforeAll(async () => {
  assertRealCriuHost();
  tcpPeer = createServer((socket) => socket.on('error', () => {}));
  httpPeer = http.createServer((_request, response) => response.end(`hello ${++calls}`));
  httpPeer.keepAliveTimeout = 120_000;
  await Promise.all([tcpPeer, httpPeer].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
});
afterAll(() => {
  tcpPeer?.close();
  httpPeer?.closeAllConnections();
  httpPeer?.close();
});

const portOf = (server: Server | http.Server) => (server.address() as AddressInfo).port;

/** Checkpoints the fixture under the CLI (the io_uring guard on), then restores it. */
async function checkpointAndRestore(node: string, env: NodeJS.ProcessEnv) {
  const dir = imageDir();
  const checkpoint = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'file', env });
  const exit = await checkpoint.exited;
  expect(exit.code, checkpoint.output()).toBe(0);
  expect(checkpoint.events().find((e) => e.event === 'checkpoint-error')).toBeUndefined();
  await sleep(1_600);
  const restore = crac(['restore', dir], { stdout: 'pipe' });
  expect((await restore.exited).code, restore.output()).toBe(0);
  return { checkpoint, result: restore.events().find((e) => e.event === 'checkpoint-result') as Event, restore };
}

describe.each(NODES)('the audit, real CRIU on $name', ({ bin: node }) => {
  it('lets an idle app through: nothing of Node, libuv or crac is reported', async () => {
    const { result } = await checkpointAndRestore(node, { AUDIT_APP: 'idle' });
    expect(result).toMatchObject({ outcome: 'restored', entries: [] });
  });

  it('refuses an app holding a socket that nothing released, naming the socket and the line that opened it', async () => {
    const app = crac(['checkpoint', '--to', imageDir(), '--', node, APP], {
      stdout: 'pipe',
      env: { AUDIT_APP: 'socket', AUDIT_PEER_PORT: String(portOf(tcpPeer)) },
    });
    const error = await app.waitFor((e) => e.event === 'checkpoint-error');
    expect(error).toMatchObject({ name: 'CheckpointError', code: 'CRAC_ECHECKPOINT', socketOpen: true });
    expect(error.inner).toEqual([{ name: 'UnreleasedHandlesError', code: 'CRAC_EUNRELEASED' }]);
    const message = error.message as string;
    expect(message).toMatch(new RegExp(`TCP socket 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${portOf(tcpPeer)} \\(established\\)`));
    expect(message).toContain(`opened at ${OPENED_AT}: close it in a beforeCheckpoint hook, or set unreleased: 'close'`);
    // nothing else is reported: Node's and libuv's own descriptors are harmless
    expect(message).toMatch(/^checkpoint failed, the app keeps running: 1 open handle that/);
    expect((await app.exited).code).not.toBe(0); // the app ended without a checkpoint
  });

  it("checkpoints the same app with the 'close' policy (CRAC_UNRELEASED=close)", async () => {
    const { result } = await checkpointAndRestore(node, {
      AUDIT_APP: 'socket',
      AUDIT_PEER_PORT: String(portOf(tcpPeer)),
      CRAC_UNRELEASED: 'close',
    });
    expect(result).toMatchObject({ outcome: 'restored', socketDestroyed: true });
    expect(result.closed).toEqual([expect.stringMatching(/^TCP socket .* -> 127\.0\.0\.1:\d+ \(established\)$/)]);
  });

  it('checkpoints a warm app that used fetch and http.get with keep-alive, without extra code; both work after restore', async () => {
    const { checkpoint, result, restore } = await checkpointAndRestore(node, {
      AUDIT_APP: 'warm',
      AUDIT_PEER_PORT: String(portOf(httpPeer)),
    });
    expect(checkpoint.events().find((e) => e.event === 'warm-calls')).toMatchObject({ viaFetch: expect.stringMatching(/^hello/) });
    expect(result).toMatchObject({ outcome: 'restored', entries: [] });
    expect(restore.events().find((e) => e.event === 'restored-calls')).toMatchObject({
      viaFetch: expect.stringMatching(/^hello \d+$/),
      viaHttp: expect.stringMatching(/^hello \d+$/),
    });
  });
});
