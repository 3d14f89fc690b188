import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { auditHandles } from '../audit/audit.js';
import { resolveAuditMode, resolvePolicy } from '../audit/policy.js';
import type { AuditMode, AuditReport, UnreleasedOption } from '../audit/types.js';
import { UnreleasedHandlesError } from '../audit/unreleased-error.js';
import { registerBuiltins } from '../builtins/index.js';
import type { Context } from '../context.js';
import { cycleScope, DEFAULT_HOOK_TIMEOUT_MS } from './scope.js';
import { publish } from './diagnostics.js';
import { StopSignalInterceptor, stopSignalError } from './stop-signals.js';
import type { Engine, EngineName, EngineOutcome, EngineResult } from '../engine/engine.js';
import type { ShrinkReport } from '../engine/criu/shrink.js';
import { resolveEngine } from '../engine/select.js';
import { CheckpointError, CracError, ErrorCode, type ResourceError, RestoreError } from '../errors.js';
import { core } from '../global-context.js';

import type { EnvironmentChanges } from '../restored/environment.js';

/** Options of {@link checkpointRestore}. */
export interface CheckpointOptions {
  /** `'criu'`, `'simulate'` or an {@link Engine}. Default: `CRAC_ENGINE`, else `'criu'`. */
  engine?: EngineName | Engine;
  /** Where the image goes (required by engines that make one). Default: `CRAC_IMAGES_DIR`. */
  imagesDir?: string;
  /** Keep this process running once the image is written. Default `false`. */
  leaveRunning?: boolean;
  /** Timeout of each hook unless the resource set its own, in ms. Default 30 000. */
  hookTimeoutMs?: number;
  /** The context to notify. Default: the global context. */
  context?: Context;
  /**
   * What to do with open handles that no resource released (sockets, servers, files...), found
   * by the audit after the `beforeCheckpoint` hooks: `'refuse'` (default), `'ignore'`, `'close'`,
   * or one per kind (`{ 'tcp-socket': 'close', default: 'refuse' }`). Default: `CRAC_UNRELEASED`.
   */
  unreleased?: UnreleasedOption;
  /**
   * Whether the audit applies that policy (`'enforce'`), only reports (`'report'`, in
   * `CheckpointResult.audit`) or does not run (`'off'`). Default: `CRAC_AUDIT`, else `'report'`
   * for the simulate engine (it makes no image) and `'enforce'` for the others.
   */
  audit?: AuditMode;
  /**
   * Make the process small right before the dump (V8's low-memory notification, then
   * `malloc_trim`): a smaller image that restores faster, for about 100-200 ms more checkpoint
   * time. Engines that make no image ignore it. Default: `CRAC_SHRINK` (`0` turns it off), else `true`.
   */
  shrink?: boolean;
  /**
   * Names this checkpoint in the image's manifest, so that whoever asked for it can tell its
   * image from an older one (the `crac` CLI passes its request's id). Default: a fresh id.
   */
  checkpointId?: string;
}

/** How long each phase took, in milliseconds. */
export interface PhaseTimings {
  beforeCheckpointMs: number;
  /** The audit of open handles (0 when it was off). */
  auditMs: number;
  checkpointMs: number;
  afterRestoreMs: number;
  totalMs: number;
}

/** What {@link checkpointRestore} resolves with. */
export interface CheckpointResult {
  /** `restored` in the restored process, `checkpointed` when left running, `simulated` with no image. */
  outcome: EngineOutcome;
  /** The engine's name. */
  engine: string;
  /** The image directory, when the engine made one. */
  imagesDir?: string;
  /** In a restored copy: what the restoring environment changed in `process.env` (before any afterRestore hook). */
  environment?: EnvironmentChanges;
  /** Duration of each phase as seen by this process (in a restored process, `checkpointMs` spans the gap). */
  timings: PhaseTimings;
  /** What the audit of open handles found and did (absent when it was off). */
  audit?: AuditReport;
  /** What the shrink before the dump did (absent when it was off or the engine makes no image). */
  shrink?: ShrinkReport;
}

