import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime, processState, processTree } from '@crac/core/protocol';

/** How long the processes of a tree get to end after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5_000;
const POLL_MS = 20;

/**
 * Ends process `root` (a child of this process) and every process under it: what
 * `crac checkpoint` started (npm, `sh -c`, the app, its children) does not outlive it. SIGTERM
 * to each (npm and sh do not pass signals on, so each gets its own), SIGKILL to those still there
 * after `graceMs`. A process is known by its pid and start time, so one that was reparented when
 * its parent ended is still stopped, and a reused pid is never signalled.
 */
export async function stopProcessTree(root: number, graceMs = STOP_GRACE_MS): Promise<void> {
  const members = new Map<number, string>();
  const gather = () => {
    for (const known of [root, ...members.keys()])
      for (const pid of processTree(known)) {
        const started = processStartTime(pid);
        if (started !== undefined && !members.has(pid)) members.set(pid, started);
      }
  };
  const alive = () => {
    gather();
    return [...members].filter(([pid, started]) => processStartTime(pid) === started && processState(pid) === 'alive').map(([pid]) => pid);
  };
  const signal = (pids: number[], name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // ended meanwhile
      }
    }
  };
  signal(alive(), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(POLL_MS);
  for (let rounds = 0; rounds < 50; rounds++) {
    const left = alive();
    if (left.length === 0) return;
    signal(left, 'SIGKILL');
    await sleep(POLL_MS);
  }
}
