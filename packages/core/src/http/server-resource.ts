import { closeSync } from 'node:fs';
import { type IncomingMessage, Server as HttpServer, type ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Http2Session } from 'node:http2';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.js';
import { cycleScope } from '../cycle/scope.js';
import { CracError, ErrorCode } from '../errors.js';
import { getGlobalContext } from '../global-context.js';
import { type HandedOver, handOver, takeBack, warnListeningAnew } from '../handover/listeners.js';
import { Priority, type Resource, type Unregister } from '../types.js';
import type { DrainTimeoutAction, HttpServerLike, ListenAddress, ServerResourceOptions } from './types.js';

/** Marks a server that has its resource: one per server, whoever registers it (shared by copies of @crac/core). */
const RESOURCE = Symbol.for('@crac/core:server-resource');
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** The hooks' own timeout is the drain's plus this: closing what is left and listening again take a moment. */
const HOOK_MARGIN_MS = 5_000;
/** How long a connection accepted just before the drain may take to send its first request. */
const FIRST_REQUEST_GRACE_MS = 1_000;
/** How often the drain closes the connections that became idle (a response that ended on a kept-alive socket). */
const POLL_MS = 10;
/** After the drain timed out and every connection was destroyed: how long their closing may take. */
const CLOSE_GRACE_MS = 1_000;

type Registered = HttpServerLike & { [RESOURCE]?: ServerResource };

/** What a drained server let go of: where it listened, and what the port variable said then. */
interface Released {
  readonly address: ListenAddress;
  readonly portEnvValue: string | undefined;
  /** Its TCP listening socket, handed to a holder for the dump (an engine that holds listeners). */
  readonly handedOver?: HandedOver;
}

/**
 * Lets an HTTP server go quiet before a checkpoint and listen again after the restore. Create
 * it with {@link serverResource}, which registers it (once per server).
 *
 * Before a checkpoint: stops accepting connections; requests in flight finish, and their
 * responses (and those of requests that still arrive on open connections) carry
 * `Connection: close`; idle keep-alive connections are closed; after `drainTimeoutMs` the
 * rest are closed (or the checkpoint is refused). With the criu engine a TCP listening socket
 * stays bound meanwhile, held outside the image (`handover/listeners.ts`): new clients wait in
 * the backlog instead of being refused. Otherwise the listener is closed.
 * After a restore (or a rollback): listens again on the same address, or on the port the
 * restoring environment names (`PORT`). The original process listens on its own socket again
 * (the clients that waited are served); a restored copy on the socket its restorer bound first
 * (crac restore, or crac-init `--listen`), when that is the address it wants, else on a new one.
 */
export class ServerResource implements Resource {
  readonly name: string;
  /** The server this resource drains and reopens. */
  readonly server: HttpServerLike;
  readonly #drainTimeoutMs: number;
  readonly #onDrainTimeout: DrainTimeoutAction;
  readonly #portEnv: string | false;
  readonly #responses = new Set<ServerResponse>();
  readonly #sockets = new Set<Socket>();
  /** An https server's TCP connections whose TLS handshake has not finished. */
  readonly #handshaking = new Set<Socket>();
  /** Responses in flight per connection: a connection with none that already served one is idle. */
  readonly #inFlight = new Map<Socket, number>();
  /** An HTTP/2 server's sessions: drained with GOAWAY (`session.close()`), not per connection. */
  readonly #sessions: Set<Http2Session> | undefined;
  #draining = false;
  #released: Released | undefined;
  #unregister: Unregister | undefined;
  /** Registered by the zero-code path (the preload), not by the app or an adapter: an explicit registration replaces it. */
  readonly automatic: boolean;

