/**
 * The one piece of process-wide state of @crac/core: one record, a field per module, which
 * creates it on first use (nothing happens at import time), types it and is the only one to read
 * it. The fields: `core` (global-context.ts: the global context, whether a cycle runs, this
 * thread's `Math.random`), `cycleScope` (cycle/scope.ts: the cycle the running code is in),
 * `creationSites` (audit/creation-sites.ts: where handles were opened; unset while tracking is
 * off), `handedOver` (handover/listeners.ts: the listening sockets handed over for the running
 * checkpoint), `listenHook` (http/watch-servers.ts: the one wrapper of
 * `net.Server.prototype.listen`), `loadHook` (auto/package-load.ts: the one wrapper of
 * `Module._extensions['.js']`). This file imports none of them: each module names the type of its
 * own field when it asks for the record.
 */
// Keyed on globalThis so that two copies of @crac/core in one process (ESM and CJS builds, each
// entry point's CommonJS bundle, or two versions) share one record: one context, one cycle, one
// wrapper of each Node function.
const KEY = Symbol.for('@crac/core');

/**
 * The process-wide record (per thread: each worker has its own `globalThis`), created empty on
 * first use, seen through `Fields`: the caller's own field and its type.
 */
export function processRecord<Fields extends object>(): Partial<Fields> {
  const holder = globalThis as { [KEY]?: object };
  holder[KEY] ??= {};
  return holder[KEY] as Partial<Fields>;
}
