import { closeSync } from 'node:fs';
import { loadNative } from '../engine/criu/native.js';
import { performance } from 'node:perf_hooks';
import { listChildren } from './children.js';
import { classifyFd } from './classify.js';
import { recentHandles, siteOf } from './creation-sites.js';
import { toCreationSite } from './creation-site.js';
import { inodeOf, listOpenFds, watchedByEpoll } from './fd-table.js';
import { nodeHandlesByFd } from './node-handles.js';
import type { PolicyFor } from './policy.js';
import { readSocketTable } from './proc-net.js';
import type { AuditEntry, AuditReport } from './types.js';

/** What {@link findUnreleased} returns: the entries and how to close each closable one. */
export interface Findings {
  readonly supported: boolean;
  readonly entries: AuditEntry[];
  readonly closers: Map<AuditEntry, () => Promise<void>>;
}

/**
 * Lists the open handles of this process that would make the dump fail or the image unsafe:
 * every descriptor of /proc/self/fd that is not harmless, and the child processes.
 * Off Linux (no /proc), `supported` is false and nothing is listed.
 */
export function findUnreleased(): Findings {
  const closers = new Map<AuditEntry, () => Promise<void>>();
  let fds: ReturnType<typeof listOpenFds>;
  try {
    fds = listOpenFds();
  } catch {
    return { supported: false, entries: [], closers };
  }
  const pipeEnds = new Map<number, number>();
  for (const { target } of fds) {
    const inode = inodeOf(target, 'pipe');
    if (inode !== undefined) pipeEnds.set(inode, (pipeEnds.get(inode) ?? 0) + 1);
  }
  const handles = nodeHandlesByFd();
  // The tables list every socket of the network namespace: read them only when there is one to look up.
  const sockets = fds.some((open) => open.fd > 2 && open.target.startsWith('socket:')) ? readSocketTable() : new Map();
  const view = { sockets, handles, watched: watchedByEpoll(fds), pipeEnds };
  const entries: AuditEntry[] = [];
  for (const open of fds) {
    const entry = classifyFd(open, view);
    if (!entry) continue;
    entries.push(entry);
    if (!entry.closable) continue;
    const handle = handles.get(open.fd);
    closers.set(entry, handle ? () => handle.close() : async () => releaseRawFd(open.fd));
  }
  entries.push(...childEntries());
  return { supported: true, entries, closers };
}

/**
 * Releases a descriptor no Node object owns. Not close(): whoever holds it by number would write
 * into the next file that gets the number. Pointed at /dev/null instead, it keeps the number
 * (the native bridge's dup3). Without the bridge (the simulate engine off Linux), close() it is.
 */
function releaseRawFd(fd: number): void {
  let native: ReturnType<typeof loadNative> | undefined;
  try {
    native = loadNative();
  } catch {
    native = undefined;
  }
  if (native) native.neutralizeFd(fd);
  else closeSync(fd);
}

function childEntries(): AuditEntry[] {
  const spawned = new Map<number, AuditEntry['createdAt']>();
  const active = (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles?.() ?? [];
  const tracked = recentHandles();
  for (const object of active) {
    const site = siteOf(object);
    if (site) tracked.set(object, site);
  }
  for (const [object, { origin, stack }] of tracked) {
    const pid = (object as { pid?: number }).pid;
    if (origin === 'spawn' && pid !== undefined) spawned.set(pid, toCreationSite(stack));
  }
  return listChildren().map(({ pid, command }) => {
    const createdAt = spawned.get(pid);
    return {
      kind: 'child-process' as const,
      pid,
      description: `child process ${pid}: ${command}`,
      ...(createdAt ? { createdAt } : {}),
      remedy:
        "CRIU saves it with the app (the dump fails if it holds connections); stop it in a beforeCheckpoint hook, or set unreleased: { 'child-process': 'refuse' } to refuse",
      closable: false,
    };
  });
}

/**
 * Runs the audit. With `enforce`, applies the policy: closes what `close` names (then looks
 * again, to be sure), lets `ignore` through, and lists what refuses the checkpoint. With
 * `report`, nothing is closed: `closed` and `refused` list what would have been.
 */
export async function auditHandles(policyFor: PolicyFor, enforce: boolean): Promise<AuditReport> {
  const started = performance.now();
  // only a decision waits for open files to settle: a report (the simulate engine) stays instant
  const { supported, entries, closers } = enforce ? await settledFindings(policyFor) : findUnreleased();
  const closed: AuditEntry[] = [];
  const ignored: AuditEntry[] = [];
  const refused: AuditEntry[] = [];
  const toClose: AuditEntry[] = [];
  for (const entry of entries) {
    const policy = policyFor(entry.kind);
    if (policy === 'ignore') ignored.push(entry);
    else if (policy === 'close' && entry.closable) toClose.push(entry);
    else refused.push(entry);
  }
  if (enforce && toClose.length > 0) {
    for (const entry of toClose) await closers.get(entry)?.();
    await new Promise((resolve) => setImmediate(resolve));
    const stillOpen = new Set(findUnreleased().entries.map(key));
    for (const entry of toClose) (stillOpen.has(key(entry)) ? refused : closed).push(entry);
  } else {
    closed.push(...toClose); // report mode: what the policy would close
  }
  return { supported, enforced: enforce, entries, closed, ignored, refused, durationMs: performance.now() - started };
}

/** How long open files may take to close by themselves before the audit decides. */
const FILE_SETTLE_MS = 250;

/**
 * The findings, once in-flight file operations are over: a module loader still reading a file
 * (an app checkpointed in its first milliseconds) or a pending `fs.promises` call closes its
 * descriptor on its own, a few milliseconds later. Waits only while a file the policy would
 * refuse or close is open; a file the app keeps open costs the refusal that much more time.
 */
async function settledFindings(policyFor: PolicyFor): Promise<Findings> {
  const deadline = performance.now() + FILE_SETTLE_MS;
  const waitsFor = (entry: AuditEntry) => entry.kind === 'file' && policyFor('file') !== 'ignore';
  let findings = findUnreleased();
  while (findings.entries.some(waitsFor) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    findings = findUnreleased();
  }
  return findings;
}

function key(entry: AuditEntry): string {
  return `${entry.fd ?? `pid${entry.pid}`} ${entry.description}`;
}
