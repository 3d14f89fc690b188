import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findUnreleased } from '../audit/audit.js';
import { FETCH_DISPATCHER, KeepAliveSockets } from './keep-alive.js';

let server: http.Server | undefined;
afterEach(() => server?.close());

async function serve(): Promise<string> {
  server = http.createServer((_request, response) => response.end('ok'));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Outgoing sockets of this process to the test server. */
function outgoing(url: string): number {
  const port = new URL(url).port;
  return findUnreleased().entries.filter((entry) => entry.kind === 'tcp-socket' && entry.description.includes(`-> 127.0.0.1:${port} `))
    .length;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('KeepAliveSockets', () => {
  it('destroys the idle sockets of http.globalAgent', async () => {
    const url = await serve();
    expect(await get(url)).toBe('ok');
    await new Promise((resolve) => setImmediate(resolve));
    expect(outgoing(url)).toBe(1);
    await new KeepAliveSockets().beforeCheckpoint();
    expect(outgoing(url)).toBe(0);
    expect(await get(url)).toBe('ok');
  });

  it('retires the fetch dispatcher for a fresh one of the same class: fetch keeps working', async () => {
    const url = await serve();
    expect(await (await fetch(url)).text()).toBe('ok');
    const before = (globalThis as Record<symbol, object>)[FETCH_DISPATCHER];
    expect(outgoing(url)).toBe(1);
    await new KeepAliveSockets().beforeCheckpoint();
    const after = (globalThis as Record<symbol, object>)[FETCH_DISPATCHER];
    expect(after).not.toBe(before);
    expect(after?.constructor).toBe(before?.constructor);
    expect(outgoing(url)).toBe(0);
    expect(await (await fetch(url)).text()).toBe('ok');
  });
});