  constructor(server: HttpServerLike, options: ServerResourceOptions = {}, automatic = false) {
    validate(server, options);
    this.server = server;
    this.automatic = automatic;
    this.name = options.name ?? 'http server';
    this.#drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.#onDrainTimeout = options.onDrainTimeout ?? 'close';
    this.#portEnv = options.portEnv ?? 'PORT';
    // First in line: the response is marked before the app writes its headers.
    server.prependListener('request', this.#onRequest);
    server.on(connectionEvent(server), this.#onConnection);
    // an https server's TCP connections are known before their TLS handshake ends, if it ever does
    if (server instanceof TlsServer) server.on('connection', this.#onTcpConnection);
    server.on('close', this.#onClose);
    if (isHttp2(server)) {
      this.#sessions = new Set();
      server.on('session', this.#onSession);
    }
  }

  /** The resource's hooks' timeout: the drain's plus a margin. */
  get hookTimeoutMs(): number {
    return this.#drainTimeoutMs + HOOK_MARGIN_MS;
  }

  /** Where the server listened when it was drained, until it listens again. */
  get releasedAddress(): ListenAddress | undefined {
    return this.#released?.address;
  }

  /** Drains the server and closes its listener (see the class). */
  async beforeCheckpoint(): Promise<void> {
    const server = this.server;
    // Not listening: nothing to let go of (or a previous restore could not listen: still released, tried again after this one).
    if (!server.listening) return;
    const address = toListenAddress(server.address());
    const portEnvValue = this.#portEnv ? process.env[this.#portEnv] : undefined;
    this.#released = { address, portEnvValue, ...this.#handOver(address, portEnvValue) };
    this.#draining = true;
    for (const response of this.#responses) markLast(response);
    // Stops accepting. Not http's close(): it also closes the connections that were just
    // accepted and whose request has not arrived yet; those get their answer (the last one).
    NetServer.prototype.close.call(server as unknown as NetServer);
    if (await this.#waitForConnections(this.#drainTimeoutMs)) return;

    const busy = await connectionCount(server);
    if (this.#onDrainTimeout === 'refuse') {
      throw new CracError(
        ErrorCode.DRAIN,
        `${this.name} on ${describe(address)}: ${busy} connection(s) still busy after ${this.#drainTimeoutMs} ms; ` +
          'refusing the checkpoint (onDrainTimeout: "refuse"); the server listens again',
      );
    }
    server.closeAllConnections?.();
    for (const socket of [...this.#sockets, ...this.#handshaking]) socket.destroy();
    if (!(await this.#waitForConnections(CLOSE_GRACE_MS))) {
      throw new CracError(
        ErrorCode.DRAIN,
        `${this.name} on ${describe(address)}: ${await connectionCount(server)} connection(s) could not be closed ` +
          '(a connection upgraded before the resource was registered?)',
      );
    }
  }

  /** Listens again where the server listened, or on the port the restoring environment names. */
  async afterRestore(): Promise<void> {
    this.#draining = false;
    const released = this.#released;
    if (released === undefined) return;
    // the original: its own socket, still bound; a copy: the one its restorer bound, if any
    const fd = released.handedOver ? takeBack(released.handedOver, cycleScope.getStore()?.outcome === 'restored') : undefined;
    if (this.server.listening) {
      // someone else reopened it
      if (fd !== undefined) closeSync(fd);
      this.#released = undefined;
      return;
    }
    let target: ListenAddress;
    try {
      target = this.#target(released);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      throw error;
    }
    if (fd !== undefined && (await this.#listenOn(fd, target, released.handedOver?.address))) {
      this.#released = undefined;
      return;
    }
    try {
      await listen(this.server, target);
    } catch (cause) {
      throw new CracError(ErrorCode.LISTEN, this.#listenFailure(target, cause), { cause });
    }
    this.#released = undefined;
  }

  /**
   * Hands the TCP listening socket to a holder that keeps it bound through the dump, when the
   * cycle's engine holds listeners (the criu engine).
   */
  #handOver(address: ListenAddress, portEnvValue: string | undefined): { handedOver?: HandedOver } {
    if (!cycleScope.getStore()?.holdListeners || 'path' in address) return {};
    const fd = (this.server as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return {};
    const rule = this.#portEnv ? { portEnv: this.#portEnv, ...(portEnvValue === undefined ? {} : { portEnvValue }) } : {};
    return { handedOver: handOver(fd, { host: address.host, port: address.port, ...rule }) };
  }

  /**
   * Listens on the listening socket `fd` (taken back, or bound by the restorer): true when the
   * server then listens on `target`; else the socket is closed, and false (listen anew).
   */
  async #listenOn(fd: number, target: ListenAddress, held: { host: string; port: number } | undefined): Promise<boolean> {
    const original = cycleScope.getStore()?.outcome !== 'restored';
    try {
      await listen(this.server, { fd });
    } catch (error) {
      // not closed here: Node may have closed it with its handle, and the number be reused since
      if (held) warnListeningAnew(held, `listening on it failed: ${(error as Error).message}`);
      return false;
    }
    const now = this.server.address();
    if ('port' in target && typeof now === 'object' && now?.address === target.host && now.port === target.port) return true;
    // a copy may be restored to listen elsewhere than its restorer bound; the original may not
    if (original && held)
      warnListeningAnew(held, `it is bound to ${now === null ? 'nothing' : describe(toListenAddress(now))}, not ${describe(target)}`);
    await new Promise((resolve) => NetServer.prototype.close.call(this.server as unknown as NetServer, resolve));
    return false;
  }

  /** Removes the resource from its context; the server is left as it is. Calling it twice is harmless. */
  unregister(): void {
    this.#unregister?.();
    this.#unregister = undefined;
    const server = this.server as Registered;
    if (server[RESOURCE] === this) delete server[RESOURCE];
    server.off('request', this.#onRequest);
    server.off(connectionEvent(server), this.#onConnection);
    server.off('connection', this.#onTcpConnection);
    server.off('close', this.#onClose);
    server.off('session', this.#onSession);
  }

  /** @internal Called by {@link serverResource} once registered. */
  attach(unregister: Unregister): void {
    this.#unregister = unregister;
    (this.server as Registered)[RESOURCE] = this;
  }

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    // HTTP/2: a request is a stream of a session, drained with the session (no Connection header there)
    if (this.#sessions) return;
    const socket = request.socket;
    this.#responses.add(response);
    this.#inFlight.set(socket, (this.#inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      this.#responses.delete(response);
      this.#inFlight.set(socket, (this.#inFlight.get(socket) ?? 1) - 1);
    });
    // A connection accepted before the resource existed is known from its first request.
    this.#track(socket);
    if (this.#draining) markLast(response);
  };

  readonly #onConnection = (socket: Socket): void => {
    // a TLS socket: its TCP connection finished the handshake (`_parent`: the socket it wraps)
    const tcp = (socket as Socket & { _parent?: Socket })._parent;
    if (tcp) this.#handshaking.delete(tcp);
    this.#track(socket);
  };

  readonly #onSession = (session: Http2Session): void => {
    this.#sessions?.add(session);
    session.once('close', () => this.#sessions?.delete(session));
    if (this.#draining) session.close();
  };

  readonly #onTcpConnection = (tcp: Socket): void => {
    this.#handshaking.add(tcp);
    tcp.once('close', () => this.#handshaking.delete(tcp));
  };

  /** The server closed by the app itself (a shutdown, not our drain): it is not ours to reopen. */
  readonly #onClose = (): void => {
    if (!this.#draining && this.#released === undefined && !this.server.listening) this.unregister();
  };

  #track(socket: Socket): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#inFlight.delete(socket);
    });
  }

  /**
   * Closes the kept-alive connections that are idle: they served a request and have none in
   * flight. A connection that has not sent its first request yet is given until
   * `firstRequestDeadline` to send it (and gets its answer, the connection's last).
   */
  #closeIdle(firstRequestDeadline: number): void {
    if (this.#sessions) {
      // GOAWAY: no new streams; each session closes its connection once its streams are done
      for (const session of this.#sessions) if (!session.closed) session.close();
      return;
    }
    const now = Date.now();
    // a TLS handshake not done by then is treated as a first request that never came
    if (now >= firstRequestDeadline) for (const tcp of this.#handshaking) tcp.destroy();
    for (const socket of this.#sockets) {
      const inFlight = this.#inFlight.get(socket);
      if (inFlight === 0 || (inFlight === undefined && now >= firstRequestDeadline)) socket.destroy();
    }
  }

  /** Resolves true once the server has no connection left, false after `timeoutMs`. */
  async #waitForConnections(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const firstRequestDeadline = Date.now() + Math.min(FIRST_REQUEST_GRACE_MS, timeoutMs);
    for (;;) {
      // A kept-alive connection whose response just ended is idle now: close it.
      this.#closeIdle(firstRequestDeadline);
      if ((await connectionCount(this.server)) === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  }

  #target(released: Released): ListenAddress {
    const { address } = released;
    if ('path' in address || !this.#portEnv) return address;
    const now = process.env[this.#portEnv];
    const changed = now !== undefined && now !== released.portEnvValue;
    // The variable named this server's port at the checkpoint (or was unset): follow it.
    const named = released.portEnvValue === undefined || Number(released.portEnvValue) === address.port;
    if (!changed || !named) return address;
    const port = Number(now);
    if (!(Number.isInteger(port) && port >= 0 && port <= 65_535) || now.trim() === '') {
      throw new CracError(
        ErrorCode.LISTEN,
        `${this.name}: ${this.#portEnv}=${JSON.stringify(now)} in the restoring environment is not a port number`,
      );
    }
    return { host: address.host, port };
  }

  #listenFailure(target: ListenAddress, cause: unknown): string {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const where = describe(target);
    if (code === 'EADDRINUSE') {
      const hint = 'port' in target && this.#portEnv ? `free it, or restore with ${this.#portEnv}=<another port>` : 'free it';
      return `${this.name} cannot listen on ${where} after the restore: the address is taken (EADDRINUSE); ${hint}; the app runs on without it`;
    }
    return `${this.name} cannot listen on ${where} after the restore: ${(cause as Error)?.message ?? String(cause)}`;
  }
}

/**
 * Registers an HTTP server (`http.Server`, `https.Server`) as a resource of the global context
 * (or `options.context`) at {@link Priority.ENTRY_POINT}: it is drained before a checkpoint and
 * listens again after the restore. Registering the same server again returns its resource.
 *
 * This is the one drain of crac-node: `@crac/express` and `@crac/fastify` call it for the
 * servers they find; call it yourself for any other server.
 *
 * @example
 * ```ts
 * const server = http.createServer(handler).listen(3000);
 * serverResource(server, { drainTimeoutMs: 5_000, portEnv: 'HTTP_PORT' });
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` for something that is not a server, or a bad option.
 */
export function serverResource(server: HttpServerLike, options: ServerResourceOptions = {}): ServerResource {
  const existing = (server as Registered)?.[RESOURCE];
  if (existing && !existing.automatic) return existing;
  // the app's own registration wins over the zero-code one: one resource per server, with the app's options
  existing?.unregister();
  return register(new ServerResource(server, options), options.context);
}

/**
 * @internal The zero-code path (`auto/servers.ts`): registers `server` as {@link serverResource}
 * does, marked automatic, unless it has a resource already.
 */
export function adoptServer(server: HttpServerLike): ServerResource {
  const existing = (server as Registered)[RESOURCE];
  if (existing) return existing;
  return register(new ServerResource(server, { name: kindOf(server) }, true), undefined);
}

/** Whether `server` has a resource, whoever registered it. */
export function hasServerResource(server: object): boolean {
  return (server as Registered)[RESOURCE] !== undefined;
}

function register(resource: ServerResource, context: Context | undefined): ServerResource {
  const unregister = (context ?? getGlobalContext()).register(resource, {
    priority: Priority.ENTRY_POINT,
    timeoutMs: resource.hookTimeoutMs,
  });
  resource.attach(unregister);
  return resource;
}

/** `http server`, `https server`, `http2 server`, `tls server` or `net server`: the name an adopted server's resource goes by. */
function kindOf(server: HttpServerLike): string {
  if (isHttp2(server)) return 'http2 server';
  if (server instanceof HttpsServer) return 'https server';
  if (server instanceof HttpServer) return 'http server';
  if (server instanceof TlsServer) return 'tls server';
  return 'net server';
}

/** An `http2.createServer()` / `createSecureServer()` server (node:http2 exports neither class). */
function isHttp2(server: object): boolean {
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

/** The sockets requests arrive on: TLS ones for an https server, not the TCP ones under them. */
function connectionEvent(server: HttpServerLike): 'connection' | 'secureConnection' {
  return server instanceof TlsServer ? 'secureConnection' : 'connection';
}

/** Marks a response as the connection's last: `Connection: close` while its headers can still change. */
function markLast(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

function listen(server: HttpServerLike, target: ListenAddress | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError).once('listening', onListening);
    server.listen('fd' in target ? { fd: target.fd } : 'path' in target ? { path: target.path } : { host: target.host, port: target.port });
  });
}

function connectionCount(server: HttpServerLike): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}

function toListenAddress(address: AddressInfo | string | null): ListenAddress {
  if (typeof address === 'string') return { path: address };
  if (address === null) throw new CracError(ErrorCode.INVALID_ARGUMENT, 'the server listens but has no address');
  return { host: address.address, port: address.port };
}

/** `127.0.0.1:3000`, `[::1]:3000`, or the socket's path. */
export function describe(address: ListenAddress): string {
  if ('path' in address) return address.path;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function validate(server: HttpServerLike, options: ServerResourceOptions): void {
  if (server === null || typeof server !== 'object' || typeof server.listen !== 'function' || typeof server.close !== 'function') {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, 'serverResource() takes a server (http.Server, https.Server)');
  }
  const { drainTimeoutMs, onDrainTimeout, portEnv } = options;
  if (drainTimeoutMs !== undefined && !(Number.isFinite(drainTimeoutMs) && drainTimeoutMs >= 0)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `drainTimeoutMs must be a number of ms, got ${String(drainTimeoutMs)}`);
  }
  if (onDrainTimeout !== undefined && onDrainTimeout !== 'close' && onDrainTimeout !== 'refuse') {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `onDrainTimeout must be "close" or "refuse", got ${String(onDrainTimeout)}`);
  }
  if (portEnv !== undefined && portEnv !== false && (typeof portEnv !== 'string' || portEnv === '')) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `portEnv must be a variable name or false, got ${String(portEnv)}`);
  }
}
