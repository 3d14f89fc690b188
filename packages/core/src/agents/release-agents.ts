import { Agent as HttpAgent } from 'node:http';
import type { Socket } from 'node:net';
import { CracError, ErrorCode } from '../errors.js';
import { getGlobalContext } from '../global-context.js';
import { waitUntil } from '../kit/wait-until.js';
import type { Resource, ResourceContext, Unregister } from '../types.js';
import { isUndiciDispatcher, type UndiciClient, undiciClients } from './undici.js';

/**
 * A pool of keep-alive connections the app made itself: an `http.Agent` or `https.Agent`, or an
 * undici dispatcher (`Agent`, `Pool`, `BalancedPool`, `Client`, `ProxyAgent`), including one set
 * for `fetch` with `setGlobalDispatcher()`.
 */
export type KeepAlivePool = HttpAgent | { dispatch(...args: never[]): unknown; close(...args: never[]): unknown };

/** Options of {@link AgentSockets}. */
export interface AgentSocketsOptions {
  /**
   * How long requests in flight get to finish before the checkpoint, in ms (then the idle
   * connections close; those still busy are left, and the audit lists them). Default 10000.
   */
  timeoutMs?: number;
  /** Name in errors and diagnostics. Default `'keep-alive agents'`. */
  name?: string;
}

/** Below the pools (`Priority.CONNECTION`), with the built-in keep-alive resource: what pools close may go through an agent. */
export const AGENT_PRIORITY = -500;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A resource that, before a checkpoint, lets the requests in flight on some keep-alive pools
 * finish, then closes their idle connections; the pools stay usable and connect again at their
 * next request, in the restored process as in the original one. Nothing to do after restore.
 * {@link releaseAgents} registers one in the global context.
 */
export class AgentSockets implements Resource {
  readonly name: string;
  readonly #pools: readonly KeepAlivePool[];
  readonly #timeoutMs: number;

  /** @throws {@link CracError} `CRAC_EINVAL` when a pool is neither an http(s).Agent nor an undici dispatcher. */
  constructor(pools: readonly KeepAlivePool[], options: AgentSocketsOptions = {}) {
    for (const pool of pools) kindOf(pool);
    this.#pools = [...pools];
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.name = options.name ?? 'keep-alive agents';
  }

  async beforeCheckpoint(_context: ResourceContext, signal?: AbortSignal): Promise<void> {
    const agents = this.#pools.filter((pool): pool is HttpAgent => pool instanceof HttpAgent);
    const clients = this.#pools.filter((pool) => !(pool instanceof HttpAgent)).flatMap((pool) => undiciClients(pool) ?? []);
    await waitUntil(() => agents.every((agent) => busySockets(agent).length === 0) && clients.every((client) => client.size === 0), {
      timeoutMs: this.#timeoutMs,
      ...(signal ? { signal } : {}),
    });
    await Promise.all([...agents.flatMap((agent) => idleSockets(agent).map(destroy)), ...clients.map(closeIdle)]);
  }

  afterRestore(): void {
    // The pools connect again on demand.
  }
}

const registered = new WeakMap<object, Unregister>();

/**
 * Makes keep-alive pools the app created itself safe to checkpoint: an `http.Agent` /
 * `https.Agent` of its own, an undici `Agent`, `Pool` or `Client`, or the dispatcher it gave
 * `fetch` with `setGlobalDispatcher()`. Before a checkpoint, requests in flight on them finish
 * (up to 10 s), then their idle connections close; the pools stay usable and open new
 * connections at their next request, in the restored copy as in the original. The global agents
 * and fetch's default dispatcher need nothing: they are built in. Registers one
 * {@link AgentSockets} in the global context; a pool already registered is skipped.
 *
 * Without it, the audit refuses the checkpoint on those connections and names this helper.
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * import { Pool } from 'undici';
 * import { releaseAgents } from '@crac/core';
 *
 * const agent = new https.Agent({ keepAlive: true });
 * const api = new Pool('https://api.example.com', { connections: 8 });
 * releaseAgents(agent, api);
 * ```
 * @returns a function that unregisters them.
 * @throws {@link CracError} `CRAC_EINVAL` when a pool is neither an http(s).Agent nor an undici dispatcher.
 */
export function releaseAgents(...pools: KeepAlivePool[]): Unregister {
  const fresh = pools.filter((pool, index) => !registered.has(pool) && pools.indexOf(pool) === index);
  const resource = new AgentSockets(fresh);
  if (fresh.length === 0) return () => {};
  const unregister = getGlobalContext().register(resource, { priority: AGENT_PRIORITY });
  for (const pool of fresh) registered.set(pool, unregister);
  return () => {
    unregister();
    for (const pool of fresh) if (registered.get(pool) === unregister) registered.delete(pool);
  };
}

function kindOf(pool: unknown): 'http' | 'undici' {
  if (pool instanceof HttpAgent) return 'http';
  if (isUndiciDispatcher(pool) && undiciClients(pool) !== undefined) return 'undici';
  throw new CracError(
    ErrorCode.INVALID_ARGUMENT,
    'releaseAgents() takes http.Agent, https.Agent, or undici Agent, Pool, BalancedPool, Client or ProxyAgent objects',
  );
}

type SocketLists = Record<string, Socket[] | undefined>;

/** Sockets with a request on them (an Agent moves a socket to freeSockets when its response ends). */
function busySockets(agent: HttpAgent): Socket[] {
  return Object.values(agent.sockets as SocketLists).flatMap((list) => list ?? []);
}

/** Keep-alive sockets waiting for the next request. */
export function idleSockets(agent: HttpAgent | undefined): Socket[] {
  return Object.values((agent?.freeSockets ?? {}) as SocketLists).flatMap((list) => [...(list ?? [])]);
}

/** Destroys a socket and resolves once it is closed. */
export function destroy(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
}

function closeIdle(client: UndiciClient): Promise<void> {
  const socket = client.socket;
  return client.size === 0 && socket ? destroy(socket) : Promise.resolve();
}
