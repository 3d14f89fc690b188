/**
 * Coordinated Restore at Checkpoint for Express: `app.use(cracExpress())` drains and closes the
 * app's servers before a checkpoint and makes them listen again after the restore.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { serverResource } from '@crac/core';
import { type ServerResource, type ServerResourceOptions, watchServers } from '@crac/core/kit';

/** Options of {@link cracExpress}: those of `serverResource()` from `@crac/core`. */
export interface CracExpressOptions extends Omit<ServerResourceOptions, 'name'> {
  /** Name of the servers' resources in errors and diagnostics. Default `'express server'`. */
  name?: string;
}

/** The middleware {@link cracExpress} returns: it passes every request on untouched. */
export interface CracExpressMiddleware {
  (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void;
  /** The resources of the servers found so far. */
  readonly resources: ReadonlySet<ServerResource>;
  /** Stops looking for new servers and unregisters those found (they are left as they are). */
  dispose(): void;
}

/** The parts of an Express application (4 or 5) that are read to find the middleware. */
interface AppLike {
  (...args: never[]): unknown;
  handle?: unknown;
  set?: unknown;
  _router?: RouterLike;
  router?: RouterLike;
}
interface RouterLike {
  stack?: { handle?: unknown }[];
}

/** How deep nested routers are searched for the middleware. */
const MAX_DEPTH = 8;

/**
 * Makes an Express app safe to checkpoint: `app.use(cracExpress())` is the whole integration.
 *
 * Every server that serves the app is registered with `serverResource()` of `@crac/core` (once):
 * before a checkpoint it stops accepting, lets requests in flight finish (with
 * `Connection: close`), closes idle keep-alive connections and its listener; after the restore it
 * listens again on the same address, or on the port `PORT` names in the restoring environment.
 *
 * How the servers are found, however the app was started: the servers that start listening
 * after this call (`app.listen()`, `http.createServer(app).listen()`,
 * `https.createServer(options, app).listen()`) are recognized when they listen, because their
 * request listener is an app whose router holds this middleware, so an app checkpointed before
 * its first request is covered. A server that was already listening when the middleware was
 * added is found at its first request.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { cracExpress } from '@crac/express';
 *
 * const app = express();
 * app.use(cracExpress({ drainTimeoutMs: 5_000 }));
 * app.get('/', (req, res) => res.send('hello'));
 * app.listen(Number(process.env.PORT ?? 3000));
 * ```
 */
export function cracExpress(options: CracExpressOptions = {}): CracExpressMiddleware {
  const resourceOptions: ServerResourceOptions = { ...options, name: options.name ?? 'express server' };
  const resources = new Set<ServerResource>();
  const seen = new WeakSet<object>();
  const adopt = (server: Server) => {
    seen.add(server);
    const resource = serverResource(server, resourceOptions);
    resources.add(resource);
  };

  const middleware = function cracExpress(request: IncomingMessage, _response: ServerResponse, next: (error?: unknown) => void) {
    const server = (request.socket as { server?: Server } | undefined)?.server;
    if (server && !seen.has(server)) adopt(server);
    next();
  } as CracExpressMiddleware;

  const stopWatching = watchServers(
    (server) => !seen.has(server) && server.listeners('request').some((listener) => servesMiddleware(listener, middleware)),
    adopt,
  );
  Object.defineProperties(middleware, {
    resources: { value: resources, enumerable: true },
    dispose: {
      value: () => {
        stopWatching();
        for (const resource of resources) resource.unregister();
        resources.clear();
      },
    },
  });
  return middleware;
}

export default cracExpress;

/** Whether `listener` is an Express app whose router (or a router mounted in it) holds `middleware`. */
function servesMiddleware(listener: unknown, middleware: unknown): boolean {
  if (typeof listener !== 'function') return false;
  const app = listener as AppLike;
  if (typeof app.handle !== 'function' || typeof app.set !== 'function') return false;
  return stackHolds(routerOf(app), middleware, 0);
}

function routerOf(app: AppLike): RouterLike | undefined {
  if (app._router) return app._router; // Express 4
  try {
    return app.router; // Express 5 (a getter that throws in Express 4)
  } catch {
    return undefined;
  }
}

function stackHolds(router: RouterLike | undefined, middleware: unknown, depth: number): boolean {
  if (!router || !Array.isArray(router.stack) || depth > MAX_DEPTH) return false;
  return router.stack.some(
    (layer) =>
      layer.handle === middleware || (typeof layer.handle === 'function' && stackHolds(layer.handle as RouterLike, middleware, depth + 1)),
  );
}
