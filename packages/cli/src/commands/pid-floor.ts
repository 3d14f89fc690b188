import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The lowest pid `crac checkpoint` gives the app it starts. A restore in a container gives the
 * app back its pid and its threads' ids in the container's own pid namespace (a container's root
 * cannot create one for it), where the entrypoint (crac restore and its threads, crac-init,
 * CRIU) takes the lowest ones: a build step's app, started right after the container's first
 * processes, would find its pids taken.
 */
export const PID_FLOOR = 300;

/**
 * Makes the next process started get a pid of {@link PID_FLOOR} or more: in a fresh pid namespace
 * (a container's build step), `crac-guard --advance-pids` forks until the counter passes it (a
 * container's root may not write `ns_last_pid`). Elsewhere the counter is past it already and
 * nothing runs. Returns a warning when the counter could not be moved (the checkpoint goes on:
 * only a restore in a container needs it). `last`: the pid this pid namespace last gave.
 */
export function raisePidCounter(guard: string, last = lastPid()): string | undefined {
  if (last !== undefined && last >= PID_FLOOR) return undefined;
  const advanced = spawnSync(guard, ['--advance-pids', String(PID_FLOOR)], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (advanced.status === 0) return undefined;
  const why = advanced.stderr?.trim() || advanced.error?.message || `exit code ${advanced.status}`;
  return `the app may get a pid below ${PID_FLOOR} (${why}): a restore of its image in a container may find its pids taken`;
}

/** The pid this pid namespace last gave, or undefined when /proc does not say. */
export function lastPid(): number | undefined {
  try {
    const value = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
