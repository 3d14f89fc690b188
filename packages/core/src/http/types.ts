import type { Server } from 'node:net';
import type { Context } from '../context.js';

/** What {@link serverResource} does when requests are still running at the end of the drain. */
export type DrainTimeoutAction = 'close' | 'refuse';

/** Options of {@link serverResource}, shared by the HTTP adapters (`@crac/express`, `@crac/fastify`). */
export interface ServerResourceOptions {
  /** Name shown in errors and diagnostics. Default `'http server'`. */
  name?: string;
  /**
   * How long requests in flight get to finish before a checkpoint, in ms. Default 10 000.
   * The resource's hooks get this plus 5 s as their own timeout.
   */
  drainTimeoutMs?: number;
  /**
   * When requests are still running after `drainTimeoutMs`: `'close'` (default) closes their
   * connections and the checkpoint goes on; `'refuse'` fails the checkpoint with `CRAC_EDRAIN`
   * (the server listens again, the requests run on).
   */
  onDrainTimeout?: DrainTimeoutAction;
  /**
   * The environment variable that names the port after a restore (`process.env` is then the
   * restoring environment). Default `'PORT'`; `false` always listens on the same port.
   * A server follows it when the restoring environment gives it a value other than the one it
   * had at the checkpoint, and the server listened on that old value (or the variable was unset).
   */
  portEnv?: string | false;
  /** Where to register. Default: the global context. */
  context?: Context;
}

/** Where a server listened before the checkpoint: a TCP address or a pipe / unix socket path. */
export type ListenAddress = { host: string; port: number } | { path: string };

/** A server the HTTP drain can handle: `http.Server`, `https.Server` (or any `net.Server` that has the same methods). */
export type HttpServerLike = Server & {
  closeIdleConnections?: () => void;
  closeAllConnections?: () => void;
};
