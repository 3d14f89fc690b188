import type { RedisOptions } from 'ioredis';

/**
 * The connection settings of a `redis://` or `rediss://` URL, in ioredis's option names.
 * `redis://user:secret@host:6380/2` -> `{ host, port: 6380, username: 'user', password: 'secret', db: 2 }`.
 */
export function redisSettingsFromUrl(value: string): Partial<RedisOptions> {
  const url = new URL(value);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TypeError(`not a redis:// or rediss:// URL: ${url.protocol}`);
  }
  const settings: Partial<RedisOptions> = {};
  if (url.hostname) settings.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  settings.port = url.port ? Number(url.port) : 6379;
  if (url.username) settings.username = decodeURIComponent(url.username);
  if (url.password) settings.password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '') || url.searchParams.get('db');
  if (db) settings.db = Number(db);
  if (url.protocol === 'rediss:') settings.tls = {};
  return settings;
}
