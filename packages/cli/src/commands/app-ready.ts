/**
 * When `crac checkpoint --warmup` may start the warm-up. The app is found as soon as its preload
 * listens for checkpoint requests, before the app's own code has run: an express app then spends
 * 100 ms or more loading its modules before its server listens, and a warm-up that sends its
 * first request at once is refused. So the warm-up waits until the app listens on a TCP port, or
 * has used no CPU for a while (an app that serves nothing, or waits on something before it
 * listens: the warm-up then starts as it did before), or ends.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long an app that computes without listening is waited for, by default. */
export const READY_MAX_MS = 10_000;

/** Why the wait ended. */
export type Readiness = 'listening' | 'idle' | 'waited' | 'ended';

/** The user and system CPU time process `pid` has used, in clock ticks (fields 14 and 15 of /proc/PID/stat); undefined when gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Whether process `pid` holds a TCP socket in the LISTEN state (IPv4 or IPv6). */
export function listensOnTcp(pid: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return false;
  }
  if (inodes.size === 0) return false;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    // "sl local_address rem_address st ... uid timeout inode": st 0A is LISTEN
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9] as string)) return true;
    }
  }
  return false;
}

/**
 * Resolves once app `pid` listens on a TCP port, has used no CPU for `idleMs`, has ended
 * (`ended()`), or after `maxMs` (an app that computes for long before it listens).
 */
export async function waitUntilReady(
  pid: number,
  ended: () => boolean,
  { idleMs = 200, maxMs = READY_MAX_MS, pollMs = 10 }: { idleMs?: number; maxMs?: number; pollMs?: number } = {},
): Promise<Readiness> {
  const started = Date.now();
  let ticks = cpuTicks(pid);
  let idleSince = started;
  for (;;) {
    if (ended() || ticks === undefined) return 'ended';
    if (listensOnTcp(pid)) return 'listening';
    const now = Date.now();
    if (now - idleSince >= idleMs) return 'idle';
    if (now - started >= maxMs) return 'waited';
    await sleep(pollMs);
    const current = cpuTicks(pid);
    if (current !== ticks) idleSince = Date.now();
    ticks = current;
  }
}
