import { Context } from './context.js';

/** The process-wide state: the one global context and whether a cycle is running. */
interface Core {
  readonly context: Context;
  cycleRunning: boolean;
}

// Keyed on globalThis so that two copies of @crac/core in one process (ESM and CJS builds,
// or two versions) still share one context and one cycle.
const KEY = Symbol.for('@crac/core');

/** Internal: the process-wide state, created on first use. */
export function core(): Core {
  const holder = globalThis as { [KEY]?: Core };
  holder[KEY] ??= { context: new Context('global'), cycleRunning: false };
  return holder[KEY];
}

/**
 * The context that `checkpointRestore()` notifies by default. Adapters register here.
 *
 * @example
 * ```ts
 * getGlobalContext().register({
 *   name: 'cache warmer',
 *   beforeCheckpoint: () => warmer.stop(),
 *   afterRestore: () => warmer.start(),
 * });
 * ```
 */
export function getGlobalContext(): Context {
  return core().context;
}
