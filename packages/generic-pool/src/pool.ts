import { expectShape, suspendable } from '@crac/core/kit';
import type { Pool } from 'generic-pool';
import type { CracPoolOptions } from './types.js';

const TAG = '@crac/generic-pool';

/**
 * What this adapter reads from a generic-pool 3 `Pool`. Public: `acquire` (which `use()` goes
 * through), `release`, `destroy`, `clear`, `borrowed`, `pending`, `size`, `available`, `min`.
 * Internal: `_config.min` (set to 0 while checkpointing, so that nothing refills the pool) and
 * `_ensureMinimum()` (refills to `min` after the restore, as `start()` does); with
 * `onTimeout: 'destroy'`, `_resourceLoans` (which resources are out); `_factoryDestroyOperations`
 * (to wait for the factory's `destroy()` calls). Not `clear()`: it destroys the idle resources
 * but leaves them in the list of available ones, to be handed out later.
 */
interface PoolInternals<T> {
  acquire(priority?: number): Promise<T>;
  release(resource: T): Promise<void>;
  destroy(resource: T): Promise<void>;
  readonly borrowed: number;
  readonly pending: number;
  readonly size: number;
  readonly available: number;
  _config: { min: number };
  _ensureMinimum(): void;
  _draining?: boolean;
  _resourceLoans?: Map<T, unknown>;
  _factoryDestroyOperations?: Set<Promise<unknown>>;
}

/**
 * Registers a generic-pool pool with the checkpoint cycle and returns it.
 *
 * Before a checkpoint, new borrowers (`acquire()`, `use()`) wait in a queue, the resources
 * already borrowed are waited for (`timeoutMs`), then every idle resource is destroyed through
 * the factory and the pool is kept from refilling. After the restore the queue goes on and the
 * pool refills up to `min`, calling the factory in the restored process. `drain()` is never
 * called. Wrapping a pool twice returns it unchanged.
 *
 * @example
 * ```ts
 * import { createPool } from 'generic-pool';
 * import { cracPool } from '@crac/generic-pool';
 *
 * const pool = cracPool(createPool(factory, { min: 2, max: 10 }));
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` when `pool` is not a generic-pool 3 pool.
 */
export function cracPool<P extends Pool<unknown>>(pool: P, options: CracPoolOptions = {}): P {
  type T = P extends Pool<infer R> ? R : never;
  const internals = expectShape<PoolInternals<T>>(
    pool,
    { acquire: 'function', _ensureMinimum: 'function', '_config.min': 'number' },
    'cracPool() takes a pool made by generic-pool 3 (createPool()); this object lacks acquire/_ensureMinimum/_config',
  );
  const { acquire, release, destroy } = internals;
  // Resources destroyed on a timeout: their borrowers' release()/destroy() must not reject.
  const forced = new Set<T>();
  let savedMin: number | undefined;
  const suspension = suspendable({
    target: pool,
    tag: TAG,
    options,
    defaultName: 'generic-pool',
    outstanding: {
      // borrowed, waiting, and being created (counted in size)
      count: () => internals.borrowed + internals.pending + (internals.size - internals.available - internals.borrowed),
      countInError: () => internals.borrowed + internals.pending,
      what: 'resource',
      hint: 'an acquire() without release()',
      async destroy() {
        for (const borrowed of [...(internals._resourceLoans?.keys() ?? [])]) {
          forced.add(borrowed);
          await destroy.call(pool, borrowed).catch(() => {});
        }
      },
    },
    async release({ waitForOutstanding }) {
      if (internals._draining) return;
      savedMin ??= internals._config.min;
      internals._config.min = 0;
      await waitForOutstanding();
      await destroyIdle(internals, acquire, destroy);
    },
    async resume() {
      if (savedMin !== undefined) internals._config.min = savedMin;
      savedMin = undefined;
      await options.beforeRefill?.();
    },
    afterOpen() {
      if (!internals._draining) internals._ensureMinimum();
    },
  });
  if (!suspension) return pool;

  const { gate } = suspension;
  internals.acquire = (priority?: number) => Promise.resolve(gate.call(() => acquire.call(pool, priority)));
  internals.release = (resource: T) => (forced.delete(resource) ? Promise.resolve() : release.call(pool, resource));
  internals.destroy = (resource: T) => (forced.delete(resource) ? Promise.resolve() : destroy.call(pool, resource));
  return pool;
}

/**
 * Borrows every idle resource through the real acquire() and destroys it (public API), then
 * waits for the factory's destroy() calls to settle.
 */
async function destroyIdle<T>(
  pool: PoolInternals<T>,
  acquire: PoolInternals<T>['acquire'],
  destroy: PoolInternals<T>['destroy'],
): Promise<void> {
  while (pool.available > 0) {
    const idle = await Promise.all(Array.from({ length: pool.available }, () => acquire.call(pool)));
    for (const resource of idle) await destroy.call(pool, resource);
  }
  await Promise.allSettled([...(pool._factoryDestroyOperations ?? [])]);
}
