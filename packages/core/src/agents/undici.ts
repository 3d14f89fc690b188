/**
 * What `releaseAgents()` and the audit read of an undici dispatcher. undici has no public way to
 * close a dispatcher's idle connections and keep it usable (`close()` and `destroy()` are for
 * good), so this reads what undici keeps under its symbols, found by their descriptions (the
 * symbols are private to each copy of undici: npm's, and the one bundled in Node for `fetch`):
 *
 * - `Agent[Symbol('clients')]`: a Map of origin to its Pool or Client (undici 6), to
 *   `{ count, dispatcher }` (undici 7 and 8), or to a WeakRef of it (undici 5);
 * - `Pool[Symbol('clients')]`, `BalancedPool[Symbol('clients')]`: an array of Pools or Clients;
 * - `ProxyAgent[Symbol('proxy agent')]`: the Agent it sends through; `EnvHttpProxyAgent`'s three
 *   (`no proxy agent`, `http proxy agent`, `https proxy agent`);
 * - `Client[Symbol('socket')]`: its connection, `Client[Symbol('size')]`: requests queued and
 *   running (0: idle);
 * - `socket[Symbol('client')]`: the Client a socket belongs to.
 *
 * Destroying an idle Client's socket is what undici itself copes with when a server closes a
 * keep-alive connection: the Client reconnects at its next request (an Agent drops the origin's
 * pool and makes a new one).
 */
import type { Socket } from 'node:net';

/** An undici Client: one connection to one origin. */
export interface UndiciClient {
  readonly socket: Socket | undefined;
  /** Requests queued and running on it. */
  readonly size: number;
}

/** Where dispatchers made of others keep them: ProxyAgent, EnvHttpProxyAgent. */
const COMPOSITE = ['proxy agent', 'no proxy agent', 'http proxy agent', 'https proxy agent'];

/** How deep dispatchers nest: a ProxyAgent holds an Agent, which holds Pools, which hold Clients. */
const MAX_DEPTH = 6;

/** The value of the symbol described `description` on `object` or its prototypes (getters included). */
function bySymbol(object: object, description: string): unknown {
  for (let target: object | null = object; target && target !== Object.prototype; target = Object.getPrototypeOf(target)) {
    const symbol = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
    if (symbol) return (object as Record<symbol, unknown>)[symbol];
  }
  return undefined;
}

/** Whether `value` looks like an undici dispatcher (Dispatcher: an EventEmitter with dispatch()). */
export function isUndiciDispatcher(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { dispatch?: unknown }).dispatch === 'function' &&
    typeof (value as { close?: unknown }).close === 'function'
  );
}

/**
 * The Clients under an undici dispatcher (itself if it is one), or undefined when nothing of it
 * is recognised (a dispatcher of another kind, or undici changed its internals).
 */
export function undiciClients(dispatcher: object, depth = 0): UndiciClient[] | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const children = bySymbol(dispatcher, 'clients');
  if (children instanceof Map || Array.isArray(children)) {
    const found: UndiciClient[] = [];
    for (const child of children instanceof Map ? children.values() : children) {
      const inner = unwrap(child);
      if (inner) found.push(...(undiciClients(inner, depth + 1) ?? []));
    }
    return found;
  }
  const inner = COMPOSITE.map((description) => bySymbol(dispatcher, description)).filter(isUndiciDispatcher);
  if (inner.length > 0) return inner.flatMap((agent) => undiciClients(agent, depth + 1) ?? []);
  const size = bySymbol(dispatcher, 'size');
  if (typeof size !== 'number') return undefined;
  return [
    {
      get socket() {
        return (bySymbol(dispatcher, 'socket') as Socket | null | undefined) ?? undefined;
      },
      get size() {
        return bySymbol(dispatcher, 'size') as number;
      },
    },
  ];
}

/** An entry of an Agent's map: the dispatcher itself, `{ dispatcher }`, or a WeakRef of it. */
function unwrap(entry: unknown): object | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  if (entry instanceof WeakRef) return entry.deref() as object | undefined;
  const inner = (entry as { dispatcher?: unknown }).dispatcher;
  return isUndiciDispatcher(inner) ? inner : entry;
}

/** Whether `socket` is a connection of some undici Client (npm's undici, or the one of `fetch`). */
export function ownedByUndici(socket: object): boolean {
  const client = bySymbol(socket, 'client');
  return typeof client === 'object' && client !== null && typeof bySymbol(client, 'size') === 'number';
}
