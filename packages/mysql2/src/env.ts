import type { MysqlSettings } from './types.js';

/** The variables that name a MySQL or MariaDB server and its credentials, which a restore may change. */
export const MYSQL_ENV = [
  'DATABASE_URL',
  'MYSQL_URL',
  'MYSQL_HOST',
  'MYSQL_PORT',
  'MYSQL_USER',
  'MYSQL_PASSWORD',
  'MYSQL_DATABASE',
] as const;

const URL_SCHEMES = new Set(['mysql:', 'mariadb:']);

/**
 * The settings a `mysql://` (or `mariadb://`) URL names, in mysql2's option names:
 * `mysql://app:secret@db:3307/shop` -> `{ host: 'db', port: 3307, user: 'app', password: 'secret', database: 'shop' }`.
 * The port is 3306 when the URL names none; a user, password or database it does not name is left out.
 * @throws TypeError when `value` is not a URL of those schemes.
 */
export function mysqlSettingsFromUrl(value: string): MysqlSettings {
  const url = new URL(value);
  if (!URL_SCHEMES.has(url.protocol)) throw new TypeError(`not a mysql:// or mariadb:// URL: ${url.protocol}`);
  const settings: MysqlSettings = {};
  if (url.hostname) settings.host = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  settings.port = url.port ? Number(url.port) : 3306;
  if (url.username) settings.user = decodeURIComponent(url.username);
  if (url.password) settings.password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database) settings.database = database;
  return settings;
}

/** Whether `value` is a `mysql://` or `mariadb://` URL (a `DATABASE_URL` may name another kind of database). */
function isMysqlUrl(value: string | undefined): value is string {
  if (!value) return false;
  try {
    return URL_SCHEMES.has(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * The connection settings the environment names (those that are set): `MYSQL_URL`, else
 * `DATABASE_URL`, when it is a `mysql://` or `mariadb://` URL, then `MYSQL_HOST`, `MYSQL_PORT`,
 * `MYSQL_USER`, `MYSQL_PASSWORD` and `MYSQL_DATABASE` over what the URL names.
 *
 * @example
 * ```ts
 * mysqlSettingsFromEnv({ DATABASE_URL: 'mysql://app@db.internal/shop', MYSQL_PASSWORD: 'secret' });
 * // { host: 'db.internal', port: 3306, user: 'app', database: 'shop', password: 'secret' }
 * ```
 */
export function mysqlSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MysqlSettings {
  const url = [env.MYSQL_URL, env.DATABASE_URL].find(isMysqlUrl);
  const settings: MysqlSettings = url ? mysqlSettingsFromUrl(url) : {};
  if (env.MYSQL_HOST) settings.host = env.MYSQL_HOST;
  if (env.MYSQL_PORT) settings.port = Number(env.MYSQL_PORT);
  if (env.MYSQL_USER) settings.user = env.MYSQL_USER;
  if (env.MYSQL_PASSWORD) settings.password = env.MYSQL_PASSWORD;
  if (env.MYSQL_DATABASE) settings.database = env.MYSQL_DATABASE;
  return settings;
}
