import type { Context } from '../context.js';
import { CracError, ErrorCode } from '../errors.js';
import { getGlobalContext } from '../global-context.js';
import { Priority, type Resource, type Unregister } from '../types.js';
import { claimOnce, isClaimed, ZERO_CODE_CLAIM } from './claim-once.js';
import { Gate } from './gate.js';
import { heldWorkBelongsElsewhere } from '../cycle/scope.js';
import { waitUntil } from './wait-until.js';

const DEFAULT_TIMEOUT_MS = 10_000;

// An adapter's hook must fail with its own error (CRAC_EBORROWED naming the pool and the count)
// or destroy what is out once `timeoutMs` has passed, and then still close what is idle: its
// hook timeout (CRAC_ETIMEOUT, which says nothing of the pool) is `timeoutMs` and this much more.
const HOOK_TIMEOUT_MARGIN_MS = 10_000;

/** What to do with what is still borrowed (or in flight) when `timeoutMs` has passed. */
export type OnBorrowedTimeout = 'fail' | 'destroy';

/** The options every adapter built on {@link suspendable} takes. */
export interface AdapterOptions {
  /** Name shown in errors and diagnostics. Each adapter has its default (`"pg pool"`, `"redis"`...). */
  name?: string;
  /** How long `beforeCheckpoint` waits for what is borrowed or in flight, in ms. Default 10 000. */
  timeoutMs?: number;
  /** The context to register in. Default: the global context. */
  context?: Context;
}

/** The options of adapters whose users borrow connections (pools, client handles). */
export interface PoolAdapterOptions extends AdapterOptions {
  /**
   * Past `timeoutMs`: `'fail'` (default) refuses the checkpoint with `CRAC_EBORROWED`, naming the
   * adapter and how many are still out (the app runs on); `'destroy'` ends them (their borrowers
   * see a closed connection) and checkpoints.
   */
  onTimeout?: OnBorrowedTimeout;
}

/** What a {@link suspendable} waits for before a checkpoint, and how its refusal reads. */
export interface Outstanding {
  /** How many are out now (borrowed, in flight, being connected); the checkpoint waits for 0. */
  count(): number;
  /** The number the error names, when it is not `count()`. */
  countInError?(): number;
  /** What is out, singular: `'client'`, `'resource'`, `'call'`. */
  what: string;
  /** `'borrowed'` (default) or `'in flight'`: "1 client is still borrowed", "2 calls are still in flight". */
  state?: 'borrowed' | 'in flight';
  /** How they usually come to be out, shown in brackets: `'an acquire() without release()'`. */
  hint?: string;
  /** With `onTimeout: 'destroy'`, ends what is still out. Without it, `release()` ends it with the rest. */
  destroy?(): Promise<void>;
}

/** What {@link SuspendableSpec.release} is given. */
export interface ReleaseContext {
  /**
   * Waits until `outstanding.count()` is 0. After `timeoutMs` it throws `CRAC_EBORROWED`, or with
   * `onTimeout: 'destroy'` runs `outstanding.destroy()` and returns. Returns at once without `outstanding`.
   */
  waitForOutstanding(): Promise<void>;
  /** The validated `timeoutMs`, for an adapter that waits in its own way (a `QUIT` and its replies). */
  timeoutMs: number;
}

/** What {@link suspendable} takes: the adapter's options and the few steps only it knows. */
export interface SuspendableSpec {
  /** The pool or client wrapped: claimed under `tag`, so wrapping it twice registers it once. */
  target?: object;
  /** The adapter's package name, for the claim: `'@crac/pg'`. */
  tag?: string;
  /** The options the user passed: `name`, `timeoutMs`, `onTimeout` and `context` are checked and used here. */
  options: PoolAdapterOptions | undefined;
  /** The name when `options.name` is not given. */
  defaultName: string;
  /** What `waitForOutstanding()` waits for; without it, it returns at once. */
  outstanding?: Outstanding;
  /**
   * Before a checkpoint, with the gate closed: lets go of every connection. Call
   * `waitForOutstanding()` where what is borrowed must be back.
   */
  release(context: ReleaseContext): Promise<void>;
  /** After a restore (or a refused checkpoint), before the gate opens: settings, reconnecting. */
  resume?(): void | Promise<void>;
  /** After a restore, once the held callers have been let through. */
  afterOpen?(): void | Promise<void>;
}

/** A registered {@link suspendable}. */
export interface Suspension {
  /** Closed from `beforeCheckpoint` until `resume()` has run: put it in front of every borrower. */
  readonly gate: Gate;
  /** The resource's name (`options.name`, else the default). */
  readonly name: string;
  /** The validated `timeoutMs`. */
  readonly timeoutMs: number;
  /** Leaves the checkpoint cycle. */
  readonly unregister: Unregister;
}

