import { loadNative } from './native.js';

/**
 * CRIU's own `Error (...)` lines of a log, without the harmless RLIMIT_NOFILE warning, each
 * without its timestamp: read by the native reader crac-restore uses for a restore's log
 * (crac.node's `criuErrorLines`). None when the log cannot be read.
 */
export function criuErrorLines(logPath: string): string[] {
  return loadNative().criuErrorLines(logPath);
}
