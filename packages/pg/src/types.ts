import type { OnBorrowedTimeout, PoolAdapterOptions } from '@crac/core/kit';
import type { Client, PoolConfig } from 'pg';

export type { OnBorrowedTimeout };

/** Options of {@link cracPg}. `name` defaults to `"pg pool"`. */
export interface CracPgOptions extends PoolAdapterOptions {
  /**
   * How long `beforeCheckpoint` waits for borrowed clients (`pool.connect()` without a
   * `release()`, queries in flight) to come back, in ms. Default 10 000.
   */
  timeoutMs?: number;
  /**
   * Past `timeoutMs`: `'fail'` (default) refuses the checkpoint with an error naming the pool
   * and how many clients are still out (the app runs on); `'destroy'` ends their connections
   * (their borrowers' queries fail, as if the server had closed them) and checkpoints.
   */
  onTimeout?: OnBorrowedTimeout;
  /**
   * Settings for the connections made after a restore, read in `afterRestore` (so from the
   * restoring environment) and merged into the pool's options.
   * @example `config: () => ({ connectionString: process.env.DATABASE_URL })`
   */
  config?: () => Partial<PoolConfig>;
  /**
   * After a restore, `DATABASE_URL` (as `connectionString`), `PGHOST`, `PGPORT`, `PGUSER`,
   * `PGPASSWORD` and `PGDATABASE`, those that are set, replace the pool's settings (those given
   * explicitly too). `true`: always; `false`: never. Default: when the restoring environment
   * changed any of them since the checkpoint, so that a copy restored elsewhere talks to the
   * server it names, and settings the app chose stay when it names nothing new.
   * (`checkpointRestore()`'s `environment` lists what the restore changed.)
   */
  fromEnv?: boolean;
}

/**
 * Options of {@link cracPgClient}. `name` defaults to `"pg client"`; `timeoutMs` is how long
 * `beforeCheckpoint` waits for the calls in flight; with `onTimeout: 'destroy'` the connection is
 * ended anyway.
 */
export interface CracPgClientOptions extends PoolAdapterOptions {
  /**
   * Runs on every new client once it is connected, before any call goes through: `LISTEN`,
   * `SET`, prepared state, event listeners. A client made after a restore starts from scratch.
   */
  setup?: (client: Client) => void | Promise<void>;
  /**
   * Errors of the connection between calls (the server went away), reported once per client:
   * the client is dropped and the next call connects a new one. Default: ignored (they reach the caller of the next call
   * as a connection error, as pg would).
   */
  onError?: (error: Error) => void;
}
