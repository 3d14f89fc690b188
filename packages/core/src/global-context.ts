import { trackCreationSites } from './audit/creation-sites.js';
import { Context } from './context.js';
import { processRecord } from './process-record.js';
import { createRandom, installRandom, listenForRestoreInWorker, type ReseedableRandom } from './restored/randomness.js';

/** The global context's part of the process-wide state: the context and whether a cycle is running. */
export interface Core {
  readonly context: Context;
  cycleRunning: boolean;
  /** This thread's `Math.random`, reseeded in place after a restore. */
  readonly random: ReseedableRandom;
}

/**
 * Internal: the global context and the cycle's flag, in the process-wide record (shared by every
 * copy of @crac/core, see process-record.ts), created on first use (a preload, an adapter, the
 * app's own register() or checkpointRestore()): nothing happens at import time.
 */
export function core(): Core {
  const state = processRecord<{ core: Core }>();
  if (!state.core) {
    state.core = { context: new Context('global'), cycleRunning: false, random: createRandom() };
    startThreadServices(state.core);
  }
  return state.core;
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
