import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici7 from 'undici';
import * as undici6 from 'undici6';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findUnreleased } from '../audit/audit.js';
import { CheckpointError, checkpointRestore, Context, ErrorCode, getGlobalContext, UnreleasedHandlesError } from '../index.js';
import { AgentSockets, releaseAgents } from './release-agents.js';

// The first use of crac-node starts recording where sockets connect: what the audit's hints read.
getGlobalContext();

let server: http.Server;
let base: string;
/** How long /slow takes to answer, in ms. */
const SLOW_MS = 200;
/** Answers the requests to /held, which wait until then (those that arrive later too). */
let answerHeld: () => void = () => {};
let held: Promise<void>;
const cleanups: (() => unknown)[] = [];

beforeEach(async () => {
  held = new Promise((resolve) => {
    answerHeld = resolve;
  });
  server = http.createServer((request, response) => {
    if (request.url === '/slow') setTimeout(() => response.end('slow'), SLOW_MS);
    else if (request.url === '/held') {
      held.then(() => response.end('held'));
    } else response.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  answerHeld();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
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

/** The undici versions the helper reads the internals of: 6 (Node 20's own) and 7 (Node 22 and 24's). */
const UNDICI = [
  { name: 'undici 6', lib: undici6 as unknown as typeof undici7 },
  { name: 'undici 7', lib: undici7 },
];
type Dispatcher = undici7.Dispatcher;

async function undiciGet(dispatcher: Dispatcher, path = '/'): Promise<string> {
  const response = await dispatcher.request({ origin: base, path, method: 'GET' });
  return response.body.text();
}

function ownAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  cleanups.push(() => agent.destroy());
  return agent;
}
function ownPool(lib: typeof undici7 = undici7): undici7.Pool {
  const pool = new lib.Pool(base, { connections: 4 });
  cleanups.push(() => pool.destroy());
  return pool;
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the audit, on keep-alive pools the app made', () => {
  it('names releaseAgents() for an idle socket of an http.Agent of its own', async () => {
    const agent = ownAgent();
    expect(await get(agent)).toBe('ok');
    await settle();
    const [entry] = toServer();
    expect(entry?.remedy).toContain('http.Agent / https.Agent that pooled it to releaseAgents() from @crac/core');
    expect(entry?.remedy).not.toContain('beforeCheckpoint hook');
  });

  it.each(UNDICI)(
    'names releaseAgents() for a connection of an undici Pool, and refuses the checkpoint with it ($name)',
    async ({ lib }) => {
      const pool = ownPool(lib);
      expect(await undiciGet(pool)).toBe('ok');
      const [entry] = toServer();
      expect(entry?.remedy).toContain('undici dispatcher that pooled it (Agent, Pool, Client, or the one given to setGlobalDispatcher())');
      expect(entry?.remedy).toContain('releaseAgents() from @crac/core');

      const error = await checkpointRestore({
        engine: 'simulate',
        context: new Context(),
        audit: 'enforce',
        unreleased: { default: 'ignore', 'tcp-socket': 'refuse' },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      const refusal = (error as CheckpointError).errors[0];
      expect(refusal).toBeInstanceOf(UnreleasedHandlesError);
      expect((refusal as Error).message).toMatch(
        /-> 127\.0\.0\.1:\d+ \(established\), opened at .*release-agents\.test\.ts:\d+:\d+: pass the undici dispatcher/,
      );
    },
  );
});

describe('AgentSockets', () => {
  it('closes the idle sockets of an http.Agent; the agent connects again at its next request', async () => {
    const agent = ownAgent();
    await Promise.all([get(agent), get(agent)]);
    await settle();
    expect(toServer()).toHaveLength(2);
    const context = new Context();
    context.register(new AgentSockets([agent]));
    const result = await checkpointRestore({ engine: 'simulate', context });
    expect(result.audit?.entries.filter((e) => e.description.includes(`-> 127.0.0.1:${new URL(base).port} `))).toEqual([]);
    expect(toServer()).toHaveLength(0);
    expect(await get(agent)).toBe('ok');
    await settle();
    expect(toServer()).toHaveLength(1);
  });

  it('lets a request in flight on an http.Agent finish first, then closes its socket', async () => {
    const agent = ownAgent();
    const slow = get(agent, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await new AgentSockets([agent]).beforeCheckpoint(new Context(), new AbortController().signal);
    expect(await slow).toBe('slow');
    expect(toServer()).toHaveLength(0);
  });

  it.each(UNDICI)('closes the idle connections of an undici Pool, Client and Agent, which stay usable ($name)', async ({ lib }) => {
    const pool = ownPool(lib);
    const client = new lib.Client(base);
    const agent = new lib.Agent();
    cleanups.push(
      () => client.destroy(),
      () => agent.destroy(),
    );
    await Promise.all([undiciGet(pool), undiciGet(pool), undiciGet(client), undiciGet(agent)]);
    expect(toServer()).toHaveLength(4);
    await new AgentSockets([pool, client, agent]).beforeCheckpoint(new Context(), new AbortController().signal);
    expect(toServer()).toHaveLength(0);
    expect(await Promise.all([undiciGet(pool), undiciGet(client), undiciGet(agent)])).toEqual(['ok', 'ok', 'ok']);
    expect(toServer()).toHaveLength(3);
  });

  it.each(UNDICI)('waits for a request in flight on an undici Pool, then closes its connection ($name)', async ({ lib }) => {
    const pool = ownPool(lib);
    const slow = undiciGet(pool, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await new AgentSockets([pool]).beforeCheckpoint(new Context(), new AbortController().signal);
    expect(await slow).toBe('slow');
    expect(toServer()).toHaveLength(0);
  });

  it.each(UNDICI)('leaves a request that outlasts timeoutMs running, and its connection to the audit ($name)', async ({ lib }) => {
    const pool = ownPool(lib);
    const held = undiciGet(pool, '/held');
    await new AgentSockets([pool], { timeoutMs: 20 }).beforeCheckpoint(new Context(), new AbortController().signal);
    answerHeld();
    expect(await held).toBe('held');
    expect(toServer()).toHaveLength(1); // not closed under its request: kept for the next one
  });

  it.each(UNDICI)('closes the idle connections of the dispatcher given to fetch with setGlobalDispatcher() ($name)', async ({ lib }) => {
    const previous = lib.getGlobalDispatcher();
    const dispatcher = new lib.EnvHttpProxyAgent({ noProxy: '127.0.0.1' });
    lib.setGlobalDispatcher(dispatcher);
    cleanups.push(
      () => lib.setGlobalDispatcher(previous),
      () => dispatcher.destroy(),
    );
    const fetchText = async () => (await fetch(`${base}/`)).text();
    expect(await Promise.all([fetchText(), fetchText()])).toEqual(['ok', 'ok']);
    expect(toServer()).toHaveLength(2);
    await new AgentSockets([lib.getGlobalDispatcher()]).beforeCheckpoint(new Context(), new AbortController().signal);
    expect(toServer()).toHaveLength(0);
    expect(await fetchText()).toBe('ok');
  });

  it('refuses what is neither an http.Agent nor an undici dispatcher', () => {
    expect(() => new AgentSockets([{} as http.Agent])).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    // its agent is a private field: nothing to reach the connections by
    const retry = new undici7.RetryAgent(new undici7.Agent());
    cleanups.push(() => retry.destroy());
    expect(() => releaseAgents(retry)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});

describe('releaseAgents', () => {
  it('registers the pools in the global context once, and unregisters them', async () => {
    const agent = ownAgent();
    const pool = ownPool();
    const before = getGlobalContext().size;
    const unregister = releaseAgents(agent, pool);
    expect(getGlobalContext().size).toBe(before + 1);
    releaseAgents(agent); // already registered: nothing more
    expect(getGlobalContext().size).toBe(before + 1);
    unregister();
    expect(getGlobalContext().size).toBe(before);
  });
});
