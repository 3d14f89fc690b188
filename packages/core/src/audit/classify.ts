import { controlSocketPath } from '../protocol/control-socket.js';
import { fdCreationStack, type StackHolder } from './creation-sites.js';
import { toCreationSite } from './creation-site.js';
import { inodeOf, type OpenFd } from './fd-table.js';
import { socketOwner } from '../agents/owner.js';
import { adapterFor, helperFor, zeroCodeFor } from './hints.js';
import type { NodeHandle } from './node-handles.js';
import type { SocketInfo } from './proc-net.js';
import type { AuditEntry, HandleKind } from './types.js';
import { statAside } from '../fs-aside.js';

/** What the classifier needs to know about the whole process. */
export interface ProcessView {
  readonly sockets: ReadonlyMap<number, SocketInfo>;
  readonly handles: ReadonlyMap<number, NodeHandle>;
  /** Descriptors some epoll instance (an event loop) watches. */
  readonly watched: ReadonlySet<number>;
  /** How many descriptors of this process refer to each pipe inode. */
  readonly pipeEnds: ReadonlyMap<number, number>;
}

/** Devices that hold no state worth saving: CRIU reopens them by path. */
const HARMLESS_DEVICES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom']);
/** libuv's own: the event loop's epoll and its wake-up eventfds. */
const HARMLESS_ANON = new Set(['anon_inode:[eventpoll]', 'anon_inode:[eventfd]']);

/**
 * Tells whether an open descriptor is harmless (stdio, libuv's own, crac's own, a pipe whose
 * both ends are here, an inherited pipe...) and, if not, what it is and what handles it.
 * @returns undefined for a harmless descriptor.
 */
export function classifyFd(open: OpenFd, view: ProcessView): AuditEntry | undefined {
  const { fd, target } = open;
  if (fd <= 2 || HARMLESS_ANON.has(target)) return undefined;
  const handle = view.handles.get(fd);
  if (handle?.childStdioOf !== undefined) return undefined; // its peer is in the child, saved with the app

  const socketInode = inodeOf(target, 'socket');
  if (socketInode !== undefined) return classifySocket(open, socketInode, view, handle);

  const pipeInode = inodeOf(target, 'pipe');
  if (pipeInode !== undefined) {
    // Both ends here: libuv's signal and wake-up pipes. Inherited: the parent's business, saved as is.
    if ((view.pipeEnds.get(pipeInode) ?? 0) > 1 || open.inherited) return undefined;
    return entry(open, view, 'pipe', `pipe ${target} to another process`, 'close it in a beforeCheckpoint hook');
  }
  if (target === 'anon_inode:[io_uring]') {
    return entry(
      open,
      view,
      'io_uring',
      'io_uring instance (libuv 1.50+, Node 22+)',
      'start Node under the io_uring guard (`crac checkpoint -- node app.js`) or set sysctl kernel.io_uring_disabled=2',
      false,
    );
  }
  if (target === 'anon_inode:inotify') {
    const watches = open.info.match(/^inotify wd:/gm)?.length ?? 0;
    if (watches === 0) return undefined; // libuv keeps its inotify descriptor once fs.watch() was used
    return entry(
      open,
      view,
      'inotify',
      `inotify instance with ${watches} watch${watches === 1 ? '' : 'es'} (fs.watch, chokidar...)`,
      "close the watchers in a beforeCheckpoint hook, or set unreleased: { inotify: 'ignore' } (CRIU saves the watches)",
      false,
    );
  }
  if (target.startsWith('anon_inode:')) {
    return entry(open, view, 'anon-inode', target, 'close it in a beforeCheckpoint hook');
  }
  if (target.startsWith('/')) {
    if (HARMLESS_DEVICES.has(target)) return undefined;
    if (target.startsWith('/dev/') && !target.startsWith('/dev/shm/')) {
      return entry(open, view, 'device', `device ${target}`, 'close it in a beforeCheckpoint hook');
    }
    const what = isDirectory(fd) ? 'directory' : 'file';
    const mode = accessMode(open.info);
    return entry(open, view, 'file', `${what} ${target} (${mode})`, 'close it in a beforeCheckpoint hook');
  }
  return entry(open, view, 'other-socket', target, 'close it in a beforeCheckpoint hook');
}

