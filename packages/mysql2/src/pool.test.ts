import { CheckpointError, Context, checkpointRestore } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MariaDb, startMariaDb } from '../../../test/helpers/mariadb.js';
import { MYSQL_ENV } from './env.js';
import { cracMysql, mysqlSettingsFromEnv } from './index.js';

// Real mysql2 against two throwaway MariaDB servers started here (test/helpers/mariadb.ts; the
// second one is where a restore may point the pool), simulated checkpoints.
let a: MariaDb;
let b: MariaDb;
let admin: mysqlPromise.Connection;
const ended: (() => Promise<void>)[] = [];
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startMariaDb(), startMariaDb()]);
  admin = await mysqlPromise.createConnection({ host: a.host, port: a.port, user: 'root' });
}, 120_000);

afterAll(async () => {
  await admin?.end().catch(() => {});
  await Promise.all([a?.stop(), b?.stop()]);
}, 60_000);

const savedEnv = Object.fromEntries(MYSQL_ENV.map((name) => [name, process.env[name]]));
afterEach(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all(ended.splice(0).map((end) => end().catch(() => {})));
});

/** What the tests read of a core pool to see what it holds. */
interface Counts {
  _allConnections: { length: number };
  _freeConnections: { length: number };
}
const total = (pool: mysql.Pool | mysqlPromise.Pool) => (('pool' in pool ? pool.pool : pool) as unknown as Counts)._allConnections.length;

/** A callback-API pool on server a, in a database of its own (the server counts its connections by it). */
async function newPool(config: mysql.PoolOptions = {}) {
  const database = `crac_${process.pid}_${++seq}`;
  await admin.query(`create database ${database}`);
  const pool = mysql.createPool({ host: a.host, port: a.port, user: 'root', database, connectionLimit: 4, ...config });
  ended.push(() => new Promise<void>((resolve) => pool.end(() => resolve())));
  return { pool, database };
}

/** A promise-API pool on server a, in a database of its own. */
async function newPromisePool(config: mysql.PoolOptions = {}) {
  const database = `crac_${process.pid}_${++seq}`;
  await admin.query(`create database ${database}`);
  const pool = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', database, connectionLimit: 4, ...config });
  ended.push(() => pool.end());
  return { pool, database };
}

/**
 * Connections server a sees in a database, once that number is `expected` (a closed connection
 * leaves the server's process list a moment after its socket closed) or after 3 s.
 */
async function serverConnections(database: string, expected = 0): Promise<number> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const [rows] = await admin.query<mysqlPromise.RowDataPacket[]>(
      'select count(*) as n from information_schema.processlist where db = ?',
      [database],
    );
    const n = Number(rows[0]?.n);
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const queryCb = (pool: mysql.Pool, sql: string) =>
  new Promise<mysql.RowDataPacket[]>((resolve, reject) =>
    pool.query<mysql.RowDataPacket[]>(sql, (error, rows) => (error ? reject(error) : resolve(rows))),
  );

