import { ChildProcess } from 'node:child_process';
import { Server, Socket } from 'node:net';
import { type Origin, recentHandles, siteOf, type StackHolder } from './creation-sites.js';

/** A descriptor that Node (libuv) owns through a JavaScript object. */
export interface NodeHandle {
  readonly fd: number;
  /** How it was opened, if tracking saw it. */
  readonly origin?: Origin;
  readonly stack?: StackHolder;
  /** Set for the stdio sockets of a child process (its peer is in the child, saved with the app). */
  readonly childStdioOf?: number;
  /** Set for the IPC channel to the parent process (`process.send`). */
  readonly parentChannel?: boolean;
  /** The socket object, for a socket (the audit asks which keep-alive pool holds it). */
  readonly socket?: Socket;
  /** Destroys the object the Node way (its descriptor closes with it). */
  close(): Promise<void>;
}

interface WithHandle {
  _handle?: { fd?: number; _parent?: { fd?: number } } | null;
  _parent?: WithHandle | null;
}

/** The descriptor behind a socket or server (TLS sockets sit on a TCP handle: their parent). */
export function fdOfHandle(object: unknown): number | undefined {
  if (object === null || typeof object !== 'object') return undefined;
  const owner = object as WithHandle;
  for (const fd of [owner._handle?.fd, owner._handle?._parent?.fd, owner._parent?._handle?.fd]) {
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  return undefined;
}

/**
 * Maps descriptors to the Node objects that own them: the sockets, servers and child processes
 * that tracking recorded recently, plus `process._getActiveHandles()` (the referenced ones,
 * opened before tracking started too).
 */
export function nodeHandlesByFd(): Map<number, NodeHandle> {
  const byFd = new Map<number, NodeHandle>();
  const candidates = new Map<object, { origin?: Origin; stack?: StackHolder }>(recentHandles());
  const active = (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles?.() ?? [];
  for (const object of active) if (!candidates.has(object)) candidates.set(object, siteOf(object) ?? {});

  for (const [object, tracked] of candidates) {
    if (object instanceof ChildProcess) {
      for (const stream of object.stdio) {
        const fd = fdOfHandle(stream);
        if (fd !== undefined && object.pid !== undefined)
          byFd.set(fd, { fd, childStdioOf: object.pid, close: () => destroy(stream as Socket) });
      }
      continue;
    }
    if (!(object instanceof Socket || object instanceof Server)) continue;
    const fd = fdOfHandle(object);
    if (fd === undefined || byFd.has(fd)) continue;
    if (object instanceof Server) byFd.set(fd, { fd, ...tracked, close: () => closeServer(object) });
    else byFd.set(fd, { fd, ...tracked, socket: object, close: () => destroy(object) });
  }

  const channel = (process as { channel?: { fd?: number } }).channel;
  if (typeof channel?.fd === 'number') {
    byFd.set(channel.fd, { fd: channel.fd, parentChannel: true, close: async () => process.disconnect?.() });
  }
  return byFd;
}

function destroy(socket: Socket | null): Promise<void> {
  if (!socket || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
}

function closeServer(server: Server): Promise<void> {
  // The listening descriptor closes at once; the callback would also wait for its connections,
  // which are entries of their own (and closed as such).
  server.close(() => {});
  return Promise.resolve();
}
