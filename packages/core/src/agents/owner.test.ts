import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findUnreleased } from '../audit/audit.js';
import { getGlobalContext } from '../index.js';

// Apart from release-agents.test.ts: importing npm's undici makes its Agent fetch's dispatcher
// (undici does so at import), and this file is about fetch's own.

// The first use of crac-node starts recording where sockets connect: what the audit's hints read.
getGlobalContext();

let server: http.Server;
let base: string;
/** Answers the requests to /held, which wait until then (those that arrive later too). */
let answerHeld: () => void = () => {};
let held: Promise<void>;

beforeEach(async () => {
  held = new Promise((resolve) => {
    answerHeld = resolve;
  });
  server = http.createServer((_request, response) => {
    held.then(() => response.end('held'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  answerHeld();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The audit's entries for this process's connections to the test server. */
function toServer() {
  const port = new URL(base).port;
  return findUnreleased().entries.filter((entry) => entry.kind === 'tcp-socket' && entry.description.includes(`-> 127.0.0.1:${port} `));
}

function get(agent: http.Agent, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { agent }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('the audit, on sockets of the built-in pools', () => {
  it('tells a request still running on http.globalAgent or through fetch from a pool of the app', async () => {
    const viaGlobal = get(http.globalAgent, '/held');
    const viaFetch = fetch(`${base}/held`).then((response) => response.text());
    for (let i = 0; i < 200 && toServer().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const remedies = toServer().map((entry) => entry.remedy);
    expect(remedies, JSON.stringify(toServer(), null, 1)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('a request of http(s).globalAgent still running'),
        expect.stringContaining('a fetch() still running'),
      ]),
    );
    answerHeld();
    expect(await Promise.all([viaGlobal, viaFetch])).toEqual(['held', 'held']);
  });
});
