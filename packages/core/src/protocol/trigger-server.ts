import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { checkpointRestore } from '../cycle/checkpoint-restore.js';
import { createExternalEngine } from '../engine/external.js';
import { getGlobalContext } from '../global-context.js';
import type { Resource } from '../types.js';
import { ErrorCode } from '../errors.js';
import { removeAside } from '../fs-aside.js';
import { markInternal } from '../http/watch-servers.js';
import {
  CONTROL_PROTOCOL,
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
  ensureControlDir,
  heldMarkerPath,
  MAX_CONTROL_LINE,
  parseControlRequest,
  readLines,
} from './control-socket.js';

/** Requesters connected at once: more are turned away. */
const MAX_CONNECTIONS = 8;

/** How many settled requests are remembered for requesters that ask after the dump (the oldest go first). */
const MAX_SETTLED = 64;

/** Below every connection: the trigger closes last before the dump and is back first after it. */
const TRIGGER_PRIORITY = -1_000;

/**
 * Accepts checkpoint requests from `crac checkpoint --pid` on a private unix socket. It is a
 * resource of the global context: the socket is closed before the dump (it cannot travel in
 * the image) and opened again after it, where the requester asks how the cycle settled.
 */
export class CheckpointTrigger implements Resource {
  readonly name = 'checkpoint trigger';
  #path: string | undefined;
  #server: Server | undefined;
  /** Each requester's connection, and the ids of the requests it made or asked about. */
  readonly #connections = new Map<Socket, Set<string>>();
  /** How each request settled, for requesters that reconnect after the dump. */
  readonly #settled = new Map<string, ControlReply>();
  /** The request whose cycle is running, if one is, and where its image goes. */
  #pending: { id: string; imagesDir: string | undefined } | undefined;

  /** Opens the socket and registers in the global context. */
  async start(): Promise<void> {
    getGlobalContext().register(this, { priority: TRIGGER_PRIORITY });
    // A socket file left behind would mislead a requester once this pid is reused.
    process.once('exit', () => this.#path && removeAside(this.#path));
    await this.#listen();
  }

  beforeCheckpoint(): Promise<void> {
    return new Promise((resolve) => {
      // The requester then waits for the process to end (a dump without leave-running) or to answer again.
      const reply: ControlReply | undefined = this.#pending && { event: 'dumping', ...this.#pending };
      const dumping = reply ? `${JSON.stringify(reply)}\n` : '';
      for (const socket of this.#connections.keys()) socket.end(dumping);
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server = undefined;
    });
  }

  afterRestore(): Promise<void> {
    return this.#listen();
  }

  /** Where the trigger listens (or last listened): a restored copy in a pid namespace of its own listens elsewhere than its original. */
  get path(): string | undefined {
    return this.#path;
  }

  async #listen(): Promise<void> {
    ensureControlDir();
    const path = controlSocketPath('self');
    this.#path = path;
    removeAside(path);
    const server = markInternal(createServer((socket) => this.#serve(socket)));
    server.unref();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    this.#server = server;
  }

  #serve(socket: Socket): void {
    // one requester at a time in practice: a few are plenty, more is someone flooding
    if (this.#connections.size >= MAX_CONNECTIONS) return void socket.destroy();
    const asked = new Set<string>();
    this.#connections.set(socket, asked);
    socket.on('close', () => this.#connections.delete(socket)).on('error', () => {});
    const send = (reply: ControlReply) => socket.writable && socket.write(`${JSON.stringify(reply)}\n`);
    readLines(socket, MAX_CONTROL_LINE, (line) => {
      const request = parseControlRequest(line);
      if (!request) {
        const message = `not a request of control protocol ${CONTROL_PROTOCOL} (a crac CLI of another version?)`;
        return send({ event: 'refused', id: '', error: { code: ErrorCode.TRIGGER, message } });
      }
      asked.add(request.id);
      if (request.command === 'status') return send(this.#settled.get(request.id) ?? { event: 'unknown', id: request.id });
      // one cycle at a time: a request while one runs is refused, and leaves the running one alone
      if (this.#pending) {
        const message = `a checkpoint (request ${this.#pending.id}) is running: ask again once it settles`;
        return send({ event: 'refused', id: request.id, error: { code: ErrorCode.BUSY, message } });
      }
      if (request.command === 'prepare') return this.#prepare(request, send);
      this.#checkpoint(request, send);
    });
  }

  #checkpoint(request: Extract<ControlRequest, { command: 'checkpoint' }>, send: (reply: ControlReply) => unknown): void {
    send({ event: 'accepted', id: request.id });
    const imagesDir = request.imagesDir ?? process.env.CRAC_IMAGES_DIR;
    const options = { ...(imagesDir ? { imagesDir } : {}), leaveRunning: request.leaveRunning ?? false, checkpointId: request.id };
    this.#pending = { id: request.id, imagesDir };
    checkpointRestore(options).then(
      (result) => this.#settle({ event: 'settled', id: request.id, outcome: result.outcome }),
      (error: Error & { code?: string }) => {
        const code = settledCode(error);
        this.#settle({ event: 'settled', id: request.id, error: { message: error.message, ...(code ? { code } : {}) } });
      },
    );
  }

  /**
   * An external checkpoint: the cycle runs, then holds (the marker file beside the socket says
   * so) until the container engine's restore, which the copy notices on its own.
   */
  #prepare(request: Extract<ControlRequest, { command: 'prepare' }>, send: (reply: ControlReply) => unknown): void {
    send({ event: 'accepted', id: request.id });
    const marker = heldMarkerPath('self');
    const engine = createExternalEngine({
      ...(request.holdMs === undefined ? {} : { holdMs: request.holdMs }),
      onHeld: () => writeFileSync(marker, `${request.id}\n`, { mode: 0o600 }),
      onReleased: () => removeAside(marker),
    });
    this.#pending = { id: request.id, imagesDir: undefined };
    checkpointRestore({ engine, checkpointId: request.id }).then(
      (result) => this.#settle({ event: 'settled', id: request.id, outcome: result.outcome }),
      (error: Error & { code?: string }) => {
        const code = settledCode(error);
        this.#settle({ event: 'settled', id: request.id, error: { message: error.message, ...(code ? { code } : {}) } });
      },
    );
  }

  #settle(reply: Extract<ControlReply, { event: 'settled' }>): void {
    if (this.#pending?.id === reply.id) this.#pending = undefined;
    this.#settled.set(reply.id, reply);
    for (const id of this.#settled.keys()) {
      if (this.#settled.size <= MAX_SETTLED) break;
      this.#settled.delete(id);
    }
    // to the requester of that request only: another's reply is none of its business
    for (const [socket, asked] of this.#connections) if (asked.has(reply.id)) socket.write(`${JSON.stringify(reply)}\n`);
  }
}

/**
 * The code a failed cycle is reported with: `CRAC_ESIGNAL` when a stop signal abandoned it (the
 * requester must then not stop the app itself: it already got the signal), else the error's own.
 */
function settledCode(error: Error & { code?: string }): string | undefined {
  const causes = error instanceof AggregateError ? error.errors : [];
  const stopped = causes.some((cause) => (cause as { code?: unknown } | null)?.code === ErrorCode.STOP_SIGNAL);
  return stopped ? ErrorCode.STOP_SIGNAL : error.code;
}
