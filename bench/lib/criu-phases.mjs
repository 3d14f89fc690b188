// CRIU's own restore phases (crac restore --json's `criu`: from the timestamps of CRIU's log),
// summarized over rounds: the median of each phase and of the whole.
import { median } from '../../tools/measure.mjs';

/** The phases, in CRIU's order (lib/criu/log.c). */
export const CRIU_PHASES = ['setup', 'fork', 'mappings', 'files', 'restorer', 'memory', 'threads', 'resume'];

/** `{ total, setup, fork, ... }`: medians in ms over the runs' `criu` reports (runs without one left out); null when none had one. */
export function criuPhaseMedians(reports) {
  const seen = reports.filter((report) => report && report.phases.length > 0);
  if (seen.length === 0) return null;
  const of = (report, phase) => report.phases.find((entry) => entry.phase === phase)?.ms ?? 0;
  return {
    total: median(seen.map((report) => report.ms)),
    ...Object.fromEntries(CRIU_PHASES.map((phase) => [phase, median(seen.map((report) => of(report, phase)))])),
  };
}
