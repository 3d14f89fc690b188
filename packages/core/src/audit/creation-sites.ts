/**
 * Where each handle was opened: a stack captured when a socket connects, a server listens, a
 * child process is spawned or a file is opened, for the audit to say where a forgotten handle
 * comes from.
 *
 * Cheap enough to leave on: `Error.captureStackTrace` records the frames and V8 formats them only
 * if the audit reads them. About 3-4 µs per open (creation-sites.bench.mjs beside this file; the
 * figures are in the README). The records are process-wide (in the one record on `globalThis`,
 * process-record.ts, so two copies of @crac/core share them and wrap once) and bounded: handles
 * are held weakly (a WeakMap, and a ring of the last {@link RECENT_HANDLES} WeakRefs); the
 * descriptor records of `fs.open` go on `fs.close` and are capped at {@link MAX_FD_RECORDS}.
 *
 * Set `CRAC_TRACK_CREATION=0` to leave Node's modules untouched (the audit then says where
 * nothing comes from).
 */
import { ChildProcess } from 'node:child_process';
import fs, { type PathLike, realpathSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import * as net from 'node:net';
import { resolve } from 'node:path';
import { processRecord } from '../process-record.js';

/** A captured, not yet formatted stack (V8 formats `stack` on first read). */
export interface StackHolder {
  readonly stack?: string;
}

/** How a tracked handle came to be. */
export type Origin = 'connect' | 'listen' | 'accepted' | 'spawn';

/** A live handle opened while tracking was on. */
export interface TrackedHandle {
  readonly origin: Origin;
  readonly stack: StackHolder;
}

interface FdRecord {
  readonly path: string;
  readonly stack: StackHolder;
}

/** The process-wide records of where handles were opened. */
export interface CreationRegistry {
  /** Where each tracked socket, server and child process was opened (dropped with the object). */
  readonly sites: WeakMap<object, TrackedHandle>;
  /** The last RECENT_HANDLES tracked objects, weakly: how the audit finds unreferenced handles. */
  readonly recent: (WeakRef<object> | undefined)[];
  next: number;
  /** Descriptors from fs.open*, removed on fs.close*; at most MAX_FD_RECORDS. */
  readonly fds: Map<number, FdRecord>;
}

/** How many recently opened handles are kept (weakly) for the audit to find the unreferenced ones. */
export const RECENT_HANDLES = 1024;
/** The most `fs.open` descriptors remembered at once (the oldest records go first). */
export const MAX_FD_RECORDS = 4096;
/** Frames captured per stack: deep enough to get past Node's own frames (an http.get is ~10 deep). */
const STACK_DEPTH = 40;
/** Frames captured for fs.open*: the caller is near (the deeper the capture, the dearer, and files open often). */
const FS_STACK_DEPTH = 16;

/** The process-wide records, or undefined while tracking is off. */
export function creationRegistry(): CreationRegistry | undefined {
  return processRecord<{ creationSites: CreationRegistry }>().creationSites;
}

/**
 * Starts recording where handles are opened (idempotent, process-wide). Wraps, once:
 * `net.Socket.prototype.connect`, `net.Server.prototype.listen` (and the connections it accepts),
 * `ChildProcess.prototype.spawn`, `fs.open`, `fs.openSync`, `fs.promises.open`, `fs.close`,
 * `fs.closeSync`.
 */
export function trackCreationSites(env: NodeJS.ProcessEnv = process.env): void {
  const state = processRecord<{ creationSites: CreationRegistry }>();
  if (state.creationSites || env.CRAC_TRACK_CREATION === '0') return;
  const registry: CreationRegistry = { sites: new WeakMap(), recent: [], next: 0, fds: new Map() };
  state.creationSites = registry;
  wrapNet(registry);
  wrapChildProcess(registry);
  wrapFs(registry);
}

/** Captures the current stack without formatting it. `above` and its callers' frames above it are left out. */
export function captureStack(above: (...args: never) => unknown, depth = STACK_DEPTH): StackHolder {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = depth;
  Error.captureStackTrace(holder, above);
  Error.stackTraceLimit = limit;
  return holder;
}

function remember(registry: CreationRegistry, handle: object, origin: Origin, stack: StackHolder): void {
  if (registry.sites.has(handle)) return;
  registry.sites.set(handle, { origin, stack });
  registry.recent[registry.next] = new WeakRef(handle);
  registry.next = (registry.next + 1) % RECENT_HANDLES;
}

/** The tracked objects still alive among the recently opened ones, with where they were opened. */
export function recentHandles(): Map<object, TrackedHandle> {
  const registry = creationRegistry();
  const found = new Map<object, TrackedHandle>();
  for (const ref of registry?.recent ?? []) {
    const object = ref?.deref();
    const site = object && registry?.sites.get(object);
    if (object && site) found.set(object, site);
  }
  return found;
}

/** Where a tracked object was opened. */
export function siteOf(object: object): TrackedHandle | undefined {
  return creationRegistry()?.sites.get(object);
}

function wrapNet(registry: CreationRegistry): void {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connectTracked(this: net.Socket, ...args: unknown[]) {
    remember(registry, this, 'connect', captureStack(connectTracked));
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;

  const listen = net.Server.prototype.listen;
  const accepting = new WeakSet<net.Server>();
  net.Server.prototype.listen = function listenTracked(this: net.Server, ...args: unknown[]) {
    const stack = captureStack(listenTracked);
    remember(registry, this, 'listen', stack);
    if (!accepting.has(this)) {
      accepting.add(this);
      this.on('connection', (socket: net.Socket) => remember(registry, socket, 'accepted', stack));
    }
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
}

function wrapChildProcess(registry: CreationRegistry): void {
  // Not in @types/node, but what spawn(), exec(), fork() all go through.
  const prototype = ChildProcess.prototype as ChildProcess & { spawn: (...args: unknown[]) => unknown };
  const spawn = prototype.spawn;
  prototype.spawn = function spawnTracked(this: ChildProcess, ...args: unknown[]) {
    remember(registry, this, 'spawn', captureStack(spawnTracked));
    return spawn.apply(this, args);
  };
}

function wrapFs(registry: CreationRegistry): void {
  const record = (fd: number, path: unknown, stack: StackHolder) => {
    if (typeof fd !== 'number') return;
    registry.fds.delete(fd);
    registry.fds.set(fd, { path: pathOf(path), stack });
    if (registry.fds.size > MAX_FD_RECORDS) registry.fds.delete(registry.fds.keys().next().value as number);
  };
  const { open, openSync, close, closeSync } = fs;
  const promisesOpen = fs.promises.open;

  const mutable = fs as { -readonly [K in keyof typeof fs]: (typeof fs)[K] };
  mutable.openSync = function openSyncTracked(path: PathLike, ...rest: unknown[]) {
    const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
    record(fd, path, captureStack(openSyncTracked, FS_STACK_DEPTH));
    return fd;
  } as typeof openSync;
  mutable.open = function openTracked(path: PathLike, ...rest: unknown[]) {
    const stack = captureStack(openTracked, FS_STACK_DEPTH);
    const last = rest.length - 1;
    const callback = rest[last];
    if (typeof callback === 'function') {
      rest[last] = (error: Error | null, fd: number) => {
        if (!error) record(fd, path, stack);
        callback(error, fd);
      };
    }
    return (open as (...a: unknown[]) => void)(path, ...rest);
  } as typeof open;
  mutable.closeSync = function closeSyncTracked(fd: number) {
    registry.fds.delete(fd);
    return closeSync(fd);
  } as typeof closeSync;
  mutable.close = function closeTracked(fd: number, ...rest: unknown[]) {
    registry.fds.delete(fd);
    return (close as (...a: unknown[]) => void)(fd, ...rest);
  } as typeof close;
  (fs.promises as { open: typeof promisesOpen }).open = async function openTracked(path: PathLike, ...rest: unknown[]) {
    const stack = captureStack(openTracked, FS_STACK_DEPTH);
    const handle = await (promisesOpen as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    record(handle.fd, path, stack);
    return handle;
  } as typeof promisesOpen;
  // `import { openSync } from 'node:fs'` sees the wrappers too.
  syncBuiltinESMExports();
}

function pathOf(path: unknown): string {
  if (typeof path === 'string') return resolve(path);
  if (path instanceof URL) return path.pathname;
  if (Buffer.isBuffer(path)) return resolve(path.toString());
  return String(path);
}

/** Where descriptor `fd` was opened by `fs.open*`, if it is still the file recorded (`target` from /proc). */
export function fdCreationStack(fd: number, target: string): StackHolder | undefined {
  const record = creationRegistry()?.fds.get(fd);
  if (!record) return undefined;
  const matches = (path: string) => target === path || target === `${path} (deleted)`;
  if (matches(record.path)) return record.stack;
  try {
    return matches(realpathSync.native(record.path)) ? record.stack : undefined;
  } catch {
    return undefined;
  }
}