/**
 * The skeleton of a pool or client adapter. Checks the options (`timeoutMs` a positive number,
 * default 10 000; `onTimeout`; `name`; `context`), claims `target` once, and registers a
 * resource at {@link Priority.CONNECTION} in `options.context` (default: the global context)
 * whose hooks:
 *
 * - before a checkpoint, close the {@link Gate} (new borrowers wait), then run `release()`;
 *   its `waitForOutstanding()` waits until `outstanding.count()` is 0, then after `timeoutMs`
 *   refuses the checkpoint with `CRAC_EBORROWED` ("orders db: 2 clients are still borrowed after
 *   5000 ms (hint); release them, raise timeoutMs, or set onTimeout: "destroy"") or, with
 *   `onTimeout: 'destroy'`, runs `outstanding.destroy()`;
 * - after a restore (or when the checkpoint was refused), run `resume()`, open the gate (the held
 *   borrowers go on, in order), then run `afterOpen()`.
 *
 * @returns what the adapter needs to wire the gate in, or `undefined` when `target` was already
 * claimed under `tag` (the adapter then returns it unchanged).
 * @throws {@link CracError} `CRAC_EINVAL` when an option is out of range.
 *
 * @example
 * ```ts
 * export function cracThing(pool: ThingPool, options: PoolAdapterOptions = {}): ThingPool {
 *   const suspension = suspendable({
 *     target: pool,
 *     tag: '@acme/crac-thing',
 *     options,
 *     defaultName: 'thing pool',
 *     outstanding: { count: () => pool.borrowed, what: 'connection', destroy: () => pool.destroyBorrowed() },
 *     async release({ waitForOutstanding }) {
 *       await waitForOutstanding();
 *       await pool.closeIdle();
 *     },
 *     resume: () => pool.configure({ url: process.env.THING_URL }),
 *   });
 *   if (!suspension) return pool; // wrapped already
 *   const { gate } = suspension;
 *   const acquire = pool.acquire;
 *   pool.acquire = (...args) => Promise.resolve(gate.call(() => acquire.apply(pool, args)));
 *   return pool;
 * }
 * ```
 */
export function suspendable(spec: SuspendableSpec & { target: object; tag: string }): Suspension | undefined;
export function suspendable(spec: SuspendableSpec & { target?: undefined }): Suspension;
export function suspendable(spec: SuspendableSpec): Suspension | undefined {
  const options = spec.options ?? {};
  const timeoutMs = checkOptions(options);
  if (spec.target !== undefined && claimOnce(spec.target, spec.tag ?? '', true)) {
    if (isClaimed(spec.target, ZERO_CODE_CLAIM)) warnTooLate(spec, options);
    return undefined;
  }

  const name = options.name ?? spec.defaultName;
  const gate = new Gate();
  let signal: AbortSignal | undefined;
  const waitForOutstanding = async () => {
    const outstanding = spec.outstanding;
    if (!outstanding || (await waitUntil(() => outstanding.count() === 0, { timeoutMs, signal }))) return;
    if (options.onTimeout !== 'destroy') {
      throw new CracError(ErrorCode.BORROWED, borrowedMessage(name, outstanding, timeoutMs));
    }
    await outstanding.destroy?.();
  };
  const resource: Resource = {
    name,
    async beforeCheckpoint(_context, hookSignal) {
      signal = hookSignal;
      gate.close();
      await spec.release({ waitForOutstanding, timeoutMs });
    },
    async afterRestore() {
      await spec.resume?.();
      if (heldWorkBelongsElsewhere() && gate.heldCount > 0) {
        const count = gate.heldCount;
        gate.refuseHeld(
          new CracError(
            ErrorCode.HELD,
            `${name}: ${count} call${count === 1 ? '' : 's'} held during a leave-running checkpoint belong${count === 1 ? 's' : ''} to the original process, which runs ${count === 1 ? 'it' : 'them'}; refused in this restored copy`,
          ),
        );
      }
      gate.open();
      await spec.afterOpen?.();
    },
  };
  const unregister = (options.context ?? getGlobalContext()).register(resource, {
    priority: Priority.CONNECTION,
    timeoutMs: timeoutMs + HOOK_TIMEOUT_MARGIN_MS,
  });
  return { gate, name, timeoutMs, unregister };
}

/** An adapter called on a client the zero-code path had taken care of already: its options are not used. */
function warnTooLate(spec: SuspendableSpec, options: PoolAdapterOptions): void {
  const name = options.name ?? spec.defaultName;
  process.emitWarning(
    `${spec.tag}: ${name} was taken care of without code already (by crac checkpoint's preload, with the adapter's defaults), ` +
      'so the options given now are not used: wrap it in the turn that makes it, or leave it out with CRAC_AUTO',
    { code: ErrorCode.INVALID_ARGUMENT },
  );
}

/** Returns `timeoutMs`, defaulted; throws `CRAC_EINVAL` on an option out of range. */
function checkOptions(options: PoolAdapterOptions): number {
  const invalid = (message: string) => new CracError(ErrorCode.INVALID_ARGUMENT, message);
  if (typeof options !== 'object') throw invalid(`options must be an object, got ${String(options)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw invalid(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  const { onTimeout, name, context } = options;
  if (onTimeout !== undefined && onTimeout !== 'fail' && onTimeout !== 'destroy') {
    throw invalid(`onTimeout must be 'fail' or 'destroy', got ${String(onTimeout)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw invalid(`name must be a non-empty string, got '${String(name)}'`);
  }
  if (context !== undefined && typeof context?.register !== 'function') throw invalid('context must be a Context');
  return timeoutMs;
}

/** "orders db: 2 clients are still borrowed after 5000 ms (hint); release them, raise timeoutMs, or set onTimeout: "destroy"". */
function borrowedMessage(name: string, outstanding: Outstanding, timeoutMs: number): string {
  const count = outstanding.countInError ? outstanding.countInError() : outstanding.count();
  const state = outstanding.state ?? 'borrowed';
  const hint = outstanding.hint ? ` (${outstanding.hint})` : '';
  const advice = state === 'borrowed' ? 'release them, raise timeoutMs, or set' : 'raise timeoutMs or set';
  return `${name}: ${count} ${outstanding.what}${count === 1 ? ' is' : 's are'} still ${state} after ${timeoutMs} ms${hint}; ${advice} onTimeout: "destroy"`;
}
