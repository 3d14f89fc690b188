import { CheckpointError, Context, checkpointRestore } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import { createPool, type Pool } from 'generic-pool';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { cracPool } from './index.js';

// A real generic-pool of real pg clients against the machine's PostgreSQL (127.0.0.1:5432).
const URL = process.env.CRAC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pools: Pool<pg.Client>[] = [];

function newPool(options: { min?: number; max?: number } = {}) {
  const created: pg.Client[] = [];
  const destroyed: pg.Client[] = [];
  const pool = createPool<pg.Client>(
    {
      async create() {
        const client = new pg.Client({ connectionString: URL });
        await client.connect();
        created.push(client);
        return client;
      },
      async destroy(client) {
        destroyed.push(client);
        await client.end();
      },
    },
    { min: 0, max: 4, ...options },
  );
  pools.push(pool);
  const live = () => created.filter((client) => !destroyed.includes(client)).length;
  return { pool, created, destroyed, live };
}

afterEach(async () => {
  for (const pool of pools.splice(0)) {
    await pool.drain();
    await pool.clear();
  }
});

describe('cracPool', () => {
  it('destroys idle resources before the checkpoint and refills to min after it', async () => {
    const context = new Context();
    const { pool, live } = newPool({ min: 2 });
    expect(cracPool(pool, { context })).toBe(pool);
    await pool.ready();
    await Promise.all([1, 2, 3].map(() => pool.use((client) => client.query('select pg_sleep(0.05)'))));
    expect(live()).toBe(3);

    let during = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: () => {
          during = live();
        },
      }),
      context,
    });
    expect(during).toBe(0);
    await pool.ready();
    expect(pool.size).toBe(2);
    expect((await pool.use((client) => client.query('select 4 as n'))).rows[0].n).toBe(4);
  });

  it('holds acquire() and use() until the restore, then serves them', async () => {
    const context = new Context();
    const { pool, live } = newPool();
    cracPool(pool, { context });
    let held: Promise<unknown>[] = [];
    const settled: number[] = [];
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          held = [
            pool.use((client) => client.query('select 1 as n')).then((r) => r.rows[0].n),
            pool.acquire().then(async (client) => {
              const { rows } = await client.query('select 2 as n');
              await pool.release(client);
              return rows[0].n;
            }),
          ];
          for (const [i, p] of held.entries()) p.then(() => settled.push(i));
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(settled).toEqual([]);
          expect(live()).toBe(0);
        },
      }),
      context,
    });
    expect(await Promise.all(held)).toEqual([1, 2]);
  });

  it('waits for a borrowed resource to be released', async () => {
    const context = new Context();
    const { pool, live } = newPool();
    cracPool(pool, { context });
    const client = await pool.acquire();
    setTimeout(() => void pool.release(client), 150);
    let during = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: () => {
          during = live();
        },
      }),
      context,
    });
    expect(during).toBe(0);
  });

  it('refuses when a resource is not released in time, naming the pool and the count; the pool works on', async () => {
    const context = new Context();
    const { pool } = newPool({ min: 1 });
    cracPool(pool, { context, name: 'jobs pool', timeoutMs: 200 });
    const stuck = await pool.acquire();
    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain('jobs pool: 1 resource is still borrowed after 200 ms');
    expect((error as CheckpointError).errors[0].cause.code).toBe('CRAC_EBORROWED');
    expect(pool.min).toBe(1); // min given back on rollback
    expect((await pool.use((client) => client.query('select 6 as n'))).rows[0].n).toBe(6);
    await pool.release(stuck);
  });

  it('with onTimeout "destroy", destroys the borrowed resources; their release() resolves quietly', async () => {
    const context = new Context();
    const { pool, live } = newPool();
    cracPool(pool, { context, timeoutMs: 100, onTimeout: 'destroy' });
    const stuck = await pool.acquire();
    let during = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: () => {
          during = live();
        },
      }),
      context,
    });
    expect(during).toBe(0);
    await expect(pool.release(stuck)).resolves.toBeUndefined();
    expect((await pool.use((client) => client.query('select 1 as n'))).rows[0].n).toBe(1);
  });

  it('does not refill while checkpointing, even with min > 0 (generic-pool internals this adapter uses)', async () => {
    const context = new Context();
    const { pool, created } = newPool({ min: 2 });
    const internals = pool as unknown as { _config: { min: number }; _ensureMinimum: () => void; _resourceLoans: Map<unknown, unknown> };
    expect(typeof internals._config.min).toBe('number');
    expect(typeof internals._ensureMinimum).toBe('function');
    expect(internals._resourceLoans).toBeInstanceOf(Map);
    cracPool(pool, { context });
    cracPool(pool, { context });
    expect(context.size).toBe(1);
    await pool.ready();
    let createdDuring = 0;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          const before = created.length;
          await new Promise((resolve) => setTimeout(resolve, 100));
          createdDuring = created.length - before;
          expect(pool.size).toBe(0);
        },
      }),
      context,
    });
    expect(createdDuring).toBe(0);
    await pool.ready();
    expect(pool.size).toBe(2);
  });

  it('refuses what is not a generic-pool pool', () => {
    expect(() => cracPool({} as Pool<unknown>)).toThrow(/generic-pool 3/);
  });
});
