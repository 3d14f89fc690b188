import { createRequire } from 'node:module';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { checkpointRestore, getGlobalContext } from '@crac/core';
import type { AutoIntegration } from '@crac/core/protocol';
import { createSimulateEngine } from '@crac/core/testing';
import { cracPg } from '@crac/pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MariaDb, startMariaDb } from '../../../../test/helpers/mariadb.js';
import { adoptEveryClient } from './clients.js';

// The real clients against the machine's PostgreSQL and Redis and a throwaway MariaDB, loaded
// afresh after the hooks are in (as the preload has them in before the app loads anything),
// simulated checkpoints of the global context.
const PG_URL = process.env.CRAC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CRAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const require = createRequire(import.meta.url);
// test/'s dependencies: the oldest versions the adapters support, under aliases (pg-8.0...)
const requireFromTests = createRequire(new URL('../../../../test/package.json', import.meta.url));
const cleanups: (() => unknown)[] = [];
let mariadb: MariaDb;

beforeAll(async () => {
  mariadb = await startMariaDb();
}, 120_000);
afterAll(() => mariadb?.stop(), 60_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Watches for `integrations` until the test ends, then loads `request` afresh: the hooks see it load. */
// biome-ignore lint/suspicious/noExplicitAny: the real package, untyped here
function loadWatched(integrations: AutoIntegration[], request: string, packageName = request, load = require): any {
  cleanups.push(adoptEveryClient(new Set(integrations)));
  for (const file of Object.keys(require.cache)) {
    if (file.includes(`/node_modules/${packageName}/`)) delete require.cache[file];
  }
  return load(request);
}

/** A checkpoint and restore of the global context, where the zero-code path registers. */
const cycle = () => checkpointRestore({ context: getGlobalContext(), audit: 'off', engine: createSimulateEngine() });

/** What `read()` says at the moment of a checkpoint (and restore) of the global context. */
async function atCheckpoint<T>(read: () => T): Promise<T | undefined> {
  let value: T | undefined;
  await checkpointRestore({
    context: getGlobalContext(),
    audit: 'off',
    engine: createSimulateEngine({
      onCheckpoint: () => {
        value = read();
      },
    }),
  });
  return value;
}

/** The resources the adoption added, once it has run (it waits one turn of the event loop). */
async function adoptedSince(before: number): Promise<number> {
  await nextTurn();
  return getGlobalContext().size - before;
}

describe('clients taken care of without code', () => {
  it('a pg.Pool: its idle connections close before the checkpoint, queries go on after it', async () => {
    const pg = loadWatched(['pg'], 'pg');
    const before = getGlobalContext().size;
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    cleanups.push(() => pool.end());
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(pool.constructor.name).toBe('BoundPool');
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(await adoptedSince(before)).toBe(1);
    expect(pool.totalCount).toBe(1);

    expect(await atCheckpoint(() => pool.totalCount)).toBe(0);
    expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  it('a pg.Pool an ORM builds (drizzle-orm from a connection string, imported as an ES module)', async () => {
    loadWatched(['pg'], 'pg');
    const before = getGlobalContext().size;
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const db = drizzle(PG_URL);
    cleanups.push(() => db.$client.end());
    expect((await db.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(await adoptedSince(before)).toBe(1);
    expect(await atCheckpoint(() => db.$client.totalCount)).toBe(0);
    expect((await db.execute('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  it('never handles a pool the app hands to its adapter: one resource, with the app’s options', async () => {
    const pg = loadWatched(['pg'], 'pg');
    const before = getGlobalContext().size;
    const pool = cracPg(new pg.Pool({ connectionString: PG_URL }), { name: 'orders db', timeoutMs: 50 });
    cleanups.push(() => pool.end());
    expect(await adoptedSince(before)).toBe(1);
    // the app's options hold: a client kept borrowed fails the checkpoint after its 50 ms, naming it
    const client = await pool.connect();
    cleanups.push(() => client.release());
    await expect(cycle()).rejects.toThrow(/orders db: 1 client is still borrowed after 50 ms/);
  });

  it('warns an adapter called too late: the client was taken care of with the defaults, never twice', async () => {
    const pg = loadWatched(['pg'], 'pg');
    const before = getGlobalContext().size;
    const pool = new pg.Pool({ connectionString: PG_URL });
    cleanups.push(() => pool.end());
    expect(await adoptedSince(before)).toBe(1);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    expect(cracPg(pool, { name: 'late' })).toBe(pool);
    await nextTurn();
    expect(getGlobalContext().size - before).toBe(1);
    expect(warnings.map((warning) => warning.message)).toEqual([
      expect.stringMatching(/^@crac\/pg: late was taken care of without code already .*wrap it in the turn that makes it/),
    ]);
  });

  it('an ioredis client, and its duplicate: quit before the checkpoint, connected again after', async () => {
    const Redis = loadWatched(['ioredis'], 'ioredis');
    const before = getGlobalContext().size;
    const redis = new Redis(REDIS_URL);
    const duplicate = redis.duplicate();
    cleanups.push(
      () => redis.disconnect(),
      () => duplicate.disconnect(),
    );
    await redis.set('crac:zero-code', 'before');
    expect(await adoptedSince(before)).toBe(2);

    expect(await atCheckpoint(() => redis.status)).toBe('end');
    expect(await redis.get('crac:zero-code')).toBe('before');
    expect(await duplicate.get('crac:zero-code')).toBe('before');
  });

  it('a generic-pool pool: idle resources destroyed before the checkpoint, made again after', async () => {
    const { createPool } = loadWatched(['generic-pool'], 'generic-pool');
    const before = getGlobalContext().size;
    let live = 0;
    const pool = createPool({ create: async () => ({ id: ++live }), destroy: async () => void live-- }, { min: 1, max: 2 });
    cleanups.push(async () => {
      await pool.drain();
      await pool.clear();
    });
    expect(await pool.use(async (resource: { id: number }) => resource.id)).toBeGreaterThan(0);
    expect(await adoptedSince(before)).toBe(1);

    expect(await atCheckpoint(() => live)).toBe(0);
    expect(await pool.use(async (resource: { id: number }) => resource.id)).toBeGreaterThan(0);
  });

  it("an ioredis cluster is one client: the connections ioredis makes to its nodes are the cluster's", async () => {
    const Redis = loadWatched(['ioredis'], 'ioredis');
    const before = getGlobalContext().size;
    // nobody listens there: ioredis still makes a client per startup node, which is what matters here
    const cluster = new Redis.Cluster(
      [
        { host: '127.0.0.1', port: 1 },
        { host: '127.0.0.1', port: 2 },
      ],
      { clusterRetryStrategy: () => null },
    );
    cluster.on('error', () => {});
    cleanups.push(() => cluster.disconnect());
    // the clients of its nodes, made by its connection pool (each would be adopted one turn later)
    let nodes = 0;
    await new Promise<void>((resolve) => {
      cluster.connectionPool.on('+node', () => {
        if (++nodes === 2) resolve();
      });
    });
    expect(await adoptedSince(before)).toBe(1);
  });

  it('a generic-pool of ioredis clients: the pool lets go of them, no client is handled on its own', async () => {
    loadWatched(['ioredis'], 'ioredis');
    const Redis = require('ioredis');
    const { createPool } = loadWatched(['generic-pool'], 'generic-pool');
    const before = getGlobalContext().size;
    const pool = createPool(
      { create: async () => new Redis(REDIS_URL), destroy: async (client: { quit(): Promise<unknown> }) => void (await client.quit()) },
      { min: 2, max: 2 },
    );
    cleanups.push(async () => {
      await pool.drain();
      await pool.clear();
    });
    expect(await pool.use(async (client: { ping(): Promise<string> }) => client.ping())).toBe('PONG');
    expect(pool.size).toBe(2);
    expect(await adoptedSince(before)).toBe(1);
    await cycle();
    expect(await pool.use(async (client: { ping(): Promise<string> }) => client.ping())).toBe('PONG');
  });

  it('knex over pg: its pool (tarn) of pg.Client closes its idle connections before the checkpoint, waits for a transaction', async () => {
    loadWatched(['knex'], 'tarn');
    const before = getGlobalContext().size;
    const { default: knex } = await import('knex');
    const db = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 2 } });
    cleanups.push(() => db.destroy());
    expect((await db.raw('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(await adoptedSince(before)).toBe(1);
    const pool = db.client.pool;
    expect(pool.numFree()).toBe(1);
    // a transaction running when the checkpoint starts is waited for; a query sent meanwhile waits
    let committed = false;
    const transaction = db.transaction(async (trx) => {
      await trx.raw('SELECT pg_sleep(0.2)');
      committed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cycle = atCheckpoint(() => [committed, pool.numFree() + pool.numUsed()]);
    await new Promise((resolve) => setImmediate(resolve));
    const meanwhile = db.raw('SELECT 2 AS two');
    expect(await cycle).toEqual([true, 0]);
    await transaction;
    expect((await meanwhile).rows).toEqual([{ two: 2 }]);
  });

  it('a mysql2 pool (made with mysql2/promise): its connections closed before the checkpoint, opened again after', async () => {
    const mysql = loadWatched(['mysql2'], 'mysql2/promise', 'mysql2');
    const before = getGlobalContext().size;
    const pool = mysql.createPool({ uri: mariadb.url, connectionLimit: 2 });
    cleanups.push(() => pool.end());
    const [rows] = await pool.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(await adoptedSince(before)).toBe(1);

    expect(await atCheckpoint(() => pool.pool._allConnections.length)).toBe(0);
    const [again] = await pool.query('SELECT 2 AS two');
    expect(again).toEqual([{ two: 2 }]);
  });

  it('finds the oldest versions the adapters support too: pg 8.0, ioredis 5.0, generic-pool 3.0', async () => {
    const pg = loadWatched(['pg'], 'pg-8.0', 'pg', requireFromTests);
    const Redis = loadWatched(['ioredis'], 'ioredis-5.0', 'ioredis', requireFromTests);
    const { createPool } = loadWatched(['generic-pool'], 'generic-pool-3.0', 'generic-pool', requireFromTests);
    const before = getGlobalContext().size;
    const pool = new pg.Pool({ connectionString: PG_URL });
    const redis = new Redis(REDIS_URL);
    const generic = createPool({ create: async () => ({}), destroy: async () => {} }, { min: 0, max: 1 });
    cleanups.push(
      () => pool.end(),
      () => redis.disconnect(),
      async () => {
        await generic.drain();
        await generic.clear();
      },
    );
    expect(await adoptedSince(before)).toBe(3);
    await pool.query('SELECT 1');
    await redis.ping();
    expect(await atCheckpoint(() => [pool.totalCount, redis.status])).toEqual([0, 'end']);
    expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    expect(await redis.ping()).toBe('PONG');
  });

  it('leaves alone what CRAC_AUTO leaves out', async () => {
    const pg = loadWatched(['servers', 'ioredis'], 'pg');
    const before = getGlobalContext().size;
    const pool = new pg.Pool({ connectionString: PG_URL });
    cleanups.push(() => pool.end());
    await pool.query('SELECT 1');
    expect(await adoptedSince(before)).toBe(0);
  });
});
