import http from 'node:http';
import https from 'node:https';
import { destroy, idleSockets } from '../agents/release-agents.js';
import type { Resource } from '../types.js';

/** Where Node's fetch (undici) looks for its dispatcher, on every request. */
export const FETCH_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** The part of an undici dispatcher this resource uses. */
interface Dispatcher {
  close(): Promise<void>;
  constructor: new (options?: object) => Dispatcher;
}

/**
 * A built-in resource, registered in the global context at the first checkpoint: before it,
 * destroys the idle keep-alive sockets of `http.globalAgent` and `https.globalAgent`, and
 * retires the dispatcher of the global `fetch` (the sockets it pooled close once its running
 * requests finish) in favour of a fresh one of the same class and options. Requests made after
 * the checkpoint open new connections: nothing to do after restore.
 *
 * A dispatcher the app installed that is not an undici `Agent` (a `Pool`, a `ProxyAgent`...) is
 * left alone: its connections appear in the audit, which names `releaseAgents()`. So are the
 * `http.Agent`s the app made itself.
 */
export class KeepAliveSockets implements Resource {
  readonly name = 'keep-alive sockets (http, https, fetch)';

  async beforeCheckpoint(): Promise<void> {
    await Promise.all([...[http.globalAgent, https.globalAgent].flatMap(destroyIdle), renewFetchDispatcher()]);
  }

  afterRestore(): void {
    // Agents open connections on demand.
  }
}

function destroyIdle(agent: http.Agent | undefined): Promise<void>[] {
  return idleSockets(agent).map(destroy);
}

async function renewFetchDispatcher(): Promise<void> {
  const holder = globalThis as { [FETCH_DISPATCHER]?: Dispatcher };
  const current = holder[FETCH_DISPATCHER];
  // No dispatcher: fetch was never called. Another class: the app's own, left to it.
  if (current?.constructor?.name !== 'Agent' || typeof current.close !== 'function') return;
  holder[FETCH_DISPATCHER] = new current.constructor(optionsOf(current));
  await current.close();
}

/** The options an undici Agent was made with (kept under its `options` symbol). */
function optionsOf(dispatcher: Dispatcher): object | undefined {
  const key = Object.getOwnPropertySymbols(dispatcher).find((symbol) => symbol.description === 'options');
  const options = key ? (dispatcher as unknown as Record<symbol, unknown>)[key] : undefined;
  return options && typeof options === 'object' ? { ...options } : undefined;
}
