import { expectShape, suspendable } from '@crac/core/kit';

/**
 * What the zero-code path reads from a tarn 3 pool (knex's: `client.pool`). Public: `acquire()`
 * (an operation whose `promise` the borrower awaits), the `num*()` counts. Internal: `free` (the
 * idle resources) and `_destroy()` (the pool's destroyer, with its events), `destroyed`.
 */
interface TarnPool {
  acquire(): { promise: Promise<unknown> };
  numUsed(): number;
  numPendingCreates(): number;
  numPendingAcquires(): number;
  free: { resource: unknown }[];
  _destroy(resource: unknown): Promise<unknown>;
  destroyed?: boolean;
}

/**
 * Takes care of a tarn pool, knex's pool of database connections (`pg.Client`s, mysql2
 * connections...), as `cracPool()` does for generic-pool: before a checkpoint new `acquire()`s
 * wait, the connections borrowed (a query, a transaction) are waited for (10 s, then the
 * checkpoint is refused with `CRAC_EBORROWED`), and the idle ones are destroyed through the pool;
 * after the restore the waiting borrowers go on, and the pool connects again as they need, with
 * the settings knex reads then. Wrapping a pool twice registers it once.
 */
export function cracTarn<P extends object>(pool: P): P {
  const internals = expectShape<TarnPool>(
    pool,
    { acquire: 'function', numUsed: 'function', numPendingCreates: 'function', _destroy: 'function', free: 'object' },
    'takes a tarn 3 pool (knex.client.pool); this object lacks acquire/numUsed/_destroy/free',
  );
  const acquire = internals.acquire;
  const suspension = suspendable({
    target: pool,
    tag: '@crac/cli:tarn',
    options: {},
    defaultName: 'knex pool (tarn)',
    outstanding: {
      // borrowed, being connected, and queued before the gate closed (they borrow as the others come back)
      count: () => internals.numUsed() + internals.numPendingCreates() + internals.numPendingAcquires(),
      what: 'connection',
      hint: 'a query or a transaction still running',
    },
    async release({ waitForOutstanding }) {
      if (internals.destroyed) return;
      await waitForOutstanding();
      await Promise.all(internals.free.splice(0).map((idle) => internals._destroy(idle.resource)));
    },
  });
  if (!suspension) return pool;
  const { gate } = suspension;
  internals.acquire = function gatedAcquire() {
    if (gate.isOpen) return acquire.call(pool);
    // the operation tarn would give, as its borrowers use it: knex awaits `pool.acquire().promise`
    return { promise: Promise.resolve(gate.call(() => acquire.call(pool).promise)) };
  };
  return pool;
}
