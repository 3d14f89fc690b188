/**
 * Coordinated Restore at Checkpoint for Fastify: `await app.register(cracFastify)` drains and
 * closes the app's servers before a checkpoint and makes them listen again after the restore.
 *
 * @packageDocumentation
 */
import type { Server } from 'node:net';
import { serverResource } from '@crac/core';
import { type ServerResource, type ServerResourceOptions, watchServers } from '@crac/core/kit';
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';

/** Options of {@link cracFastify}: those of `serverResource()` from `@crac/core`. */
export interface CracFastifyOptions extends Omit<ServerResourceOptions, 'name'> {
  /** Name of the servers' resources in errors and diagnostics. Default `'fastify server'`. */
  name?: string;
}

/** What the plugin decorates the instance with, as `fastify.crac`. */
export interface CracFastifyDecorator {
  /** The resources of the app's servers: `fastify.server`, and the extra bindings once it listens. */
  readonly resources: ReadonlySet<ServerResource>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Added by `@crac/fastify`. */
    crac: CracFastifyDecorator;
  }
}

const plugin: FastifyPluginCallback<CracFastifyOptions> = (fastify: FastifyInstance, options, done) => {
  const { name = 'fastify server', drainTimeoutMs, onDrainTimeout, portEnv, context } = options;
  const resourceOptions: ServerResourceOptions = { name, drainTimeoutMs, onDrainTimeout, portEnv, context };
  const resources = new Set<ServerResource>();
  const adopt = (server: Server) => {
    resources.add(serverResource(server, resourceOptions));
  };

  // The main server exists from fastify() on. Listening on `localhost`, fastify also binds the
  // other addresses of that name (127.0.0.1 and ::1) with servers of its own that share the
  // main server's request handler: they are recognized by it when they listen.
  const main = fastify.server as unknown as Server;
  adopt(main);
  const handlers = new Set(main.listeners('request'));
  const stopWatching = watchServers(
    (server) => server !== main && server.listeners('request').some((listener) => handlers.has(listener as (...args: unknown[]) => void)),
    adopt,
  );

  fastify.decorate('crac', { resources } satisfies CracFastifyDecorator);
  // fastify.close() is the app's own shutdown: the servers then unregister themselves as they close.
  fastify.addHook('onClose', (_instance, closed) => {
    stopWatching();
    closed();
  });
  done();
};

/**
 * The Fastify plugin: `await app.register(cracFastify, options)` is the whole integration.
 *
 * Every server of the app (`app.server`, and the extra bindings fastify makes when it listens on
 * `localhost`) is registered with `serverResource()` of `@crac/core`: before a checkpoint it
 * stops accepting, lets requests in flight finish (with `Connection: close`), closes idle
 * keep-alive connections and its listener; after the restore it listens again on the same
 * address, or on the port `PORT` names in the restoring environment. The plugin never calls
 * `fastify.close()`, which cannot be undone: only the servers' listeners are closed and reopened.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { cracFastify } from '@crac/fastify';
 *
 * const app = Fastify();
 * await app.register(cracFastify, { drainTimeoutMs: 5_000 });
 * app.get('/', async () => ({ hello: 'world' }));
 * await app.listen({ port: Number(process.env.PORT ?? 3000) });
 * ```
 */
export const cracFastify = fp(plugin, { fastify: '5.x', name: '@crac/fastify' });

export default cracFastify;
