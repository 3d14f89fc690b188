import { once } from 'node:events';
import { expectShape, suspendable, watchEnvironment } from '@crac/core/kit';
import type { Pool, PoolClient } from 'pg';
import { PG_ENV, pgSettingsFromEnv } from './env.js';
import type { CracPgOptions } from './types.js';

const TAG = '@crac/pg';

/**
 * What this adapter reads from a `pg.Pool` (pg-pool 3). Public: `connect`, `totalCount`,
 * `idleCount`, `waitingCount`, `options`, `ending`, `client.release(true)`. Internal, only with
 * `onTimeout: 'destroy'`: `_clients` and `_idle`. `pool.query()` borrows through
 * `this.connect()`, which is what lets one gate on `connect` hold both.
 */
type Connect = (callback?: unknown) => Promise<PoolClient> | undefined;

interface PoolInternals {
  connect: Connect;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  options: Record<string, unknown>;
  ending?: boolean;
  _clients?: PoolClient[];
  _idle?: { client: PoolClient }[];
}

/**
 * Registers a `pg.Pool` with the checkpoint cycle and returns it.
 *
 * Before a checkpoint, new borrowers (`pool.query()`, `pool.connect()`) wait in a queue, the
 * clients already borrowed are waited for (`timeoutMs`), then every idle connection is closed.
 * After the restore the queue goes on and the pool connects again lazily, as it does at start,
 * with `config` / `fromEnv` applied: by default, when the restoring environment changed
 * `DATABASE_URL` or a `PG*` variable, the pool follows it (an image built in CI and restored in
 * production talks to production's database). The pool is never ended. Wrapping a pool twice
 * returns it unchanged.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { cracPg } from '@crac/pg';
 *
 * const pool = cracPg(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` when `pool` is not a pg.Pool this adapter knows.
 */
export function cracPg<P extends Pool>(pool: P, options: CracPgOptions = {}): P {
  const internals = expectShape<PoolInternals>(
    pool,
    { connect: 'function', totalCount: 'number', options: 'object' },
    'cracPg() takes a pg.Pool (pg 8); for a lone pg.Client use cracPgClient()',
  );
  const connect = internals.connect;
  const environment = watchEnvironment(PG_ENV);
  const suspension = suspendable({
    target: pool,
    tag: TAG,
    options,
    defaultName: 'pg pool',
    outstanding: {
      // borrowed, and waiting for a client
      count: () => internals.totalCount - internals.idleCount + internals.waitingCount,
      what: 'client',
      hint: 'a pool.connect() without release(), or a long query',
      destroy: () => destroyBorrowed(internals),
    },
    async release({ waitForOutstanding }) {
      environment.snapshot();
      if (internals.ending) return;
      await waitForOutstanding();
      await closeIdle(internals, connect);
    },
    resume() {
      // by default, the server the restoring environment names when it names another one
      const fromEnv = options.fromEnv ?? environment.changed().length > 0;
      const settings = { ...(fromEnv ? pgSettingsFromEnv() : {}), ...(options.config?.() ?? {}) };
      for (const [key, value] of Object.entries(settings)) {
        if (value !== undefined) internals.options[key] = value;
      }
    },
  });
  if (!suspension) return pool;

  const { gate } = suspension;
  // One gate in front of every borrower: pool.query() borrows through this.connect().
  internals.connect = function gatedConnect(callback?: unknown) {
    if (gate.isOpen) return connect.call(pool, callback);
    if (typeof callback === 'function') {
      gate.run(
        () => connect.call(pool, callback),
        (error) => (callback as (error: Error) => void)(error),
      );
      return undefined;
    }
    return gate.call(() => connect.call(pool) as Promise<PoolClient>);
  };
  return pool;
}

/** Borrows every idle client through the real connect() and gives it back destroyed: only public API. */
async function closeIdle(pool: PoolInternals, connect: Connect): Promise<void> {
  while (pool.idleCount > 0) {
    const clients = await Promise.all(Array.from({ length: pool.idleCount }, () => connect.call(pool) as Promise<PoolClient>));
    await Promise.all(
      clients.map((client) => {
        const ended = once(client, 'end');
        client.release(true);
        return ended;
      }),
    );
  }
}

/** Ends the connections of the clients still borrowed; their borrowers see a closed connection. */
async function destroyBorrowed(pool: PoolInternals): Promise<void> {
  const idle = new Set((pool._idle ?? []).map((item) => item.client));
  const borrowed = (pool._clients ?? []).filter((client) => !idle.has(client));
  await Promise.all(
    borrowed.map(async (client) => {
      const internal = client as unknown as { _ending?: boolean; _ended?: boolean };
      if (internal._ended) return;
      const ended = once(client, 'end');
      // the borrower may be waiting on a query: let it see an error, not an unhandled one
      client.on('error', () => {});
      client.end().catch(() => {});
      await ended;
    }),
  );
}
