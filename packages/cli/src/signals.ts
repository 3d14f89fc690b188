import type { ChildProcess } from 'node:child_process';

/**
 * What a terminal or a supervisor sends that the app, not `crac`, should handle: the set crac-init
 * forwards too (`forwarded[]` in packages/core/native/src/init.c). SIGUSR1 is the app's as well:
 * listening for it also keeps Node from opening an inspector in this process.
 */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Passes the signals this process receives on to `child`; returns the function that stops it. */
export function forwardSignals(child: ChildProcess): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => child.kill(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
