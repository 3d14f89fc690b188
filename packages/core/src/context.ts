import { performance } from 'node:perf_hooks';
import { CheckpointError, CracError, ErrorCode, type HookPhase, HookTimeoutError, ResourceError, RestoreError } from './errors.js';
import { cycleScope, DEFAULT_HOOK_TIMEOUT_MS } from './cycle/scope.js';
import { publish } from './cycle/diagnostics.js';
import { Priority, type RegisterOptions, type Resource, type ResourceContext, type Unregister } from './types.js';

interface Entry {
  readonly resource: Resource;
  readonly name: string;
  readonly priority: number;
  readonly timeoutMs: number | undefined;
  readonly seq: number;
}

/**
 * An ordered set of resources, notified together. A context is itself a {@link Resource}, so
 * a library can keep its own context and register it in the global one.
 *
 * Order: before a checkpoint, higher priorities first and, within a priority, the most recently
 * registered first; after a restore, exactly the reverse.
 *
 * Registering during a cycle: each cycle notifies the resources registered when it began.
 * A resource registered or unregistered while a cycle runs (from a hook, say) takes part, or
 * stops taking part, from the next cycle on; one unregistered mid-cycle still gets the
 * `afterRestore` matching the `beforeCheckpoint` it already had.
 *
 * @example
 * ```ts
 * const context = new Context();
 * context.register(server, { priority: Priority.ENTRY_POINT });
 * context.register(pool, { priority: Priority.CONNECTION });
 * getGlobalContext().register(context, { name: 'my-library' });
 * ```
 */
export class Context implements Resource {
  readonly name: string;
  #entries: Entry[] = [];
  #seq = 0;
  /** What the last `beforeCheckpoint` notified, in notification order: `afterRestore` mirrors it. */
  #notified: Entry[] = [];
  /** `beforeCheckpoint` hooks that timed out and may still be running: their `afterRestore` waits for them. */
  readonly #late = new Map<Entry, Promise<unknown>>();

  constructor(name = 'context') {
    this.name = name;
  }

  /**
   * Adds a resource. Registering the same resource again in this context changes nothing and
   * returns the same kind of unregister function.
   *
   * @returns a function that removes the registration.
   * @throws {@link CracError} `CRAC_EINVAL` if the resource lacks either hook or an option is out of range.
   */
  register(resource: Resource, options: RegisterOptions = {}): Unregister {
    validate(resource, options);
    if (!this.#entries.some((entry) => entry.resource === resource)) {
      this.#entries.push({
        resource,
        name: options.name ?? resource.name ?? defaultName(resource, this.#seq),
        priority: options.priority ?? Priority.NORMAL,
        timeoutMs: options.timeoutMs,
        seq: this.#seq++,
      });
    }
    return () => this.unregister(resource);
  }

  /** Removes a resource; returns whether it was registered. */
  unregister(resource: Resource): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => entry.resource !== resource);
    return this.#entries.length !== before;
  }

  /** Number of registered resources. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Notifies every resource, in order, even when some fail. Once `signal` is aborted (the
   * checkpoint is abandoned: a stop signal arrived, or this context's own hook timed out), the
   * hook running is told through its own signal and no further resource is notified.
   * @throws {@link CheckpointError} listing a {@link ResourceError} per failed hook (and the
   * abort's reason first, when aborted). The resources notified so far (failed ones included) are
   * remembered: a following {@link Context.afterRestore} gives them back what they released.
   */
  async beforeCheckpoint(_parent?: ResourceContext, signal?: AbortSignal): Promise<void> {
    const order = [...this.#entries].sort((a, b) => b.priority - a.priority || b.seq - a.seq);
    this.#notified = [];
    const errors: unknown[] = [];
    for (const entry of order) {
      if (signal?.aborted) break;
      this.#notified.push(entry);
      const error = await this.#invoke(entry, 'beforeCheckpoint', signal);
      if (error) errors.push(error);
    }
    if (signal?.aborted) errors.unshift(signal.reason);
    if (errors.length > 0) throw new CheckpointError(errors);
  }

  /**
   * Notifies, in the reverse order, every resource the last {@link Context.beforeCheckpoint}
   * notified, even when some fail.
   * @throws {@link RestoreError} listing a {@link ResourceError} per failed hook.
   */
  async afterRestore(): Promise<void> {
    const order = this.#notified.reverse();
    this.#notified = [];
    const errors: ResourceError[] = [];
    for (const entry of order) {
      await this.#settleLate(entry);
      const error = await this.#invoke(entry, 'afterRestore');
      if (error) errors.push(error);
    }
    if (errors.length > 0) throw new RestoreError(errors);
  }

  #timeoutOf(entry: Entry): number {
    return entry.timeoutMs ?? cycleScope.getStore()?.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  }

  /**
   * A `beforeCheckpoint` that timed out may still be closing things: giving them back first would
   * let it close them again afterwards. Wait for it to settle (one more timeout at most).
   */
  async #settleLate(entry: Entry): Promise<void> {
    const late = this.#late.get(entry);
    if (!late) return;
    this.#late.delete(entry);
    await withTimeout(late, this.#timeoutOf(entry), () => new Error('still running')).catch(() => {});
  }

  async #invoke(entry: Entry, phase: HookPhase, outer?: AbortSignal): Promise<ResourceError | undefined> {
    const timeoutMs = this.#timeoutOf(entry);
    publish.hookStart({ resourceName: entry.name, phase });
    const started = performance.now();
    const abort = new AbortController();
    // the hook hears of an abandoned checkpoint too (it still settles before anything is given back)
    const stopOuter = () => abort.abort(outer?.reason);
    outer?.addEventListener('abort', stopOuter, { once: true });
    let call: Promise<void> | undefined;
    let error: ResourceError | undefined;
    try {
      const scope = cycleScope.getStore();
      call = cycleScope.run({ ...scope, hookTimeoutMs: timeoutMs, hook: entry.name }, async () =>
        entry.resource[phase](this, abort.signal),
      );
      await withTimeout(call, timeoutMs, () => new HookTimeoutError(entry.name, phase, timeoutMs));
    } catch (cause) {
      error = new ResourceError(entry.name, phase, cause);
      if (cause instanceof HookTimeoutError) {
        abort.abort(cause);
        if (phase === 'beforeCheckpoint' && call)
          this.#late.set(
            entry,
            call.catch(() => {}),
          );
      }
    }
    outer?.removeEventListener('abort', stopOuter);
    publish.hookEnd({ resourceName: entry.name, phase, durationMs: performance.now() - started, error });
    return error;
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function validate(resource: Resource, options: RegisterOptions): void {
  if (
    resource === null ||
    typeof resource !== 'object' ||
    typeof resource.beforeCheckpoint !== 'function' ||
    typeof resource.afterRestore !== 'function'
  ) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, 'register() takes an object with beforeCheckpoint() and afterRestore() methods');
  }
  if (options.priority !== undefined && !Number.isFinite(options.priority)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `priority must be a finite number, got ${String(options.priority)}`);
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `timeoutMs must be a positive number, got ${String(options.timeoutMs)}`);
  }
}

function defaultName(resource: Resource, seq: number): string {
  const className = resource.constructor?.name;
  return className && className !== 'Object' ? className : `resource #${seq + 1}`;
}
