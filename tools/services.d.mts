// Types of services.mjs.
/** A server this process started. */
export interface Service {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** A connection URL (`postgres://postgres@127.0.0.1:PORT/postgres`, `redis://127.0.0.1:PORT`, `http://127.0.0.1:PORT`). */
  readonly url: string;
  /** The server's pid while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Stops the server (fast shutdown), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; a running server is stopped first. */
  restart(): Promise<void>;
  /** Stops it if it runs and removes its data. Safe to call twice. */
  dispose(): Promise<void>;
}

/** A throwaway PostgreSQL server this process started. */
export interface PostgresService extends Service {
  /** The directory of its Unix socket (`.s.PGSQL.PORT`): `?host=DIR&port=PORT` in a connection URL. */
  readonly socketDir: string;
}
/** A throwaway PostgreSQL 15 on a free port of 127.0.0.1 (trust auth, user and database `postgres`). */
export function startPostgres(options?: { port?: number }): Promise<PostgresService>;
/** Where Debian's `docker-registry` puts the CNCF distribution registry. */
export const REGISTRY_BIN: string;
/**
 * A throwaway OCI registry (Debian's `docker-registry`) on a free port of 127.0.0.1: plain HTTP,
 * no authentication; images are `127.0.0.1:PORT/NAME:TAG`, pushed and pulled with `--tls-verify=false`.
 */
export function startRegistry(options?: { port?: number }): Promise<Service>;
/** A throwaway Redis on a free port of 127.0.0.1, without persistence. */
export function startRedis(options?: { port?: number }): Promise<Service>;
/** A node of a {@link RedisCluster}: a Redis server with its cluster-bus port. */
export interface RedisClusterNode extends Service {
  readonly busPort: number;
}
/** A throwaway Redis Cluster this process started. */
export interface RedisCluster {
  readonly nodes: readonly RedisClusterNode[];
  /** The nodes' client ports. */
  readonly ports: number[];
  /** `[{ host, port }]` of every node: what `new Redis.Cluster(seeds)` takes. */
  readonly seeds: { host: string; port: number }[];
  /**
   * Stops every node and starts it again on its ports: it rejoins from its cluster configuration
   * (same node ids, same slots), with no data (no persistence). Resolves at `cluster_state:ok`.
   */
  restart(): Promise<void>;
  /** Stops every node and removes their data. */
  dispose(): Promise<void>;
}
/** A throwaway Redis Cluster of `masters` (3) nodes on free ports of 127.0.0.1, no replicas, no persistence, `cluster_state:ok`. */
export function startRedisCluster(options?: { masters?: number }): Promise<RedisCluster>;
/** DATABASE_URL / REDIS_URL for the servers needed: the caller's when set, else throwaway ones disposed through `atEnd`. */
export function serviceEnvironment(
  needed: Iterable<'postgres' | 'redis'>,
  options: { atEnd(cleanup: () => Promise<void>): void; progress?(message: string): void },
): Promise<Record<string, string>>;
