import { AsyncLocalStorage } from 'node:async_hooks';
import { processRecord } from '../process-record.js';
import type { EngineOutcome } from '../types.js';

/** What the code running inside a cycle can know about it. */
export interface CycleScope {
  /** Default timeout of each hook in this cycle, in ms. */
  readonly hookTimeoutMs: number;
  /** Set while a resource's hook runs: its name. */
  readonly hook?: string;
  /** Whether the checkpoint leaves the process running. */
  readonly leaveRunning?: boolean;
  /** Whether servers hand their listening sockets to a holder instead of closing them (`Engine.holdsListeners`). */
  readonly holdListeners?: boolean;
  /** Set once the engine is done, for the afterRestore hooks: what happened to the process. */
  outcome?: EngineOutcome;
}

/**
 * Lets hooks (and nested contexts) see the cycle they run in, and lets us refuse re-entry. One
 * per process, like the global context: each entry point's CommonJS bundle (and the ESM build)
 * has its own copy of this module, and a cycle run by one must be seen by the others.
 */
export const cycleScope: AsyncLocalStorage<CycleScope> = sharedScope();

function sharedScope(): AsyncLocalStorage<CycleScope> {
  const state = processRecord<{ cycleScope: AsyncLocalStorage<CycleScope> }>();
  state.cycleScope ??= new AsyncLocalStorage<CycleScope>();
  return state.cycleScope;
}

/** Used when a context is notified outside `checkpointRestore()` (a nested context). */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/**
 * In an `afterRestore` hook: whether what was held during the checkpoint (borrowers at a gate,
 * queued work) belongs to another process. True in a copy restored from a leave-running
 * checkpoint: the original process is still running with the callers of that work, and runs it;
 * every copy running it too would do it again (a duplicate INSERT, INCR...).
 */
export function heldWorkBelongsElsewhere(): boolean {
  const scope = cycleScope.getStore();
  return scope?.outcome === 'restored' && scope.leaveRunning === true;
}
