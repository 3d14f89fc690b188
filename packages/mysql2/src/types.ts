import type { OnBorrowedTimeout, PoolAdapterOptions } from '@crac/core/kit';
import type { SslOptions } from 'mysql2';

export type { OnBorrowedTimeout };

/**
 * The connection settings {@link cracMysql} applies after a restore: those mysql2 keeps as given
 * in the pool's connection config, which every new connection is made from. `uri`
 * (`mysql://user:secret@host:3307/shop`) stands for the settings it names; the others given
 * beside it win.
 */
export interface MysqlSettings {
  /** A `mysql://` (or `mariadb://`) URL: its host, port (3306 when it names none), user, password and database. */
  uri?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** A Unix socket: mysql2 connects to it instead of `host` and `port` when set. */
  socketPath?: string;
  /** TLS options (an object; `rejectUnauthorized` defaults to true, as mysql2 makes it). */
  ssl?: SslOptions;
  connectTimeout?: number;
}

/** Options of {@link cracMysql}. `name` defaults to `"mysql2 pool"`. */
export interface CracMysqlOptions extends PoolAdapterOptions {
  /**
   * How long `beforeCheckpoint` waits for borrowed connections (`getConnection()` without a
   * `release()`, queries in flight, borrowers queued in the pool) to come back, in ms. Default 10 000.
   */
  timeoutMs?: number;
  /**
   * Past `timeoutMs`: `'fail'` (default) refuses the checkpoint with an error naming the pool
   * and how many connections are still out (the app runs on); `'destroy'` closes their sockets
   * (their borrowers' queries fail with `PROTOCOL_CONNECTION_LOST`, as if the server had gone)
   * and checkpoints.
   */
  onTimeout?: OnBorrowedTimeout;
  /**
   * Settings for the connections made after a restore, read in `afterRestore` (so from the
   * restoring environment) and applied to the pool's connection config.
   * @example `config: () => ({ uri: process.env.ORDERS_DATABASE_URL })`
   */
  config?: () => MysqlSettings;
  /**
   * After a restore, `MYSQL_URL` or `DATABASE_URL` (a `mysql://` URL), then `MYSQL_HOST`,
   * `MYSQL_PORT`, `MYSQL_USER`, `MYSQL_PASSWORD` and `MYSQL_DATABASE`, those that are set,
   * replace the pool's settings (those given explicitly too). `true`: always; `false`: never.
   * Default: when the restoring environment changed any of them since the checkpoint, so that
   * a copy restored elsewhere talks to the server it names, and settings the app chose stay
   * when it names nothing new. (`checkpointRestore()`'s `environment` lists what the restore changed.)
   */
  fromEnv?: boolean;
}
