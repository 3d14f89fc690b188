/**
 * Something that holds what cannot travel in a checkpoint image (a listening socket, a
 * database connection...) and knows how to let go of it and take it back.
 *
 * Both hooks may be synchronous or return a promise.
 *
 * @example
 * ```ts
 * const resource: Resource = {
 *   name: 'metrics socket',
 *   async beforeCheckpoint() { await socket.close(); },
 *   async afterRestore() { socket = await connect(process.env.METRICS_URL); },
 * };
 * getGlobalContext().register(resource);
 * ```
 */
export interface Resource {
  /** A name for errors and diagnostics; `register()`'s `name` option takes precedence. */
  readonly name?: string;
  /**
   * Release what cannot be saved in the image. Throwing cancels the checkpoint. `signal` is
   * aborted when the hook's timeout expires, or when a stop signal (SIGTERM...) abandons the
   * checkpoint: stop waiting then (the checkpoint is cancelled and `afterRestore` follows once
   * this hook has settled).
   */
  beforeCheckpoint(context: ResourceContext, signal: AbortSignal): void | Promise<void>;
  /** Take back what was released, with the restoring host's configuration. `signal`: as above. */
  afterRestore(context: ResourceContext, signal: AbortSignal): void | Promise<void>;
}

/** Options of {@link Context.register}. */
export interface RegisterOptions {
  /** Name shown in errors and diagnostics. Defaults to `resource.name`, then the class name. */
  name?: string;
  /**
   * Where the resource stands in the order. Higher priorities are notified first before a
   * checkpoint and last after a restore. See {@link Priority}. Default {@link Priority.NORMAL}.
   */
  priority?: number;
  /** Timeout of each of this resource's hooks, in ms. Defaults to the cycle's `hookTimeoutMs`. */
  timeoutMs?: number;
}

/**
 * Named priorities. Entry points (HTTP servers, queue consumers) stop taking work before the
 * connections they use are closed, and come back only once those connections are back.
 */
export const Priority = {
  /** Servers and consumers: first to stop, last to come back. */
  ENTRY_POINT: 100,
  /** Anything else. */
  NORMAL: 0,
  /** Pools and clients of other services: last to stop, first to come back. */
  CONNECTION: -100,
} as const;

/** Removes a registration; calling it twice is harmless. */
export type Unregister = () => void;

/**
 * The context that notifies a resource (a `Context`): what a hook may use of it, for instance to
 * register a resource for the next cycle.
 */
export interface ResourceContext {
  readonly name: string;
  register(resource: Resource, options?: RegisterOptions): Unregister;
  unregister(resource: Resource): boolean;
}

/**
 * What the engine reports: `restored` in a process that was restored from the image,
 * `checkpointed` in a process that was saved and left running, `simulated` when no image was made.
 */
export type EngineOutcome = 'restored' | 'checkpointed' | 'simulated';
