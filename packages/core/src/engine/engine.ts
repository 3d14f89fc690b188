import type { StopSignalHold } from '../cycle/stop-signals.js';
import type { EnvironmentChanges } from '../restored/environment.js';
import type { EngineOutcome } from '../types.js';
import type { ShrinkReport } from './criu/shrink.js';

export type { EngineOutcome };

/** What an engine reports once the process runs again. */
export interface EngineResult {
  outcome: EngineOutcome;
  /** In a restored copy: how the restoring environment changed `process.env`. */
  environment?: EnvironmentChanges;
  /** What the shrink before the dump did (absent when it was off or the engine makes no image). */
  shrink?: ShrinkReport;
}

/** What `checkpointRestore()` asks of an engine, once every resource has let go. */
export interface EngineRequest {
  /** Where to write the image (engines that make one require it). */
  readonly imagesDir?: string;
  /** Keep the process running after the image is written. */
  readonly leaveRunning: boolean;
  /**
   * Make the process small right before the dump (engines that make an image; see
   * `shrink/shrink.ts`). Undefined: `CRAC_SHRINK`, else on.
   */
  readonly shrink?: boolean;
  /** Names the checkpoint in the image's manifest (engines that make one). Default: a fresh id. */
  readonly checkpointId?: string;
  /**
   * The stop signals the cycle holds back. An engine whose dump blocks the event loop catches
   * them itself during the dump and reports them (see {@link StopSignalHold}); one that arrived
   * before the dump abandons it. Absent when an engine is called outside `checkpointRestore()`.
   */
  readonly stopSignals?: StopSignalHold;
}

/**
 * Saves the process. An engine is called only after every `beforeCheckpoint` hook succeeded;
 * if it throws, the resources are given back what they released and the app runs on.
 */
export interface Engine {
  /** Short name, shown in results and diagnostics. */
  readonly name: string;
  /**
   * The engine saves the process without its listening sockets, and the servers keep them bound
   * meanwhile (handed to a holder outside the image, see `handover/listeners.ts`) instead of
   * closing them: clients wait in the backlog rather than being refused. Absent: closed.
   */
  readonly holdsListeners?: boolean;
  /** Save the process; resolve once it runs again (restored, left running or simulated). */
  checkpoint(request: EngineRequest): Promise<EngineResult>;
}

/** Names of the built-in engines, for `checkpointRestore({ engine })` and `CRAC_ENGINE`. */
export type EngineName = 'criu' | 'simulate';
