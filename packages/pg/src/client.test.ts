import { CheckpointError, Context, checkpointRestore } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { cracPgClient } from './index.js';

const URL = process.env.CRAC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe('cracPgClient', () => {
  it('connects at the first call, ends the client before the checkpoint, and makes a new one after it', async () => {
    const context = new Context();
    const setups: pg.Client[] = [];
    const db = cracPgClient(() => new pg.Client({ connectionString: URL }), {
      context,
      setup: async (client) => {
        setups.push(client);
        await client.query(`set application_name = 'crac-client-unit'`);
      },
    });
    expect(db.client).toBeUndefined();
    expect((await db.query<{ n: number }>('select 1 as n')).rows[0]?.n).toBe(1);
    const first = db.client;
    expect(first).toBeDefined();

    let held: Promise<unknown> | undefined;
    let during: unknown = 'unset';
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: () => {
          during = db.client;
          held = db.query(`select current_setting('application_name') as n`);
        },
      }),
      context,
    });
    expect(during).toBeUndefined();
    const result = (await held) as pg.QueryResult;
    expect(result.rows[0]?.n).toBe('crac-client-unit');
    expect(db.client).not.toBe(first);
    expect(setups).toHaveLength(2);
    await db.end();
    expect(context.size).toBe(0);
  });

  it('waits for calls in flight, and refuses after timeoutMs', async () => {
    const context = new Context();
    // far above the 100 ms call (a loaded machine connects slowly), low enough to wait out below
    const db = cracPgClient(() => new pg.Client({ connectionString: URL }), { context, name: 'reports', timeoutMs: 1_000 });
    const slow = db.query('select pg_sleep(0.1)');
    await checkpointRestore({ engine: 'simulate', context });
    await slow;
    let release!: () => void;
    const stuck = db.use(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain('reports: 1 call is still in flight');
    release();
    await stuck;
    expect((await db.query('select 3 as n')).rows[0]?.n).toBe(3);
    await db.end();
  });

  it('replaces a client whose connection broke', async () => {
    const errors: Error[] = [];
    const db = cracPgClient(() => new pg.Client({ connectionString: URL }), { context: new Context(), onError: (e) => errors.push(e) });
    const pid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    const killer = new pg.Client({ connectionString: URL });
    await killer.connect();
    await killer.query('select pg_terminate_backend($1)', [pid]);
    await killer.end();
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(errors.length).toBe(1);
    expect((await db.query('select 5 as n')).rows[0]?.n).toBe(5);
    await db.end();
  });
});