describe('cracMysql', () => {
  it('closes every idle connection before the checkpoint and reconnects lazily after it', async () => {
    const context = new Context();
    const { pool, database } = await newPool();
    expect(cracMysql(pool, { context })).toBe(pool);
    await Promise.all([1, 2, 3].map((n) => queryCb(pool, `select ${n} as n, sleep(0.1)`)));
    expect(total(pool)).toBe(3);
    expect(await serverConnections(database, 3)).toBe(3);

    let seen: { total: number; server: number } | undefined;
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        seen = { total: total(pool), server: await serverConnections(database, 0) };
      },
    });
    await checkpointRestore({ engine, context });
    expect(seen).toEqual({ total: 0, server: 0 });
    expect(total(pool)).toBe(0); // lazily: nothing until a borrower comes
    const rows = await queryCb(pool, 'select 41 + 1 as answer');
    expect(rows[0]?.answer).toBe(42);
    expect(total(pool)).toBe(1);
  });

  it('holds new borrowers (query, execute, getConnection; callback and promise API) until the restore, then serves them', async () => {
    const context = new Context();
    const { pool } = await newPool();
    cracMysql(pool, { context });
    await queryCb(pool, 'select 1');

    let held: Promise<unknown>[] = [];
    const settled: string[] = [];
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        held = [
          queryCb(pool, 'select 1 as n').then((rows) => rows[0]?.n),
          new Promise((resolve, reject) =>
            pool.execute<mysql.RowDataPacket[]>('select ? as n', [2], (error, rows) => (error ? reject(error) : resolve(rows[0]?.n))),
          ),
          new Promise((resolve, reject) =>
            pool.getConnection((error, connection) => {
              if (error) return reject(error);
              connection.release();
              resolve('connected');
            }),
          ),
          pool
            .promise()
            .query<mysql.RowDataPacket[]>('select 4 as n')
            .then(([rows]) => rows[0]?.n),
        ];
        for (const [i, promise] of held.entries()) promise.then(() => settled.push(String(i)));
        await new Promise((resolve) => setTimeout(resolve, 100));
        // nothing went through, and nothing failed
        expect(settled).toEqual([]);
        expect(total(pool)).toBe(0);
      },
    });
    await checkpointRestore({ engine, context });
    expect(await Promise.all(held)).toEqual([1, 2, 'connected', 4]);
  });

  it('waits for a borrowed connection to be released', async () => {
    const context = new Context();
    const { pool, database } = await newPromisePool();
    cracMysql(pool, { context });
    const connection = await pool.getConnection();
    setTimeout(() => connection.release(), 150);
    let server = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          server = await serverConnections(database, 0);
        },
      }),
      context,
    });
    expect(server).toBe(0);
  });

  it('refuses the checkpoint when a connection is not released in time, naming the pool and the count; the pool works on', async () => {
    const context = new Context();
    const { pool } = await newPromisePool();
    cracMysql(pool, { context, name: 'orders db', timeoutMs: 200 });
    const stuck = await pool.getConnection();
    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message).toContain('orders db');
    expect(message).toContain('1 connection is still borrowed after 200 ms');
    expect((error as CheckpointError).errors[0]?.cause.code).toBe('CRAC_EBORROWED');
    // rolled back: the gate is open again
    expect((await pool.query<mysqlPromise.RowDataPacket[]>('select 7 as n'))[0][0]?.n).toBe(7);
    expect((await stuck.query<mysqlPromise.RowDataPacket[]>('select 8 as n'))[0][0]?.n).toBe(8);
    stuck.release();
  });

  it('with onTimeout "destroy", closes the borrowed connections (a query in flight fails) and checkpoints', async () => {
    const context = new Context();
    const { pool, database } = await newPromisePool();
    cracMysql(pool, { context, timeoutMs: 100, onTimeout: 'destroy' });
    const stuck = await pool.getConnection();
    const busy = await pool.getConnection();
    const inFlight = busy.query('select sleep(1)');
    inFlight.catch(() => {});
    let server = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          server = await serverConnections(database, 0);
        },
      }),
      context,
    });
    expect(server).toBe(0);
    await expect(inFlight).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
    await expect(stuck.query('select 1')).rejects.toThrow();
    stuck.release();
    busy.release();
    expect((await pool.query<mysqlPromise.RowDataPacket[]>('select 9 as n'))[0][0]?.n).toBe(9);
  });

  it('takes a promise pool, its core pool or a callback pool’s promise() as one pool', async () => {
    const context = new Context();
    const { pool, database } = await newPromisePool();
    expect(cracMysql(pool, { context })).toBe(pool);
    expect(cracMysql(pool.pool, { context })).toBe(pool.pool);
    const again = pool.pool.promise();
    expect(cracMysql(again, { context })).toBe(again);
    expect(context.size).toBe(1);
    await Promise.all([pool.query('select sleep(0.1)'), again.query('select sleep(0.1)')]);
    expect(total(pool)).toBe(2);
    let server = -1;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          server = await serverConnections(database, 0);
        },
      }),
      context,
    });
    expect(server).toBe(0);
    const [rows] = await pool.execute<mysqlPromise.RowDataPacket[]>('select ? + 1 as answer', [41]);
    expect(rows[0]?.answer).toBe(42);
  });

  it('re-reads the connection settings in afterRestore: config(), a uri in it, and fromEnv: true', async () => {
    const port = async (pool: mysqlPromise.Pool) => (await pool.query<mysqlPromise.RowDataPacket[]>('select @@port as port'))[0][0]?.port;
    const context = new Context();
    const pool = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', connectionLimit: 2 });
    ended.push(() => pool.end());
    let target = a.port;
    cracMysql(pool, { context, config: () => ({ port: target }) });
    expect(await port(pool)).toBe(a.port);
    target = b.port;
    await checkpointRestore({ engine: 'simulate', context });
    expect(await port(pool)).toBe(b.port);

    const second = new Context();
    const byUri = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', connectionLimit: 2 });
    ended.push(() => byUri.end());
    cracMysql(byUri, { context: second, config: () => ({ uri: b.url }) });
    await checkpointRestore({ engine: 'simulate', context: second });
    expect(await port(byUri)).toBe(b.port);

    const third = new Context();
    const always = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', connectionLimit: 2 });
    ended.push(() => always.end());
    cracMysql(always, { context: third, fromEnv: true });
    process.env.MYSQL_URL = b.url;
    await checkpointRestore({ engine: 'simulate', context: third });
    expect(await port(always)).toBe(b.port);
  });

  it('follows a MySQL setting that the restore changed, with no option; keeps its settings when the environment names nothing new', async () => {
    const port = async (pool: mysqlPromise.Pool) => (await pool.query<mysqlPromise.RowDataPacket[]>('select @@port as port'))[0][0]?.port;
    const restoredWith = (env: Record<string, string>) =>
      createSimulateEngine({
        onCheckpoint: () => {
          Object.assign(process.env, env);
        },
      });
    const context = new Context();
    const pool = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', connectionLimit: 2 });
    ended.push(() => pool.end());
    cracMysql(pool, { context });
    // set before the checkpoint and unchanged by the restore: the pool's own settings stay
    process.env.MYSQL_PORT = String(b.port);
    process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
    await checkpointRestore({ engine: 'simulate', context });
    expect(await port(pool), 'unchanged: the pool keeps its own settings').toBe(a.port);

    delete process.env.MYSQL_PORT;
    await checkpointRestore({ engine: restoredWith({ DATABASE_URL: `mysql://root@127.0.0.1:${b.port}/` }), context });
    expect(await port(pool), 'DATABASE_URL changed by the restore').toBe(b.port);
    await checkpointRestore({ engine: restoredWith({ MYSQL_PORT: String(a.port) }), context });
    expect(await port(pool), 'MYSQL_PORT changed by the restore, over DATABASE_URL').toBe(a.port);

    const pinnedContext = new Context();
    const pinned = mysqlPromise.createPool({ host: a.host, port: a.port, user: 'root', connectionLimit: 2 });
    ended.push(() => pinned.end());
    cracMysql(pinned, { context: pinnedContext, fromEnv: false });
    await checkpointRestore({ engine: restoredWith({ MYSQL_PORT: String(b.port) }), context: pinnedContext });
    expect(await port(pinned), 'fromEnv: false').toBe(a.port);
  });

  it('registers a pool once however often it is wrapped, at Priority.CONNECTION', async () => {
    const context = new Context();
    const { pool } = await newPool();
    cracMysql(pool, { context });
    cracMysql(pool, { context });
    expect(context.size).toBe(1);
    await queryCb(pool, 'select 1');
    const order: string[] = [];
    context.register({ name: 'server', beforeCheckpoint: () => void order.push('server'), afterRestore: () => {} }, { priority: 100 });
    await checkpointRestore({
      engine: createSimulateEngine({ onCheckpoint: () => void order.push(`dump with ${total(pool)}`) }),
      context,
    });
    expect(order).toEqual(['server', 'dump with 0']);
  });

  it('relies on query(), execute() and the promise pool borrowing through this.getConnection() (mysql2 internals this adapter uses)', async () => {
    const { pool } = await newPool();
    let calls = 0;
    const getConnection = pool.getConnection;
    pool.getConnection = function (this: mysql.Pool, ...args: unknown[]) {
      calls++;
      return (getConnection as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.getConnection;
    await queryCb(pool, 'select 1');
    await new Promise((resolve, reject) => pool.execute('select ?', [1], (error) => (error ? reject(error) : resolve(undefined))));
    await pool.promise().query('select 1');
    await pool.promise().execute('select 1');
    expect(calls).toBe(4);
    type Queue = { length: number; get(i: number): unknown };
    const internals = pool as unknown as {
      _allConnections: Queue;
      _freeConnections: Queue;
      _connectionQueue: Queue;
      config: { connectionConfig: Record<string, unknown> };
    };
    for (const queue of ['_allConnections', '_freeConnections', '_connectionQueue'] as const) {
      expect(typeof internals[queue]?.length, queue).toBe('number');
      expect(typeof internals[queue]?.get, queue).toBe('function');
    }
    expect(internals._freeConnections.get(0)).toBe(internals._allConnections.get(0));
    expect(internals.config.connectionConfig).toMatchObject({ host: a.host, port: a.port });
    const connection = internals._allConnections.get(0) as { stream: unknown; _pool: unknown; _realEnd: unknown };
    expect(connection._pool).toBe(pool);
    expect(typeof connection._realEnd).toBe('function');
    expect(connection.stream).toBeTruthy();
  });

  it('leaves an ended pool alone', async () => {
    const context = new Context();
    const pool = mysql.createPool({ host: a.host, port: a.port, user: 'root' });
    cracMysql(pool, { context });
    await queryCb(pool, 'select 1');
    await new Promise<void>((resolve) => pool.end(() => resolve()));
    await expect(checkpointRestore({ engine: 'simulate', context })).resolves.toMatchObject({ outcome: 'simulated' });
  });

  it('refuses what is not a mysql2 pool with CRAC_EINVAL', async () => {
    const lone = await mysqlPromise.createConnection({ host: a.host, port: a.port, user: 'root' });
    const cluster = mysql.createPoolCluster();
    try {
      for (const value of [{}, null, lone, (lone as unknown as { connection: unknown }).connection, cluster]) {
        expect(() => cracMysql(value as unknown as mysql.Pool)).toThrow(
          expect.objectContaining({ code: 'CRAC_EINVAL', message: expect.stringMatching(/mysql2 pool/) }),
        );
      }
    } finally {
      await lone.end();
      cluster.end();
    }
  });
});

describe('mysqlSettingsFromEnv', () => {
  it('reads a mysql:// MYSQL_URL or DATABASE_URL, then the MYSQL_* variables over it', () => {
    expect(mysqlSettingsFromEnv({})).toEqual({});
    expect(mysqlSettingsFromEnv({ DATABASE_URL: 'mysql://app:s%40cret@db.internal/shop' })).toEqual({
      host: 'db.internal',
      port: 3306,
      user: 'app',
      password: 's@cret',
      database: 'shop',
    });
    expect(mysqlSettingsFromEnv({ DATABASE_URL: 'postgres://pg@elsewhere/x', MYSQL_HOST: 'db' })).toEqual({ host: 'db' });
    expect(
      mysqlSettingsFromEnv({
        DATABASE_URL: 'mysql://ignored/x',
        MYSQL_URL: 'mariadb://root@[::1]:3307',
        MYSQL_PORT: '3308',
        MYSQL_USER: 'u',
        MYSQL_PASSWORD: 'p',
        MYSQL_DATABASE: 'd',
      }),
    ).toEqual({ host: '::1', port: 3308, user: 'u', password: 'p', database: 'd' });
  });
});