/**
 * Checkpoints the process: every resource lets go (`beforeCheckpoint`, in order), the audit
 * looks for handles that none released (see `unreleased`), the engine saves the process, then
 * every resource takes back what it released (`afterRestore`).
 *
 * Resolves in the restored process (and, with `leaveRunning`, in the original one too).
 * If a `beforeCheckpoint` hook, the audit or the engine fails, the resources already notified get
 * `afterRestore`, and the promise rejects with a {@link CheckpointError}: the app runs on. A
 * refusal of the audit is an {@link UnreleasedHandlesError} (`CRAC_EUNRELEASED`) in its `errors`.
 * If only `afterRestore` hooks fail, it rejects with a {@link RestoreError} whose `outcome`
 * says what happened to the process.
 *
 * Stop signals (SIGTERM, SIGINT, SIGHUP) are held back while the cycle runs: the app's handlers
 * would shut it down only for the rollback or the restore to reopen what they closed. One that
 * arrives before the dump abandons the checkpoint (`CRAC_ESIGNAL` in the {@link CheckpointError});
 * one that arrives during the dump is for the original process only (a restored copy drops it).
 * Each is delivered once when the cycle settles, to the app's listeners or the default action.
 *
 * @throws {@link CracError} `CRAC_EBUSY` while another checkpoint runs, `CRAC_EREENTRANT` when
 * called from inside a hook, `CRAC_EINVAL`/`CRAC_EENGINE` for a bad or unavailable engine.
 *
 * @example
 * ```ts
 * const { outcome, timings } = await checkpointRestore({ imagesDir: '/var/lib/app/image' });
 * if (outcome === 'restored') console.log(`back after ${timings.totalMs} ms`);
 * ```
 */
export async function checkpointRestore(options: CheckpointOptions = {}): Promise<CheckpointResult> {
  const hook = cycleScope.getStore()?.hook;
  if (hook !== undefined) {
    throw new CracError(
      ErrorCode.REENTRANT,
      `checkpointRestore() was called from a hook of resource "${hook}": it would wait for itself; call it outside the hooks`,
    );
  }
  if (!isMainThread) {
    throw new CracError(
      ErrorCode.INVALID_ARGUMENT,
      'checkpointRestore() runs in the main thread: a checkpoint saves the whole process, workers included',
    );
  }
  const state = core();
  if (state.cycleRunning) {
    throw new CracError(ErrorCode.BUSY, 'a checkpoint is already running in this process; wait for it to settle');
  }
  const hookTimeoutMs = options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  if (!(Number.isFinite(hookTimeoutMs) && hookTimeoutMs > 0)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `hookTimeoutMs must be a positive number, got ${String(hookTimeoutMs)}`);
  }
  const engine = resolveEngine(options.engine);
  const auditMode = resolveAuditMode(options.audit, engine.name);
  const policyFor = resolvePolicy(options.unreleased);
  registerBuiltins(state.context);
  state.cycleRunning = true;
  let stopSignals: StopSignalInterceptor | undefined;
  try {
    const held = new StopSignalInterceptor();
    stopSignals = held;
    const leaveRunning = options.leaveRunning ?? false;
    return await cycleScope.run({ hookTimeoutMs, leaveRunning, holdListeners: engine.holdsListeners === true }, () =>
      runCycle(engine, { ...options, audit: auditMode }, policyFor, state.context, held),
    );
  } finally {
    state.cycleRunning = false;
    // after everything is given back: the app's own shutdown then closes what stays closed
    stopSignals?.release();
  }
}

