import { Server } from 'node:net';
import { ErrorCode } from '../errors.js';
import { processRecord } from '../process-record.js';

/** Decides whether a server that is about to listen is one the watcher wants. */
export type ServerMatcher = (server: Server) => boolean;

interface Watcher {
  readonly match: ServerMatcher;
  readonly found: (server: Server) => void;
}

/** The one wrapper of `net.Server.prototype.listen`, process-wide, and who watches through it. */
export interface ListenHook {
  readonly watchers: Set<Watcher>;
  readonly original: Server['listen'];
}

/** Marks a server of crac-node's own (the control socket): no watcher sees it. */
const INTERNAL = Symbol.for('@crac/core:internal-server');

/** Hides a server of crac-node's own from every watcher (it is a resource of its own already). */
export function markInternal<T extends Server>(server: T): T {
  Object.defineProperty(server, INTERNAL, { value: true });
  return server;
}

/**
 * Calls `found(server)` for every server that starts listening from now on and that `match`
 * accepts, just before it listens, however it was started: `app.listen()`,
 * `http.createServer(app).listen()`, `https.createServer(options, app).listen()`, a framework's
 * extra bindings. `net.Server.prototype.listen` is wrapped once per process (every `http`,
 * `https` and `net` server listens through it); the wrapper never lets a watcher break a listen.
 *
 * This is how the HTTP adapters find the servers of the app they were given without another
 * line of code from the user.
 *
 * @returns a function that stops watching.
 *
 * @example
 * ```ts
 * const stop = watchServers((server) => server.listeners('request').includes(app), (server) => serverResource(server));
 * ```
 */
export function watchServers(match: ServerMatcher, found: (server: Server) => void): () => void {
  const watcher: Watcher = { match, found };
  const { watchers } = listenHook();
  watchers.add(watcher);
  return () => {
    watchers.delete(watcher);
  };
}

function listenHook(): ListenHook {
  // In the process-wide record: two copies of @crac/core in one process (ESM and CJS builds) patch once.
  const state = processRecord<{ listenHook: ListenHook }>();
  if (state.listenHook) return state.listenHook;
  const hook: ListenHook = { watchers: new Set(), original: Server.prototype.listen };
  state.listenHook = hook;
  const { original, watchers } = hook;
  Server.prototype.listen = function listen(this: Server, ...args: unknown[]) {
    if ((this as { [INTERNAL]?: boolean })[INTERNAL]) return Reflect.apply(original, this, args);
    for (const watcher of watchers) {
      try {
        if (watcher.match(this)) watcher.found(this);
      } catch (error) {
        process.emitWarning(`@crac/core: a server watcher failed: ${(error as Error).message}`, { code: ErrorCode.WATCH });
      }
    }
    return Reflect.apply(original, this, args);
  } as Server['listen'];
  return hook;
}
