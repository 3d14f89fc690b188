/**
 * Coordinated Restore at Checkpoint for Node.js: the Resource API, contexts, and the
 * checkpoint cycle.
 *
 * @packageDocumentation
 */
export { checkpointRestore, type CheckpointOptions, type CheckpointResult, type PhaseTimings } from './checkpoint.js';
export { Context } from './context.js';
export {
  channels,
  type CycleEndMessage,
  type CycleStartMessage,
  type HookEndMessage,
  type HookStartMessage,
  type PhaseEndMessage,
} from './diagnostics.js';
export type { Engine, EngineName, EngineOutcome, EngineRequest, EngineResult } from './engines/engine.js';
export { ENGINE_ENV } from './engines/index.js';
export { createSimulateEngine, type SimulateEngineOptions } from './engines/simulate.js';
export {
  CheckpointError,
  CracError,
  ErrorCode,
  type ErrorCodeValue,
  type HookPhase,
  HookTimeoutError,
  ResourceError,
  RestoreError,
} from './errors.js';
export { getGlobalContext } from './global-context.js';
export type { EnvironmentChanges } from './restore/environment.js';
export { Priority, type RegisterOptions, type Resource, type Unregister } from './types.js';

import { listenForRestoreInWorker } from './restore/random.js';

// A worker thread that loaded @crac/core refreshes its randomness when the process is restored.
listenForRestoreInWorker();
