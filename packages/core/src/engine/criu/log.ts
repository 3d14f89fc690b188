import { type CriuRestorePhases, loadNative } from './native.js';

export type { CriuRestorePhases };

/**
 * CRIU's own `Error (...)` lines of a log, without the harmless RLIMIT_NOFILE warning, each
 * without its timestamp: read by the native reader crac-restore uses for a restore's log
 * (crac.node's `criuErrorLines`). None when the log cannot be read.
 */
export function criuErrorLines(logPath: string): string[] {
  return loadNative().criuErrorLines(logPath);
}

/**
 * The phases of a CRIU restore, from the timestamps of the lines that begin each in its log (-v4):
 * setup (the kernel probe, the process tree), fork (tasks, namespaces), mappings (VMAs read and
 * premapped), files, restorer (its blob prepared), memory (mappings put in place, pages read
 * in), threads, resume. The native reader crac-restore's --json uses; `{ ms: 0, phases: [] }`
 * when the log cannot be read.
 *
 * @example
 * ```ts
 * const { ms, phases } = criuRestorePhases('/tmp/work/restore.log');
 * console.log(`CRIU ${ms} ms: ${phases.map((p) => `${p.phase} ${p.ms.toFixed(1)}`).join(', ')}`);
 * ```
 */
export function criuRestorePhases(logPath: string): CriuRestorePhases {
  return loadNative().criuRestorePhases(logPath);
}
