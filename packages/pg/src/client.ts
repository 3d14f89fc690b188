import { once } from 'node:events';
import { CracError, ErrorCode } from '@crac/core';
import { suspendable } from '@crac/core/kit';
import type { Client, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { CracPgClientOptions } from './types.js';

/**
 * A stand-in for one `pg.Client` across checkpoints. A pg Client cannot connect again once
 * ended, so the handle makes a new one (with the factory you give it) whenever it needs a
 * connection: at the first call, after a restore, after the server dropped the connection.
 */
export interface PgClientHandle<C extends Client = Client> {
  /** The client in use now (`undefined` before the first call, and between a checkpoint and the next call). */
  readonly client: C | undefined;
  /** Connects now (it would happen at the first call anyway) and returns the client. */
  connect(): Promise<C>;
  /** `client.query()` through the handle: held during a checkpoint, connects when needed. */
  query<R extends QueryResultRow = QueryResultRow, I extends unknown[] = unknown[]>(
    text: string | QueryConfig<I>,
    values?: I,
  ): Promise<QueryResult<R>>;
  /**
   * Runs `fn` with the connected client, for anything beyond `query()` (transactions, COPY,
   * cursors). The checkpoint waits for it to settle.
   */
  use<T>(fn: (client: C) => Promise<T>): Promise<T>;
  /** Ends the client for good and leaves the checkpoint cycle. */
  end(): Promise<void>;
}

/**
 * Registers a lone `pg.Client` with the checkpoint cycle, through a handle that owns its
 * lifecycle: `create` makes a new, unconnected client each time one is needed.
 *
 * Before a checkpoint, new calls wait, calls in flight are waited for (`timeoutMs`), then the
 * client is ended. After the restore the calls go on and a new client connects at the first
 * one (`create` runs in the restored process, so it sees the restoring environment), then
 * `setup` runs on it. Session state (`LISTEN`, `SET`, temporary tables) does not survive: put
 * it in `setup`.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { cracPgClient } from '@crac/pg';
 *
 * const db = cracPgClient(() => new pg.Client({ connectionString: process.env.DATABASE_URL }), {
 *   setup: (client) => client.query('LISTEN jobs').then(() => void client.on('notification', onJob)),
 * });
 * const { rows } = await db.query('select now()');
 * ```
 */
export function cracPgClient<C extends Client>(create: () => C, options: CracPgClientOptions = {}): PgClientHandle<C> {
  if (typeof create !== 'function') {
    throw new CracError(
      ErrorCode.INVALID_ARGUMENT,
      'cracPgClient() takes a function that makes a new pg.Client: a client cannot connect again once ended',
    );
  }
  let current: C | undefined;
  let connecting: Promise<C> | undefined;
  let inFlight = 0;
  let ended = false;
  const { gate, name, unregister } = suspendable({
    options,
    defaultName: 'pg client',
    outstanding: { count: () => inFlight, what: 'call', state: 'in flight' },
    async release({ waitForOutstanding }) {
      // with onTimeout: 'destroy', the calls still in flight fail with the connection
      await waitForOutstanding();
      const client = current;
      if (!client) return;
      const pending = connecting;
      current = undefined;
      connecting = undefined;
      // a connection still being made is let finish, then ended
      await pending?.catch(() => {});
      await endClient(client);
    },
  });

  const drop = (client: C) => {
    if (current === client) {
      current = undefined;
      connecting = undefined;
    }
  };

  const connect = (): Promise<C> => {
    if (ended) return Promise.reject(new CracError(ErrorCode.INVALID_ARGUMENT, `${name}: end() was called`));
    connecting ??= (async () => {
      const client = create();
      current = client;
      let reported = false;
      client.on('error', (error: Error) => {
        drop(client);
        // pg may emit twice for one broken connection (the server's FATAL, then the close)
        if (!reported) options.onError?.(error);
        reported = true;
      });
      client.once('end', () => drop(client));
      try {
        await client.connect();
        await options.setup?.(client as unknown as Client);
        return client;
      } catch (error) {
        drop(client);
        client.end().catch(() => {});
        throw error;
      }
    })();
    return connecting;
  };

  const use = <T>(fn: (client: C) => Promise<T>): Promise<T> =>
    Promise.resolve(
      gate.call(async () => {
        inFlight++;
        try {
          return await fn(await connect());
        } finally {
          inFlight--;
        }
      }),
    );

  return {
    get client() {
      return current;
    },
    connect: () => Promise.resolve(gate.call(connect)),
    query: <R extends QueryResultRow>(text: unknown, values?: unknown) =>
      use((client) => client.query(text as never, values as never) as unknown as Promise<QueryResult<R>>),
    use,
    async end() {
      ended = true;
      unregister();
      const client = current;
      current = undefined;
      connecting = undefined;
      if (client) await endClient(client);
    },
  };
}

async function endClient(client: Client): Promise<void> {
  const state = client as unknown as { _ended?: boolean; _connected?: boolean; _connecting?: boolean };
  if (state._ended || !(state._connected || state._connecting)) {
    await client.end().catch(() => {});
    return;
  }
  const ended = once(client, 'end');
  await client.end().catch(() => {});
  await ended;
}
