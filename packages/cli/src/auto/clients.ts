import { AsyncLocalStorage } from 'node:async_hooks';
import { type AutoIntegration, ErrorCode } from '@crac/core/protocol';
import { claimOnce, isClaimed, onPackageLoad, ZERO_CODE_CLAIM } from '@crac/core/kit';
import { cracPool } from '@crac/generic-pool';
import { cracRedis } from '@crac/ioredis';
import { cracMysql } from '@crac/mysql2';
import { cracPg } from '@crac/pg';
import { cracTarn } from './tarn.js';

// biome-ignore lint/suspicious/noExplicitAny: a constructor of any signature, subclassed as it is
type Constructor = new (...args: any[]) => object;
type Adapt = (instance: never) => unknown;

/**
 * The clients the zero-code path knows: the package file that makes them, and how each of its
 * instances is handed to its adapter. Every one is a CommonJS package: `require` and `import`
 * both load it through the loader {@link onPackageLoad} watches.
 */
const CLIENTS: readonly { integration: AutoIntegration; watch: () => () => void }[] = [
  // pg.Pool, made by the app, drizzle-orm or anything else that loads pg (a lone pg.Client is not: it cannot reconnect)
  { integration: 'pg', watch: () => onPackageLoad('pg', 'lib/index.js', (pg) => replaceClass(pg, 'Pool', cracPg)) },
  // new Redis() and new Redis.Cluster(); the connections ioredis makes itself (a cluster's nodes) are the cluster's
  { integration: 'ioredis', watch: () => onPackageLoad('ioredis', 'built/index.js', adoptIoredis) },
  // and what its factory makes is the pool's (an ioredis client per resource, say): not adopted on its own
  { integration: 'generic-pool', watch: () => onPackageLoad('generic-pool', 'index.js', adoptGenericPools) },
  // knex's pool (tarn), of pg.Client, mysql2 connections...: what its factory makes is the pool's
  {
    integration: 'knex',
    watch: () => onPackageLoad('tarn', 'dist/Pool.js', (exports) => replaceClass(exports, 'Pool', cracTarn)),
  },
  // the pool class every mysql2 pool is (mysql2 and mysql2/promise, each node of a pool cluster)
  {
    integration: 'mysql2',
    watch: () => onPackageLoad('mysql2', 'lib/pool.js', (Pool) => adoptingSubclass(Pool as Constructor, cracMysql)),
  },
];

/**
 * Takes care of the clients `enabled` names, created from now on anywhere in the app, as their
 * adapters do: `cracPg(pool)`, `cracRedis(client)`, `cracPool(pool)`, `cracMysql(pool)` (and knex's
 * tarn pools, {@link cracTarn}), with
 * their defaults. A client the app hands to its adapter itself in the turn it creates it
 * (`cracPg(new Pool())`) is the app's: the adapter's claim makes the zero-code one a no-op.
 *
 * @returns a function that stops watching (the clients found stay taken care of).
 */
export function adoptEveryClient(enabled: ReadonlySet<AutoIntegration>): () => void {
  const stops = CLIENTS.filter((client) => enabled.has(client.integration)).map((client) => client.watch());
  return () => {
    for (const stop of stops) stop();
  };
}

/**
 * Set while a generic-pool factory makes a resource: a client made there is the pool's, which
 * its adapter (the zero-code one or the app's `cracPool()`) destroys before a checkpoint.
 */
const inPoolFactory = new AsyncLocalStorage<true>();

/**
 * Hands `instance` to its adapter after this turn of the event loop, when the app had its chance
 * to: a client the app wrapped itself (any adapter's claim on it) is left to the app, and so is a
 * client a pool's factory made.
 */
function adoptSoon(instance: object, adapt: Adapt): void {
  if (inPoolFactory.getStore()) return;
  setImmediate(() => {
    if (isClaimed(instance)) return;
    claimOnce(instance, ZERO_CODE_CLAIM, true);
    try {
      (adapt as (instance: object) => unknown)(instance);
    } catch (error) {
      process.emitWarning(`@crac/cli: a ${instance.constructor.name} is not taken care of without code: ${(error as Error).message}`, {
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
  });
}

/** A subclass of `Base` (same name, same statics) whose every instance is adopted. */
function adoptingSubclass<C extends Constructor>(Base: C, adapt: Adapt): C {
  const Adopting = class extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: the base's own signature
    constructor(...args: any[]) {
      super(...args);
      adoptSoon(this, adapt);
    }
  };
  Object.defineProperty(Adopting, 'name', { value: Base.name });
  return Adopting;
}

/** Replaces `exports[key]`, a class, with its adopting subclass. */
function replaceClass(exports: unknown, key: string, adapt: Adapt): undefined {
  const holder = exports as Record<string, Constructor>;
  holder[key] = adoptingSubclass(holder[key] as Constructor, adapt);
  return undefined;
}

type Factory = { create(...args: unknown[]): unknown };

/**
 * generic-pool's `createPool(factory, options)`: the pool it makes is adopted, and its factory's
 * `create` runs in {@link inPoolFactory}.
 */
function adoptGenericPools(exports: unknown): undefined {
  const holder = exports as { createPool: (factory: Factory, ...rest: unknown[]) => object };
  const createPool = holder.createPool;
  holder.createPool = function created(this: unknown, factory: Factory, ...rest: unknown[]) {
    // the app's factory object stays what the pool reads, create() aside
    const wrapped: Factory = Object.create(factory);
    wrapped.create = (...args: unknown[]) => inPoolFactory.run(true, () => factory.create(...args));
    const made = createPool.call(this, factory && typeof factory.create === 'function' ? wrapped : factory, ...rest);
    adoptSoon(made, cracPool);
    return made;
  };
  return undefined;
}

/**
 * ioredis: every client the app makes (`new Redis()`, `duplicate()`), seen when its constructor
 * resets its command queue, and every cluster, when it first connects. Patched in place on the
 * prototypes: ioredis's exports are the Redis class itself, and Node 20 and 22 give an ES module
 * the exports as loaded, not a replacement. The clients ioredis makes for itself (a cluster's
 * nodes, the sentinels it asks) are the cluster's or the client's: not adopted.
 */
function adoptIoredis(exports: unknown): undefined {
  const Redis = exports as Constructor & { Cluster: Constructor };
  onFirstCall(Redis.prototype, 'resetCommandQueue', (client) => {
    if (!madeByIoredis()) adoptSoon(client, cracRedis);
  });
  onFirstCall(Redis.Cluster.prototype, 'connect', (cluster) => adoptSoon(cluster, cracRedis));
  return undefined;
}

/** Calls `first(instance)` the first time `method` runs on each instance. */
function onFirstCall(prototype: object, method: string, first: (instance: object) => void): void {
  const holder = prototype as Record<string, (...args: unknown[]) => unknown>;
  const original = holder[method] as (...args: unknown[]) => unknown;
  const seen = new WeakSet<object>();
  holder[method] = function firstCall(this: object, ...args: unknown[]) {
    if (!seen.has(this)) {
      seen.add(this);
      first(this);
    }
    return original.apply(this, args);
  };
}

/** Whether the Redis client being constructed is made by ioredis itself (its cluster or sentinel code). */
function madeByIoredis(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return /[\\/]ioredis[\\/]built[\\/](cluster|connectors)[\\/]/.test(stack);
}
