import type { Context } from '@crac/core';

/** Options of {@link cracPool}. */
export interface CracPoolOptions {
  /** Name shown in errors and diagnostics. Default `"generic-pool"`. */
  name?: string;
  /** How long `beforeCheckpoint` waits for borrowed resources to be released, in ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Past `timeoutMs`: `'fail'` (default) refuses the checkpoint with an error naming the pool
   * and how many resources are still out (the app runs on); `'destroy'` destroys them through
   * the factory and checkpoints (their borrowers' later `release()`/`destroy()` resolve quietly).
   */
  onTimeout?: 'fail' | 'destroy';
  /**
   * Runs in `afterRestore` before the pool refills, in the restored process: change what the
   * factory reads (its settings usually come from the environment at `create()` time already).
   */
  beforeRefill?: () => void | Promise<void>;
  /** The context to register in. Default: the global context. */
  context?: Context;
}
