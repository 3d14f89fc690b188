import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES } from './helpers/harness.js';

// Keep-alive pools an app made itself (an http.Agent, an undici Pool), with idle connections
// to a service in another process (this test's server) when the app checkpoints itself: the
// audit refuses the checkpoint and names releaseAgents(); with it, the checkpoint goes through
// and the restored copy calls the service again on new connections.
const APP = join(FIXTURES, 'agents-app.cjs');
type Event = Record<string, unknown>;

/** The upstream: answers each request with the number of the connection it came on. */
let upstream: Server;
let url: string;
let connections = 0;
beforeAll(async () => {
  assertRealCriuHost();
  upstream = createServer((request, response) => {
    const socket = request.socket as Socket & { number?: number };
    socket.number ??= ++connections;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ connection: socket.number }));
  });
  upstream.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

const find = (events: Event[], name: string) => events.find((e) => e.event === name) as Event | undefined;

// undici 6 and 7, the two majors in use (Node 20 and 22 bundle undici 6 for fetch, Node 24 undici 7).
const CASES = NODES.flatMap((node) => ['undici6', 'undici'].map((undici) => ({ node, undici })));

describe.each(CASES)('keep-alive pools of the app on $node.name with $undici', ({ node: { bin: node }, undici }) => {
  it('refuses the checkpoint while its own http.Agent and undici Pool hold idle connections, naming releaseAgents(); the app keeps working', async () => {
    const app = crac(['checkpoint', '--to', imageDir(), '--', node, APP], {
      stdout: 'pipe',
      env: { UPSTREAM_URL: url, FIXTURE_UNDICI_MODULE: undici },
    });
    await app.exited;
    const events = app.events();
    expect(find(events, 'warm'), app.output()).toMatchObject({ idle: 3 });
    const error = find(events, 'checkpoint-error');
    expect(error, app.output()).toMatchObject({ code: 'CRAC_ECHECKPOINT' });
    const refusal = String(error?.refusal);
    const port = new URL(url).port;
    // the six idle connections, each named with the helper that releases its pool
    expect(refusal.match(new RegExp(`-> 127\\.0\\.0\\.1:${port} \\(established\\)`, 'g'))).toHaveLength(6);
    expect(refusal.match(/the http\.Agent \/ https\.Agent that pooled it to releaseAgents\(\) from @crac\/core/g)).toHaveLength(3);
    expect(refusal.match(/the undici dispatcher that pooled it .* to releaseAgents\(\) from @crac\/core/g)).toHaveLength(3);
    expect(refusal).toContain('agents-app.cjs'); // where each was opened
    // the app runs on, on the connections it had
    const sorted = (numbers: unknown) => [...(numbers as number[])].sort((a, b) => a - b);
    expect(sorted(find(events, 'after')?.connections), app.output()).toEqual(sorted(find(events, 'warm')?.connections));
  });

  it('checkpoints with releaseAgents(agent, pool), and the restored copy calls the service through both on new connections', async () => {
    const dir = imageDir();
    const env = { UPSTREAM_URL: url, FIXTURE_UNDICI_MODULE: undici, FIXTURE_RELEASE_AGENTS: '1' };
    const checkpoint = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'pipe', env });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
    const warm = find(checkpoint.events(), 'warm')?.connections as number[];
    expect(warm, checkpoint.output()).toHaveLength(6);

    const restore = crac(['restore', dir], { stdout: 'pipe', env });
    expect((await restore.exited).code, restore.output()).toBe(0);
    const after = find(restore.events(), 'after');
    expect(after, restore.output()).toMatchObject({ outcome: 'restored' });
    const again = after?.connections as number[];
    expect(again).toHaveLength(6);
    // every request after the restore came on a connection opened after the checkpoint
    for (const connection of again) expect(connection).toBeGreaterThan(Math.max(...warm));
  });
});
