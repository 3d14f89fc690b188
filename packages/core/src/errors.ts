import type { EngineOutcome } from './types.js';

/**
 * Every error thrown by crac-node carries a stable `code` (`CRAC_E...`) that scripts and
 * callers can rely on; messages may improve between versions, codes do not change.
 */

/** Stable codes of the errors thrown by `@crac/core`. */
export const ErrorCode = {
  /** A `beforeCheckpoint` hook or the engine failed; the app keeps running. */
  CHECKPOINT: 'CRAC_ECHECKPOINT',
  /** One or more `afterRestore` hooks failed; the process keeps running. */
  RESTORE: 'CRAC_ERESTORE',
  /** A single resource's hook failed (found inside the two errors above). */
  RESOURCE: 'CRAC_ERESOURCE',
  /** A hook did not settle within its timeout. */
  TIMEOUT: 'CRAC_ETIMEOUT',
  /** `checkpointRestore()` was called while another checkpoint was running. */
  BUSY: 'CRAC_EBUSY',
  /** `checkpointRestore()` was called from inside a resource's hook. */
  REENTRANT: 'CRAC_EREENTRANT',
  /** The selected engine cannot run on this host (not built, not installed, wrong OS). */
  ENGINE_UNAVAILABLE: 'CRAC_EENGINE',
  /** An argument is not what the API accepts. */
  INVALID_ARGUMENT: 'CRAC_EINVAL',
  /** CRIU ran but could not dump the process; `criuErrors` holds its own error lines. */
  CRIU_DUMP: 'CRAC_ECRIU_DUMP',
  /** The CRIU binary could not be started. */
  CRIU_EXEC: 'CRAC_ECRIU_EXEC',
  /** CRIU could not restore the image; the message names the fix when one is known. */
  CRIU_RESTORE: 'CRAC_ECRIU_RESTORE',
  /**
   * A non-root user's CRIU binary lacks file capabilities that an unprivileged checkpoint or
   * restore needs (`missing` names them); the message gives the command that grants them.
   */
  CRIU_CAPABILITIES: 'CRAC_ECRIU_CAPS',
  /** What was asked needs root, and this process is not (a pid namespace for a restore, granting capabilities). */
  UNPRIVILEGED: 'CRAC_EUNPRIVILEGED',
  /** The image directory is missing, incomplete, unsafe or not from this host. */
  IMAGE: 'CRAC_EIMAGE',
  /** An image file is missing, truncated, altered or unexpected, or the image was never sealed. */
  IMAGE_CORRUPT: 'CRAC_EIMAGE_CORRUPT',
  /** The image was made with another node binary, addon, library, CPU or architecture than this host has. */
  IMAGE_FOREIGN: 'CRAC_EIMAGE_FOREIGN',
  /** A running process could not be asked to checkpoint (`crac checkpoint --pid`). */
  TRIGGER: 'CRAC_ETRIGGER',
  /** A system call around the checkpoint failed (opening the image directory, the RPC socket...). */
  IO: 'CRAC_EIO',
  /** A pool's borrowed connections were not given back before the checkpoint's timeout (`@crac/pg`, `@crac/generic-pool`, `suspendable()` of `@crac/core/kit`). */
  BORROWED: 'CRAC_EBORROWED',
  /** The audit refused the checkpoint: handles that no resource released are open (see `unreleased`). */
  UNRELEASED: 'CRAC_EUNRELEASED',
  /** A server could not listen again after a restore (the port is taken, say); `cause` holds the system error. */
  LISTEN: 'CRAC_ELISTEN',
  /** Requests were still running when a server's drain timed out, and the server was told to refuse the checkpoint then. */
  DRAIN: 'CRAC_EDRAIN',
  /**
   * A call held at a pool's gate during a leave-running checkpoint, refused in a restored copy:
   * the original process, whose caller is still there, runs it (copies would do it again).
   */
  HELD: 'CRAC_EHELD',
  /** A Node-API call of the native bridge failed (a bug or a very unusual Node build). */
  NAPI: 'CRAC_ENAPI',
  /** The native bridge ran out of memory. */
  NO_MEMORY: 'CRAC_ENOMEM',
  /** A restored copy could not reseed OpenSSL: its randomness would be the image's; the restore is refused. */
  RESEED: 'CRAC_ERESEED',
  /** A lever of the shrink before the dump is missing from this node binary (recorded, never fatal). */
  SHRINK: 'CRAC_ESHRINK',
  /** Warning: a watcher of `listen()` calls (server discovery of `@crac/express`) failed. */
  WATCH: 'CRAC_EWATCH',
  /** Warning: a restored copy could not read its restoring environment; `process.env` stays the image's. */
  RESTORE_ENVIRONMENT: 'CRAC_ERESTORE_ENV',
  /**
   * A stop signal (SIGTERM, SIGINT, SIGHUP) arrived during a checkpoint. Before the dump: the
   * checkpoint was abandoned, rolled back, and the app got the signal once. As a warning in a
   * restored copy: the signal reached the original process during the dump, and the copy dropped it.
   */
  STOP_SIGNAL: 'CRAC_ESIGNAL',
  /**
   * A process said it was dumping and did not end nor answer again in time (CRIU hung?). It was
   * sent no stop signal then: one that arrives mid-dump could be saved in the image.
   */
  DUMP_TIMEOUT: 'CRAC_EDUMP_TIMEOUT',
  /** `crac setup` could not provide a piece (CRIU, the native programs): the message says which, why, and what to do. */
  SETUP: 'CRAC_ESETUP',
  /** `crac setup` must install something system-wide and is not running as root. */
  NEEDS_ROOT: 'CRAC_EROOT',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Marks every CracError, whichever copy of @crac/core made it (see below). */
const CRAC_ERROR = Symbol.for('@crac/core/CracError');

/**
 * Base class of the single (non-aggregate) errors of crac-node.
 *
 * `error instanceof CracError` holds for a CracError made by any copy of @crac/core in the
 * process: the ESM and CommonJS builds, each entry point's CommonJS bundle (`@crac/core/kit`
 * throws what an app catches with `@crac/core`'s class), two versions.
 */
export class CracError extends Error {
  /** Stable machine-readable code, see {@link ErrorCode}. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, CRAC_ERROR, { value: true });
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // subclasses keep the ordinary check: only the base class is shared between copies
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked about
    if (this !== CracError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [CRAC_ERROR]?: boolean })[CRAC_ERROR] === true;
  }
}

/** The phase of the cycle a hook belongs to. */
export type HookPhase = 'beforeCheckpoint' | 'afterRestore';

/** A resource's hook threw, rejected or timed out. `cause` holds what it threw. */
export class ResourceError extends CracError {
  /** The name the resource was registered under. */
  readonly resourceName: string;
  /** Which hook failed. */
  readonly phase: HookPhase;

  constructor(resourceName: string, phase: HookPhase, cause: unknown) {
    super(ErrorCode.RESOURCE, `${phase} of resource "${resourceName}" failed: ${describe(cause)}`, { cause });
    this.resourceName = resourceName;
    this.phase = phase;
  }
}

/** A hook did not settle in time. It appears as the `cause` of a {@link ResourceError}. */
export class HookTimeoutError extends CracError {
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(resourceName: string, phase: HookPhase, timeoutMs: number) {
    super(
      ErrorCode.TIMEOUT,
      `${phase} of resource "${resourceName}" did not finish within ${timeoutMs} ms ` +
        '(raise it with the `timeoutMs` option of register() or `hookTimeoutMs` of checkpointRestore())',
    );
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The checkpoint did not happen and the app is still running.
 *
 * `errors` lists what failed: a {@link ResourceError} per failed `beforeCheckpoint` hook, or the
 * engine's own error. The resources that had been notified were given `afterRestore` (rollback);
 * if some of those failed too, they are in `rollbackErrors`.
 */
export class CheckpointError extends AggregateError {
  /** Always {@link ErrorCode.CHECKPOINT}. */
  readonly code = ErrorCode.CHECKPOINT;
  /** Failures of the rollback's `afterRestore` hooks, if any. */
  readonly rollbackErrors: readonly ResourceError[];

  constructor(errors: readonly unknown[], rollbackErrors: readonly ResourceError[] = [], message?: string) {
    super(errors, message ?? `checkpoint failed, the app keeps running: ${errors.map(describe).join('; ')}`);
    this.name = 'CheckpointError';
    this.rollbackErrors = rollbackErrors;
  }
}

/**
 * The process was checkpointed (or simulated) but one or more `afterRestore` hooks failed.
 * Every other resource was still notified and the process keeps running.
 */
export class RestoreError extends AggregateError {
  /** Always {@link ErrorCode.RESTORE}. */
  readonly code = ErrorCode.RESTORE;
  /** What happened to the process before the hooks failed (restored, left running, simulated). */
  readonly outcome: EngineOutcome | undefined;

  constructor(errors: readonly ResourceError[], outcome?: EngineOutcome, message?: string) {
    super(errors, message ?? `restore finished with failures: ${errors.map(describe).join('; ')}`);
    this.name = 'RestoreError';
    this.outcome = outcome;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
