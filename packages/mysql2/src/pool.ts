import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expectShape, suspendable, watchEnvironment } from '@crac/core/kit';
import type { Pool } from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import { MYSQL_ENV, mysqlSettingsFromEnv, mysqlSettingsFromUrl } from './env.js';
import type { CracMysqlOptions, MysqlSettings } from './types.js';

const TAG = '@crac/mysql2';

/** How long an idle connection is given to close after its `COM_QUIT` before its socket is destroyed. */
const QUIT_GRACE_MS = 5_000;

/**
 * What this adapter reads from a mysql2 core pool (`lib/base/pool.js`, mysql2 3). Public:
 * `getConnection(callback)`; `pool.query()`, `pool.execute()`, the promise pool's methods and
 * the pool itself, when a released connection goes to a queued borrower, all borrow through
 * `this.getConnection()`, which is what lets one gate on it hold them all. Internal (mysql2 has
 * no public counts): `config.connectionConfig` (every new connection is made from it),
 * `_allConnections`, `_freeConnections`, `_connectionQueue` (queues with `length` and `get(i)`),
 * `_closed`; of a connection: `stream`, `_pool`, `_realEnd()` (the `COM_QUIT` of `pool.end()`).
 */
type GetConnection = (callback: (error: Error | null, connection?: CoreConnection) => void) => unknown;

interface Queue<T> {
  readonly length: number;
  get(index: number): T | undefined;
}

interface CoreConnection extends EventEmitter {
  stream?: Socket;
  _pool?: unknown;
  _realEnd?: (callback?: (error?: Error | null) => void) => unknown;
  destroy(): void;
}

interface CorePool {
  getConnection: GetConnection;
  config: { connectionConfig: Record<string, unknown> };
  _allConnections: Queue<CoreConnection>;
  _freeConnections: Queue<CoreConnection>;
  _connectionQueue: Queue<unknown>;
  _closed?: boolean;
}

const SHAPE = {
  getConnection: 'function',
  'config.connectionConfig': 'object',
  '_allConnections.length': 'number',
  '_freeConnections.length': 'number',
  '_connectionQueue.length': 'number',
} as const;

/**
 * Registers a mysql2 pool with the checkpoint cycle and returns it: a pool of the callback API
 * (`mysql2`'s `createPool()`) or of the promise API (`mysql2/promise`'s `createPool()`, or
 * `pool.promise()`), which share the core pool this adapter takes care of.
 *
 * Before a checkpoint, new borrowers (`getConnection()`, `query()`, `execute()`) wait in a queue,
 * the connections already borrowed are waited for (`timeoutMs`), then every idle connection is
 * closed. After the restore the queue goes on and the pool connects again lazily, as it does at
 * start, with `config` / `fromEnv` applied: by default, when the restoring environment changed
 * `MYSQL_URL`, `DATABASE_URL` or a `MYSQL_*` variable, the pool follows it (an image built in CI
 * and restored in production talks to production's database). The pool is never ended.
 * Wrapping a pool twice (or its promise wrapper and itself) registers it once.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import { cracMysql } from '@crac/mysql2';
 *
 * const pool = cracMysql(mysql.createPool(process.env.DATABASE_URL ?? 'mysql://app@127.0.0.1/shop'));
 * const [rows] = await pool.query('select 1 as one');
 * ```
 * @example
 * ```ts
 * import mysql from 'mysql2';
 * import { cracMysql } from '@crac/mysql2';
 *
 * // the callback API, with a shorter wait for borrowed connections
 * const pool = cracMysql(mysql.createPool({ host: 'db', user: 'app', database: 'shop' }), {
 *   name: 'shop db',
 *   timeoutMs: 5_000,
 * });
 * pool.query('select 1 as one', (error, rows) => {});
 * ```
 * @throws {@link CracError} `CRAC_EINVAL` when `pool` is not a mysql2 pool this adapter knows
 * (a lone connection, a PoolCluster), or when an option is out of range.
 */
