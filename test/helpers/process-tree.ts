// The processes of a restore path as the host sees them: children from /proc, every thread's.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The children of `pid` (of every thread of it); [] once it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** `pid` and all its descendants, parents first. */
export function treeOf(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i] as number));
  return tree;
}

/** The fields of /proc/PID/stat after the command name (state is [0], ppid [1], pgrp [2], tpgid [5]), or undefined. */
function statOf(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs (a zombie does not). */
export function isRunning(pid: number): boolean {
  const state = statOf(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The foreground process group of `pid`'s controlling terminal (-1: none). */
export function foregroundGroupOf(pid: number): number {
  return Number(statOf(pid)?.[5] ?? -1);
}

/** The command line of `pid` ('' once gone). */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** Waits until none of `pids` runs; resolves with those still running after `timeoutMs`. */
export async function waitUntilGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pids.filter(isRunning);
    if (running.length === 0 || Date.now() > deadline) return running;
    await sleep(50);
  }
}

/** The pid this host gives the process of `root`'s tree that its own pid namespace calls `inner` (undefined: none). */
export function hostPidOf(root: number, inner: number): number | undefined {
  return treeOf(root).find((pid) => {
    try {
      const nspid = /^NSpid:\s*(.+)$/m
        .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
        ?.trim()
        .split(/\s+/);
      return nspid !== undefined && nspid.length > 1 && Number(nspid.at(-1)) === inner;
    } catch {
      return false;
    }
  });
}