function classifySocket(open: OpenFd, inode: number, view: ProcessView, handle: NodeHandle | undefined): AuditEntry | undefined {
  const socket = view.sockets.get(inode);
  const hook = 'close it in a beforeCheckpoint hook';
  if (handle?.parentChannel) {
    return entry(
      open,
      view,
      'unix-socket',
      'IPC channel to the parent process (process.send)',
      'call process.disconnect() in a beforeCheckpoint hook',
    );
  }
  if (!socket) return entry(open, view, 'other-socket', `socket ${open.target} (not TCP, UDP or unix)`, hook);
  const accepted = handle?.origin === 'accepted' ? ' (accepted connection)' : '';
  switch (socket.protocol) {
    case 'tcp':
      if (socket.state === 'listening')
        return entry(open, view, 'tcp-listener', `TCP server listening on ${socket.local}`, `${hook} (server.close())`);
      return entry(
        open,
        view,
        'tcp-socket',
        `TCP socket ${socket.local} -> ${socket.remote ?? '?'} (${socket.state})${accepted}`,
        hook,
        undefined,
        socket.remotePort,
      );
    case 'udp':
      return entry(
        open,
        view,
        'udp-socket',
        `UDP socket ${socket.local}${socket.remote ? ` -> ${socket.remote}` : ''}`,
        hook,
        undefined,
        socket.remotePort,
      );
    default:
      if (socket.state === 'listening') {
        if (socket.local === controlSocketPath('self')) return undefined; // crac's own trigger
        return entry(
          open,
          view,
          'unix-listener',
          `unix socket server listening on ${socket.local ?? '(unnamed)'}`,
          `${hook} (server.close())`,
        );
      }
      if (socket.state !== 'connected') return undefined; // neither bound to a peer nor listening: saved as is
      return entry(
        open,
        view,
        'unix-socket',
        `unix socket${socket.local ? ` ${socket.local}` : ''} connected to another process${accepted}`,
        hook,
      );
  }
}

function entry(
  open: OpenFd,
  view: ProcessView,
  kind: HandleKind,
  description: string,
  hook: string,
  safeToClose?: boolean,
  remotePort?: number,
): AuditEntry {
  const handle = view.handles.get(open.fd);
  const holder: StackHolder | undefined = handle?.stack ?? fdCreationStack(open.fd, open.target);
  const createdAt = holder ? toCreationSite(holder) : undefined;
  // Without a Node object to destroy, a descriptor that an event loop watches cannot be closed under it.
  const closable = safeToClose ?? (handle !== undefined || !view.watched.has(open.fd));
  // A socket of a keep-alive pool: the helper that releases the pool says it all.
  const helper = handle?.socket && kind === 'tcp-socket' ? helperFor(socketOwner(handle.socket, createdAt?.stack)) : undefined;
  const adapter = helper ? undefined : adapterFor(kind, createdAt?.stack, remotePort);
  const remedy = [
    zeroCodeFor(kind, adapter),
    helper ?? hook,
    adapter ? `use ${adapter}` : undefined,
    closable ? "set unreleased: 'close'" : undefined,
  ].filter(Boolean) as string[];
  const text = remedy.length > 1 ? `${remedy.slice(0, -1).join(', ')}, or ${remedy.at(-1)}` : (remedy[0] ?? hook);
  return {
    kind,
    fd: open.fd,
    description: open.inherited ? `${description} (inherited from the parent process)` : description,
    ...(createdAt ? { createdAt } : {}),
    remedy: closable ? text : `${text} (the close policy cannot close it: libuv owns it)`,
    closable,
  };
}

function isDirectory(fd: number): boolean {
  try {
    return statAside(`/proc/self/fd/${fd}`).isDirectory();
  } catch {
    return false;
  }
}

function accessMode(info: string): string {
  const flags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
  return ['read-only', 'write-only', 'read-write'][flags & 3] ?? 'read-write';
}
