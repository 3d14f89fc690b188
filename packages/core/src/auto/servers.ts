import { adoptServer, hasServerResource } from '../http/server-resource.js';
import { watchServers } from '../http/watch-servers.js';

/**
 * Makes every server that listens from now on a resource, whoever created it: `http`, `https`,
 * `http2`, `tls` and `net` servers, from Next.js, Koa, Hapi, Hono's node server or the app's own
 * `createServer()`. Each is drained before a checkpoint and listens again after it, as
 * `serverResource()` does (on the restoring environment's `PORT` when it listened on `PORT`).
 * A server that already has a resource (an adapter's, the app's own) keeps it, and one the app
 * registers later replaces this one.
 *
 * @returns a function that stops watching (the servers found keep their resources).
 */
export function adoptEveryServer(): () => void {
  return watchServers((server) => !hasServerResource(server), adoptServer);
}
