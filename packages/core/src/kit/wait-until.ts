import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** How often `condition` is checked, in ms. Default 10. */
  intervalMs?: number;
  /** Give up when it is aborted (a hook's signal: its timeout expired). */
  signal?: AbortSignal;
}

/**
 * Resolves `true` as soon as `condition()` returns true, or `false` once `timeoutMs` has passed
 * without it (or once `signal` is aborted). Used by adapters to wait for borrowed connections to
 * come back.
 */
export async function waitUntil(condition: () => boolean, options: WaitUntilOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 10;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline || options.signal?.aborted) return condition();
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}
