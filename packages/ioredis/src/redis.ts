import { setTimeout as sleep } from 'node:timers/promises';
import { CracError, ErrorCode, getGlobalContext, Priority, type Resource } from '@crac/core';
import { claimOnce, Gate } from '@crac/core/kit';
import type { Cluster, Redis } from 'ioredis';
import { redisSettingsFromUrl } from './env.js';
import type { CracRedisOptions } from './types.js';

const TAG = '@crac/ioredis';
const DEFAULT_TIMEOUT_MS = 10_000;

interface CommandLike {
  name: string;
  promise: Promise<unknown>;
}

/**
 * What this adapter reads from an ioredis 5 client (`Redis` or `Cluster`). Public: `status`,
 * `quit()`, `disconnect()`, `connect()`, `options`, `isCluster`. Internal: `manuallyClosing`
 * (the app is quitting the client itself: it stays ended). Semi-public: `sendCommand()`
 * (every command, pipelines included, goes through it: the gate sits there). Subscriptions come
 * back through ioredis's own `autoResubscribe`, which replays what the last connection had
 * subscribed to (it keeps that across `quit()`).
 */
interface ClientInternals {
  status: string;
  manuallyClosing?: boolean;
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
 * connects again (with `config` / `fromEnv` applied), the held commands go out, and the
 * subscriptions (`subscribe`, `psubscribe`) come back. A client that never connected
 * (`lazyConnect`) or that was quit by the app is left as it is. Wrapping a client twice returns
 * it unchanged.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { cracRedis } from '@crac/ioredis';
 *
 * const redis = cracRedis(new Redis(process.env.REDIS_URL), { fromEnv: true });
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` when `client` is not an ioredis 5 client.
 */
export function cracRedis<C extends Redis | Cluster>(client: C, options: CracRedisOptions = {}): C {
  const internals = client as unknown as ClientInternals;
  if (
    internals === null ||
    typeof internals !== 'object' ||
    typeof internals.sendCommand !== 'function' ||
    typeof internals.quit !== 'function' ||
    typeof internals.connect !== 'function' ||
    typeof internals.status !== 'string'
  ) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, 'cracRedis() takes an ioredis 5 client (new Redis() or new Redis.Cluster())');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  if (claimOnce(client, TAG, true)) return client;

  const isCluster = internals.isCluster === true;
  const name = options.name ?? (isCluster ? 'redis cluster' : 'redis');
  const gate = new Gate();
  let quitting = false;
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
    gate.run(() => sendCommand.call(client, command, ...rest));
    return command.promise;
  };

  let reconnect = false;
  const resource: Resource = {
    name,
    async beforeCheckpoint() {
      gate.close();
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
    async afterRestore() {
      if (!reconnect) {
        gate.open();
        return;
      }
      reconnect = false;
      if (!isCluster) {
        const variable = options.fromEnv === true ? 'REDIS_URL' : options.fromEnv || undefined;
        const url = variable ? process.env[variable] : undefined;
        Object.assign(internals.options, url ? redisSettingsFromUrl(url) : {}, options.config?.() ?? {});
      }
      // connect() first: the held commands then wait in ioredis's offline queue until it is ready
      const connected = internals.connect();
      gate.open();
      // Not ready (the server is down): ioredis goes on retrying by its retryStrategy, as it would at start.
      await connected.catch(() => {});
    },
  };
  (options.context ?? getGlobalContext()).register(resource, { priority: Priority.CONNECTION, timeoutMs: timeoutMs + 10_000 });
  return client;
}

/** Commands that put a connection in subscriber mode. */
const SUBSCRIBE_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe']);
