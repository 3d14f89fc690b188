import type { AsyncLocalStorage } from 'node:async_hooks';
import type { CreationRegistry } from './audit/creation-sites.js';
import type { LoadHook } from './auto/package-load.js';
import type { CycleScope } from './cycle/scope.js';
import type { Core } from './global-context.js';
import type { HandedOver } from './handover/listeners.js';
import type { ListenHook } from './http/watch-servers.js';

/**
 * The one piece of process-wide state of @crac/core. Each field belongs to one module, which
 * creates it on first use (nothing happens at import time) and is the only one to read it.
 */
export interface ProcessRecord {
  /** `global-context.ts`: the global context, whether a cycle runs, this thread's `Math.random`. */
  core?: Core;
  /** `cycle/scope.ts`: the cycle the running code is in (refuses re-entry). */
  cycleScope?: AsyncLocalStorage<CycleScope>;
  /** `audit/creation-sites.ts`: where handles were opened; unset while tracking is off. */
  creationSites?: CreationRegistry;
  /** `handover/listeners.ts`: the listening sockets handed over for the running checkpoint. */
  handedOver?: Set<HandedOver>;
  /** `http/watch-servers.ts`: the one wrapper of `net.Server.prototype.listen` and its watchers. */
  listenHook?: ListenHook;
  /** `auto/package-load.ts`: the one wrapper of `Module._extensions['.js']` and its watches. */
  loadHook?: LoadHook;
}

// Keyed on globalThis so that two copies of @crac/core in one process (ESM and CJS builds, each
// entry point's CommonJS bundle, or two versions) share one record: one context, one cycle, one
// wrapper of each Node function.
const KEY = Symbol.for('@crac/core');

/** The process-wide record (per thread: each worker has its own `globalThis`), created empty on first use. */
export function processRecord(): ProcessRecord {
  const holder = globalThis as { [KEY]?: ProcessRecord };
  holder[KEY] ??= {};
  return holder[KEY];
}