async function runCycle(
  engine: Engine,
  options: CheckpointOptions & { audit: AuditMode },
  policyFor: ReturnType<typeof resolvePolicy>,
  globalContext: Context,
  stopSignals: StopSignalInterceptor,
): Promise<CheckpointResult> {
  const context = options.context ?? globalContext;
  const leaveRunning = options.leaveRunning ?? false;
  const imagesDir = options.imagesDir ?? process.env.CRAC_IMAGES_DIR;
  const started = performance.now();
  const stopwatch = phaseStopwatch();
  publish.cycleStart({ engine: engine.name, leaveRunning });
  try {
    try {
      await context.beforeCheckpoint(undefined, stopSignals.stopping);
    } catch (error) {
      stopwatch.end('beforeCheckpoint');
      throw await rollback(context, errorsOf(error), stopwatch);
    }
    const beforeCheckpointMs = stopwatch.end('beforeCheckpoint');
    // a stop signal that came as the last hook settled
    if (stopSignals.requested) throw await rollback(context, [stopSignalError(stopSignals.requested)], stopwatch);

    let audit: AuditReport | undefined;
    if (options.audit !== 'off') {
      try {
        audit = await auditHandles(policyFor, options.audit === 'enforce');
      } catch (error) {
        throw await rollback(context, [error], stopwatch);
      }
      if (audit.enforced && audit.refused.length > 0) throw await rollback(context, [new UnreleasedHandlesError(audit.refused)], stopwatch);
    }
    const auditMs = stopwatch.lap();
    if (stopSignals.requested) throw await rollback(context, [stopSignalError(stopSignals.requested)], stopwatch);

    let engineResult: EngineResult;
    try {
      engineResult = await engine.checkpoint({
        imagesDir,
        leaveRunning,
        stopSignals,
        ...(options.shrink === undefined ? {} : { shrink: options.shrink }),
        ...(options.checkpointId === undefined ? {} : { checkpointId: options.checkpointId }),
      });
    } catch (error) {
      stopwatch.end('checkpoint');
      throw await rollback(context, [error], stopwatch);
    }
    const checkpointMs = stopwatch.end('checkpoint');
    const { outcome, environment, shrink } = engineResult;
    // the afterRestore hooks may ask what happened (see heldWorkBelongsElsewhere())
    const scope = cycleScope.getStore();
    if (scope) scope.outcome = outcome;

    let restoreError: RestoreError | undefined;
    try {
      await context.afterRestore();
    } catch (error) {
      restoreError = new RestoreError(errorsOf(error) as ResourceError[], outcome);
    }
    const afterRestoreMs = stopwatch.end('afterRestore');
    const result: CheckpointResult = {
      outcome,
      engine: engine.name,
      ...(imagesDir === undefined ? {} : { imagesDir }),
      ...(environment === undefined ? {} : { environment }),
      timings: { beforeCheckpointMs, auditMs, checkpointMs, afterRestoreMs, totalMs: performance.now() - started },
      ...(audit ? { audit } : {}),
      ...(shrink ? { shrink } : {}),
    };
    if (restoreError) throw restoreError;
    publish.cycleEnd({ outcome, durationMs: result.timings.totalMs });
    return result;
  } catch (error) {
    publish.cycleEnd({ error: error as Error, durationMs: performance.now() - started });
    throw error;
  }
}

/** Gives back what was released, then builds the error that says why the checkpoint did not happen. */
async function rollback(context: Context, errors: unknown[], stopwatch: ReturnType<typeof phaseStopwatch>): Promise<CheckpointError> {
  let rollbackErrors: ResourceError[] = [];
  try {
    await context.afterRestore();
  } catch (error) {
    rollbackErrors = errorsOf(error) as ResourceError[];
  }
  stopwatch.end('rollback');
  return new CheckpointError(errors, rollbackErrors);
}

/** The context's aggregates already name each resource: keep their errors flat. */
function errorsOf(error: unknown): unknown[] {
  return error instanceof AggregateError ? error.errors : [error];
}

function phaseStopwatch() {
  let last = performance.now();
  return {
    end(phase: 'beforeCheckpoint' | 'checkpoint' | 'afterRestore' | 'rollback'): number {
      const now = performance.now();
      const durationMs = now - last;
      last = now;
      publish.phaseEnd({ phase, durationMs });
      return durationMs;
    },
    /** Ends a stretch that is not a published phase (the audit). */
    lap(): number {
      const now = performance.now();
      const durationMs = now - last;
      last = now;
      return durationMs;
    },
  };
}
