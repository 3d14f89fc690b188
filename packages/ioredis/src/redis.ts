import { setTimeout as sleep } from 'node:timers/promises';
import { expectShape, suspendable, watchEnvironment } from '@crac/core/kit';
import type { Cluster, Redis } from 'ioredis';
import { redisSettingsFromUrl } from './env.js';
import type { CracRedisOptions } from './types.js';

const TAG = '@crac/ioredis';

interface CommandLike {
  name: string;
  promise: Promise<unknown>;
  /** Settles `promise` with an error (ioredis's Command). */
  reject(error: Error): void;
}

/**
 * What this adapter reads from an ioredis 5 client (`Redis` or `Cluster`). Public: `status`,
 * `quit()`, `disconnect()`, `connect()`, `options`, `isCluster`. Internal: `manuallyClosing`
 * (the app is quitting the client itself: it stays ended), `prevCondition` (the last connection's
 * database, which ioredis selects again on reconnecting). Semi-public: `sendCommand()`
 * (every command, pipelines included, goes through it: the gate sits there). Subscriptions come
 * back through ioredis's own `autoResubscribe`, which replays what the last connection had
 * subscribed to (it keeps that across `quit()`).
 */
interface ClientInternals {
  status: string;
  manuallyClosing?: boolean;
  prevCondition?: { select: number } | null;
  isCluster?: boolean;
  options: Record<string, unknown>;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  connect(): Promise<void>;
  sendCommand(command: CommandLike, ...rest: unknown[]): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Registers an ioredis client (`Redis` or `Redis.Cluster`) with the checkpoint cycle and
 * returns it.
 *
 * Before a checkpoint, new commands are held (they resolve after the restore, nothing is lost),
 * the pending ones finish (`QUIT`), and the connection closes. After the restore the client
 * connects again (with `config` / `fromEnv` applied: by default, to the server `REDIS_URL` names
 * when the restoring environment changed it), the held commands go out, and the
 * subscriptions (`subscribe`, `psubscribe`) come back. A client that never connected
 * (`lazyConnect`) or that was quit by the app is left as it is. Wrapping a client twice returns
 * it unchanged.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { cracRedis } from '@crac/ioredis';
 *
 * const redis = cracRedis(new Redis(process.env.REDIS_URL));
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` when `client` is not an ioredis 5 client.
 */
export function cracRedis<C extends Redis | Cluster>(client: C, options: CracRedisOptions = {}): C {
  const internals = expectShape<ClientInternals>(
    client,
    { sendCommand: 'function', quit: 'function', connect: 'function', status: 'string' },
    'cracRedis() takes an ioredis 5 client (new Redis() or new Redis.Cluster())',
  );
  const isCluster = internals.isCluster === true;
  let quitting = false;
  let reconnect = false;
  let connected: Promise<void> | undefined;
  const urlVariable = typeof options.fromEnv === 'string' ? options.fromEnv : 'REDIS_URL';
  const environment = watchEnvironment([urlVariable]);
  const suspension = suspendable({
    target: client,
    tag: TAG,
    options,
    defaultName: isCluster ? 'redis cluster' : 'redis',
    async release({ timeoutMs }) {
      environment.snapshot();
      const status = internals.status;
      // never connected (lazyConnect), or quit by the app: nothing to release, nothing to take back
      if (status === 'wait' || status === 'end') return;
      const ended = new Promise<void>((resolve) => internals.once('end', () => resolve()));
      if (internals.manuallyClosing) {
        // the app called quit()/disconnect() just before: let it end, and leave it ended
        await ended;
        return;
      }
      reconnect = true;
      if (status === 'ready') {
        quitting = true;
        const quit = internals.quit().catch(() => {});
        quitting = false;
        const settled = await Promise.race([quit.then(() => true), sleep(timeoutMs, false)]);
        if (!settled) internals.disconnect();
      } else {
        // connecting or reconnecting: there is no reply to wait for
        internals.disconnect();
      }
      await ended;
    },
    resume() {
      if (!reconnect) return;
      reconnect = false;
      if (!isCluster) {
        // by default, the server the restoring environment names when it names another one
        const follow = options.fromEnv === undefined ? environment.changed().length > 0 : options.fromEnv !== false;
        const url = follow ? process.env[urlVariable] : undefined;
        Object.assign(internals.options, url ? redisSettingsFromUrl(url) : {}, options.config?.() ?? {});
        // ioredis re-selects the last connection's database when it connects again: make that the configured one
        if (internals.prevCondition) internals.prevCondition.select = Number(internals.options.db ?? 0);
      }
      // Our own disconnect() of a client that had not connected yet leaves ioredis's flag set (only a
      // 'close' after a connection clears it): the next checkpoint would take it for the app's quit.
      internals.manuallyClosing = false;
      // connect() before the gate opens: the held commands then wait in ioredis's offline queue until it is ready.
      // Not ready (the server is down): ioredis goes on retrying by its retryStrategy, as it would at start.
      connected = internals.connect().catch(() => {});
    },
    async afterOpen() {
      const connecting = connected;
      connected = undefined;
      await connecting;
    },
  });
  if (!suspension) return client;

  const { gate } = suspension;
  const sendCommand = internals.sendCommand;
  internals.sendCommand = function gatedSendCommand(command: CommandLike, ...rest: unknown[]) {
    // ioredis writes (p|s)subscribe during its handshake (they may run while Redis loads): the
    // connection then fails its ready check (INFO) and, reconnecting, forgets the subscription.
    // Held until ready, they go out after the check.
    if (internals.status === 'connect' && SUBSCRIBE_COMMANDS.has(command.name)) {
      internals.once('ready', () => gatedSendCommand(command, ...rest));
      return command.promise;
    }
    if (gate.isOpen || (quitting && command.name === 'quit')) return sendCommand.call(client, command, ...rest);
    gate.run(
      () => sendCommand.call(client, command, ...rest),
      (error) => command.reject(error),
    );
    return command.promise;
  };
  return client;
}

/** Commands that put a connection in subscriber mode. */
const SUBSCRIBE_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe']);
