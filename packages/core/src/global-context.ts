import { trackCreationSites } from './audit/creation-sites.js';
import { Context } from './context.js';
import { createRandom, installRandom, listenForRestoreInWorker, type ReseedableRandom } from './restored/randomness.js';

/** The process-wide state: the one global context and whether a cycle is running. */
interface Core {
  readonly context: Context;
  cycleRunning: boolean;
  /** This thread's `Math.random`, reseeded in place after a restore. */
  readonly random: ReseedableRandom;
}

// Keyed on globalThis so that two copies of @crac/core in one process (ESM and CJS builds,
// or two versions) still share one context and one cycle.
const KEY = Symbol.for('@crac/core');

/**
 * Internal: the process-wide state, created on first use (a preload, an adapter, the app's own
 * register() or checkpointRestore()): nothing happens at import time.
 */
export function core(): Core {
  const holder = globalThis as { [KEY]?: Core };
  if (!holder[KEY]) {
    holder[KEY] = { context: new Context('global'), cycleRunning: false, random: createRandom() };
    startThreadServices(holder[KEY]);
  }
  return holder[KEY];
}

/**
 * What every thread that uses crac-node needs from its first use on: where handles are opened is
 * recorded (for the audit's hints, see audit/creation-sites.ts), `Math.random` is one a restore
 * can reseed, and a worker refreshes its randomness when the process is restored.
 */
function startThreadServices(state: Core): void {
  trackCreationSites();
  installRandom(state.random);
  listenForRestoreInWorker(state.random);
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
