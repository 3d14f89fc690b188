import type { PoolConfig } from 'pg';

/** The variables that name a PostgreSQL server and its credentials, which a restore may change. */
export const PG_ENV = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'] as const;

/** The connection settings the environment names (those that are set). */
export function pgSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<PoolConfig> {
  const settings: Partial<PoolConfig> = {};
  if (env.DATABASE_URL) settings.connectionString = env.DATABASE_URL;
  if (env.PGHOST) settings.host = env.PGHOST;
  if (env.PGPORT) settings.port = Number(env.PGPORT);
  if (env.PGUSER) settings.user = env.PGUSER;
  if (env.PGPASSWORD) settings.password = env.PGPASSWORD;
  if (env.PGDATABASE) settings.database = env.PGDATABASE;
  return settings;
}