export function cracMysql<P extends Pool | PromisePool>(pool: P, options: CracMysqlOptions = {}): P {
  const core = expectShape<CorePool>(
    corePoolOf(pool),
    SHAPE,
    'cracMysql() takes a mysql2 pool (mysql2 3): createPool() of mysql2 or of mysql2/promise',
  );
  const getConnection = core.getConnection;
  const environment = watchEnvironment(MYSQL_ENV);
  const suspension = suspendable({
    target: core,
    tag: TAG,
    options,
    defaultName: 'mysql2 pool',
    outstanding: {
      // borrowed (or being connected), and queued in the pool for one
      count: () => borrowed(core).length + core._connectionQueue.length,
      what: 'connection',
      hint: 'a getConnection() without release(), or a long query',
      destroy: () => destroyBorrowed(core),
    },
    async release({ waitForOutstanding }) {
      environment.snapshot();
      if (core._closed) return;
      await waitForOutstanding();
      await closeIdle(core);
    },
    resume() {
      // by default, the server the restoring environment names when it names another one
      const fromEnv = options.fromEnv ?? environment.changed().length > 0;
      if (fromEnv) applySettings(core.config.connectionConfig, mysqlSettingsFromEnv());
      const own = options.config?.();
      if (own) applySettings(core.config.connectionConfig, own);
    },
  });
  if (!suspension) return pool;

  const { gate } = suspension;
  // One gate in front of every borrower: query(), execute(), the promise pool and the pool's own
  // hand-over to a queued borrower all go through this.getConnection().
  core.getConnection = function gatedGetConnection(callback) {
    if (gate.isOpen) return getConnection.call(core, callback);
    gate.run(
      () => getConnection.call(core, callback),
      (error) => callback(error),
    );
    return undefined;
  };
  return pool;
}

/** The core pool: the pool itself, or the one a promise pool wraps (`.pool`). */
function corePoolOf(pool: unknown): unknown {
  const inner = (pool as { pool?: unknown } | null | undefined)?.pool as Partial<CorePool> | undefined;
  if (inner && typeof inner === 'object' && typeof inner.getConnection === 'function' && typeof inner.config === 'object') return inner;
  return pool;
}

function items<T>(queue: Queue<T>): T[] {
  const all: T[] = [];
  for (let i = 0; i < queue.length; i++) {
    const item = queue.get(i);
    if (item !== undefined) all.push(item);
  }
  return all;
}

/** The connections out of the pool's hands: borrowed, or still connecting for a borrower. */
function borrowed(core: CorePool): CoreConnection[] {
  const free = new Set(items(core._freeConnections));
  return items(core._allConnections).filter((connection) => !free.has(connection));
}

/**
 * Closes every idle connection as `pool.end()` would (`COM_QUIT`, then the server closes);
 * mysql2 takes each out of the pool on its `end`. The pool stays open.
 */
async function closeIdle(core: CorePool): Promise<void> {
  // the gate is closed and nothing is out: nobody takes or returns a connection meanwhile
  for (let round = 0; round < 3 && core._freeConnections.length > 0; round++) {
    await Promise.all(items(core._freeConnections).map(quit));
  }
}

async function quit(connection: CoreConnection): Promise<void> {
  const stream = connection.stream;
  // an error of a connection on its way out is nobody's business
  connection.on('error', () => {});
  if (!stream || stream.destroyed || typeof connection._realEnd !== 'function') {
    connection.destroy();
    return;
  }
  const closed = once(stream, 'close');
  const grace = setTimeout(() => stream.destroy(), QUIT_GRACE_MS);
  connection._realEnd((error) => {
    if (error) stream.destroy();
  });
  await closed.finally(() => clearTimeout(grace));
  // normally gone from the pool on its 'end'; not if the socket was destroyed
  if (connection._pool) connection.destroy();
}

/**
 * Destroys the sockets of the connections still borrowed: mysql2 fails their commands with
 * `PROTOCOL_CONNECTION_LOST` and takes them out of the pool; their borrowers' next calls fail.
 */
async function destroyBorrowed(core: CorePool): Promise<void> {
  await Promise.all(
    borrowed(core).map(async (connection) => {
      connection.on('error', () => {});
      const stream = connection.stream;
      if (!stream || stream.destroyed) {
        connection.destroy();
        return;
      }
      const closed = once(stream, 'close');
      stream.destroy();
      await closed;
    }),
  );
}

/** Applies settings to the pool's connection config: a `uri` first, the settings given beside it over it. */
function applySettings(connectionConfig: Record<string, unknown>, settings: MysqlSettings): void {
  const { uri, ...given } = settings;
  const all: MysqlSettings = { ...(uri ? mysqlSettingsFromUrl(uri) : {}), ...given };
  for (const [key, value] of Object.entries(all)) {
    if (value === undefined) continue;
    // as mysql2 makes it when the pool is created: TLS verifies the server unless told not to
    connectionConfig[key] =
      key === 'ssl' && value && typeof value === 'object' ? { ...value, rejectUnauthorized: value.rejectUnauthorized !== false } : value;
  }
}
