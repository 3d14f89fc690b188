import { AsyncLocalStorage } from 'node:async_hooks';

/** What the code running inside a cycle can know about it. */
export interface CycleScope {
  /** Default timeout of each hook in this cycle, in ms. */
  readonly hookTimeoutMs: number;
  /** Set while a resource's hook runs: its name. */
  readonly hook?: string;
}

/** Lets hooks (and nested contexts) see the cycle they run in, and lets us refuse re-entry. */
export const cycleScope = new AsyncLocalStorage<CycleScope>();

/** Used when a context is notified outside `checkpointRestore()` (a nested context). */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
