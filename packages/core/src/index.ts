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
export type { BinaryDifference, BinaryRecord } from './image/binaries.js';
export { type CorruptReason, ImageCorruptError, ImageForeignError } from './image/errors.js';
export type { HostRecord } from './image/host.js';
export { type ImageSeal, MANIFEST_FILE, type Manifest, readManifest, type SealedFile, type StdioRecord } from './image/manifest.js';
export { type SealCheck, sealImage, type VerifySealOptions } from './image/seal.js';
export { type Verification, type VerifyOptions, verifyImage } from './image/verify.js';
export type { EnvironmentChanges } from './restore/environment.js';
export { Priority, type RegisterOptions, type Resource, type Unregister } from './types.js';
export {
  type DrainTimeoutAction,
  describeAddress,
  type HttpServerLike,
  type ListenAddress,
  type ServerMatcher,
  ServerResource,
  type ServerResourceOptions,
  serverResource,
  watchServers,
} from './http/index.js';

import { listenForRestoreInWorker } from './restore/random.js';

// A worker thread that loaded @crac/core refreshes its randomness when the process is restored.
listenForRestoreInWorker();
export { UNRELEASED_ENV, AUDIT_ENV } from './audit/policy.js';
export type { AuditEntry, AuditMode, AuditReport, CreationSite, HandleKind, UnreleasedOption, UnreleasedPolicy } from './audit/types.js';
export { UnreleasedHandlesError } from './audit/unreleased-error.js';
export { KeepAliveSockets } from './builtins/keep-alive.js';
export { claimOnce, Gate, waitUntil, type WaitUntilOptions } from './pool/index.js';
