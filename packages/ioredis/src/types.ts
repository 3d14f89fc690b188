import type { AdapterOptions } from '@crac/core/kit';
import type { RedisOptions } from 'ioredis';

/** Options of {@link cracRedis}. `name` defaults to `"redis"` (`"redis cluster"` for a cluster). */
export interface CracRedisOptions extends AdapterOptions {
  /**
   * How long `beforeCheckpoint` lets the pending commands finish (`QUIT` waits for their
   * replies) before it drops the connection anyway, in ms. Default 10 000.
   */
  timeoutMs?: number;
  /**
   * Settings for the connection made after a restore, read in `afterRestore` (so from the
   * restoring environment) and merged into `client.options`. Standalone `Redis` only.
   * @example `config: () => ({ host: process.env.REDIS_HOST, port: Number(process.env.REDIS_PORT) })`
   */
  config?: () => Partial<RedisOptions>;
  /**
   * After a restore, read the connection URL from the environment: when it is set, its host,
   * port, username, password, database and `rediss:` (TLS) replace the client's. `true`: always,
   * from `REDIS_URL`; a variable's name: always, from that one; `false`: never. Default: from
   * `REDIS_URL` when the restoring environment changed it since the checkpoint (a copy restored
   * elsewhere talks to the server it names). Standalone `Redis` only.
   */
  fromEnv?: boolean | string;
}
