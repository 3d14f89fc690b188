import type { OnBorrowedTimeout, PoolAdapterOptions } from '@crac/core/kit';

/** Options of {@link cracPool}. `name` defaults to `"generic-pool"`. */
export interface CracPoolOptions extends PoolAdapterOptions {
  /**
   * Past `timeoutMs`: `'fail'` (default) refuses the checkpoint with an error naming the pool
   * and how many resources are still out (the app runs on); `'destroy'` destroys them through
   * the factory and checkpoints (their borrowers' later `release()`/`destroy()` resolve quietly).
   */
  onTimeout?: OnBorrowedTimeout;
  /**
   * Runs in `afterRestore` before the pool refills, in the restored process: change what the
   * factory reads (its settings usually come from the environment at `create()` time already).
   */
  beforeRefill?: () => void | Promise<void>;
}
