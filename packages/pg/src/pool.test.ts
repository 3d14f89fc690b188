import { CheckpointError, Context, checkpointRestore } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { cracPg } from './index.js';

// Real pg against the machine's PostgreSQL (127.0.0.1:5432, trust), simulated checkpoints.
const URL = process.env.CRAC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pools: pg.Pool[] = [];
let seq = 0;

function newPool(config: pg.PoolConfig = {}) {
  const application_name = `crac-pg-unit-${process.pid}-${++seq}`;
  const pool = new pg.Pool({ connectionString: URL, application_name, max: 4, ...config });
  pools.push(pool);
  return { pool, application_name };
}

/** Connections the server sees for an application name (through a client of its own). */
async function serverConnections(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end().catch(() => {})));
});

describe('cracPg', () => {
  it('closes every idle connection before the checkpoint and reconnects lazily after it', async () => {
    const context = new Context();
    const { pool, application_name } = newPool();
    expect(cracPg(pool, { context })).toBe(pool);
    await Promise.all([1, 2, 3].map((n) => pool.query('select $1::int as n, pg_sleep(0.05)', [n])));
    expect(pool.totalCount).toBe(3);

    let seen: { total: number; server: number } | undefined;
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        seen = { total: pool.totalCount, server: await serverConnections(application_name) };
      },
    });
    await checkpointRestore({ engine, context });
    expect(seen).toEqual({ total: 0, server: 0 });
    expect(pool.totalCount).toBe(0); // lazily: nothing until a borrower comes
    const { rows } = await pool.query('select 41 + 1 as answer');
    expect(rows[0].answer).toBe(42);
    expect(pool.totalCount).toBe(1);
  });

  it('holds new borrowers (promise and callback style, query and connect) until the restore, then serves them', async () => {
    const context = new Context();
    const { pool } = newPool();
    cracPg(pool, { context });
    await pool.query('select 1');

    let held: Promise<unknown>[] = [];
    const settled: string[] = [];
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        const byCallback = new Promise((resolve, reject) =>
          pool.query('select 2 as n', (error: Error | undefined, result: pg.QueryResult) =>
            error ? reject(error) : resolve(result.rows[0].n),
          ),
        );
        held = [
          pool.query('select 1 as n').then((r) => r.rows[0].n),
          byCallback,
          pool.connect().then((client) => {
            client.release();
            return 'connected';
          }),
        ];
        for (const [i, promise] of held.entries()) promise.then(() => settled.push(String(i)));
        await new Promise((resolve) => setTimeout(resolve, 100));
        // nothing went through, and nothing failed
        expect(settled).toEqual([]);
        expect(pool.totalCount).toBe(0);
      },
    });
    await checkpointRestore({ engine, context });
    expect(await Promise.all(held)).toEqual([1, 2, 'connected']);
  });

  it('waits for a borrowed client to be released', async () => {
    const context = new Context();
    const { pool, application_name } = newPool();
    cracPg(pool, { context });
    const client = await pool.connect();
    setTimeout(() => client.release(), 150);
    let server = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          server = await serverConnections(application_name);
        },
      }),
      context,
    });
    expect(server).toBe(0);
  });

  it('refuses the checkpoint when a client is not released in time, naming the pool and the count; the pool works on', async () => {
    const context = new Context();
    const { pool } = newPool();
    cracPg(pool, { context, name: 'orders db', timeoutMs: 200 });
    const stuck = await pool.connect();
    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message).toContain('orders db');
    expect(message).toContain('1 client is still borrowed after 200 ms');
    expect((error as CheckpointError).errors[0].cause.code).toBe('CRAC_EBORROWED');
    // rolled back: the gate is open again
    expect((await pool.query('select 7 as n')).rows[0].n).toBe(7);
    expect((await stuck.query('select 8 as n')).rows[0].n).toBe(8);
    stuck.release();
  });

  it('with onTimeout "destroy", ends the borrowed connections and checkpoints', async () => {
    const context = new Context();
    const { pool, application_name } = newPool();
    cracPg(pool, { context, timeoutMs: 100, onTimeout: 'destroy' });
    const stuck = await pool.connect();
    let server = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          server = await serverConnections(application_name);
        },
      }),
      context,
    });
    expect(server).toBe(0);
    await expect(stuck.query('select 1')).rejects.toThrow();
    stuck.release();
    expect((await pool.query('select 9 as n')).rows[0].n).toBe(9);
  });

  it('re-reads the connection settings in afterRestore: config() and fromEnv', async () => {
    const context = new Context();
    const { pool } = newPool();
    let name = 'before';
    cracPg(pool, { context, config: () => ({ application_name: name }) });
    name = 'after-config';
    await checkpointRestore({ engine: 'simulate', context });
    expect((await pool.query(`select current_setting('application_name') as n`)).rows[0].n).toBe('after-config');

    const second = new Context();
    const { pool: envPool } = newPool();
    cracPg(envPool, { context: second, fromEnv: true });
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = `${URL}?application_name=from-env`;
    try {
      await checkpointRestore({ engine: 'simulate', context: second });
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    expect((await envPool.query(`select current_setting('application_name') as n`)).rows[0].n).toBe('from-env');
  });

  it('follows a DATABASE_URL that the restore changed, with no option; keeps its settings when the environment names nothing new', async () => {
    const context = new Context();
    const { pool } = newPool();
    cracPg(pool, { context });
    const saved = process.env.DATABASE_URL;
    const restoredWith = (url: string) =>
      createSimulateEngine({
        onCheckpoint: () => {
          process.env.DATABASE_URL = url;
        },
      });
    const appName = async () => (await pool.query(`select current_setting('application_name') as n`)).rows[0].n;
    try {
      process.env.DATABASE_URL = `${URL}?application_name=at-build`;
      await checkpointRestore({ engine: 'simulate', context });
      expect(pool.options.connectionString, 'unchanged: the pool keeps its own settings').toBe(URL);
      await checkpointRestore({ engine: restoredWith(`${URL}?application_name=elsewhere`), context });
      expect(await appName()).toBe('elsewhere');

      const pinned = newPool().pool;
      const pinnedContext = new Context();
      cracPg(pinned, { context: pinnedContext, fromEnv: false });
      await checkpointRestore({ engine: restoredWith(`${URL}?application_name=ignored`), context: pinnedContext });
      expect(pinned.options.connectionString, 'fromEnv: false').toBe(URL);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });

  it('registers a pool once however often it is wrapped, at Priority.CONNECTION', async () => {
    const context = new Context();
    const { pool } = newPool();
    cracPg(pool, { context });
    cracPg(pool, { context });
    expect(context.size).toBe(1);
    const order: string[] = [];
    context.register({ name: 'server', beforeCheckpoint: () => void order.push('server'), afterRestore: () => {} }, { priority: 100 });
    await checkpointRestore({
      engine: createSimulateEngine({ onCheckpoint: () => void order.push(`dump with ${pool.totalCount}`) }),
      context,
    });
    expect(order).toEqual(['server', 'dump with 0']);
  });

  it('relies on pool.query() borrowing through this.connect() (pg-pool internals this adapter uses)', async () => {
    const { pool } = newPool();
    let calls = 0;
    const connect = pool.connect;
    pool.connect = function (this: pg.Pool, ...args: unknown[]) {
      calls++;
      return (connect as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.connect;
    await pool.query('select 1');
    expect(calls).toBe(1);
    expect(typeof pool.totalCount + typeof pool.idleCount + typeof pool.waitingCount).toBe('numbernumbernumber');
    expect(pool.options).toMatchObject({ connectionString: URL });
    expect(Array.isArray((pool as unknown as { _clients: unknown[] })._clients)).toBe(true);
    expect(Array.isArray((pool as unknown as { _idle: unknown[] })._idle)).toBe(true);
  });

  it('leaves an ended pool alone', async () => {
    const context = new Context();
    const { pool } = newPool();
    cracPg(pool, { context });
    await pool.query('select 1');
    await pool.end();
    pools.splice(pools.indexOf(pool), 1);
    await expect(checkpointRestore({ engine: 'simulate', context })).resolves.toMatchObject({ outcome: 'simulated' });
  });

  it('refuses what is not a pg.Pool', () => {
    expect(() => cracPg({} as pg.Pool)).toThrow(/pg\.Pool/);
  });
});
