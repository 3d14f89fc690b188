/**
 * Coordinated Restore at Checkpoint for Node.js: the Resource API, contexts, the checkpoint
 * cycle and the HTTP server resource. What an app needs.
 *
 * The other entry points, each for its own audience:
 * - `@crac/core/kit`: for authors of adapters (the gate that holds borrowers, the suspendable pool);
 * - `@crac/core/testing`: the simulated engine, to test resources without CRIU;
 * - `@crac/core/image`: image tooling (manifest, seal, verification);
 * - `@crac/core/protocol`: what the `crac` CLI, the app and the restorer tell each other;
 * - `@crac/core/register`: the preload that lets `crac checkpoint` ask the app to checkpoint.
 *
 * @packageDocumentation
 */
export type { SocketOwner } from './agents/owner.js';
export { AUDIT_ENV, UNRELEASED_ENV } from './audit/policy.js';
export { AUTO_ENV, AUTO_INTEGRATIONS, type AutoIntegration } from './auto/settings.js';
export type { AuditEntry, AuditMode, AuditReport, CreationSite, HandleKind, UnreleasedOption, UnreleasedPolicy } from './audit/types.js';
export { UnreleasedHandlesError } from './audit/unreleased-error.js';
export {
  AgentSockets,
  type AgentSocketsOptions,
  type KeepAlivePool,
  releaseAgents,
} from './agents/release-agents.js';
export { KeepAliveSockets } from './builtins/keep-alive.js';
export { Context } from './context.js';
export { type CheckpointOptions, type CheckpointResult, checkpointRestore, type PhaseTimings } from './cycle/checkpoint-restore.js';
export {
  type CycleEndMessage,
  type CycleStartMessage,
  channels,
  type HookEndMessage,
  type HookStartMessage,
  type PhaseEndMessage,
} from './cycle/diagnostics.js';
export { STOP_SIGNALS, type StopSignal, type StopSignalHold } from './cycle/stop-signals.js';
export type { ShrinkReport, ShrinkStep } from './engine/criu/shrink.js';
export type { Engine, EngineName, EngineRequest, EngineResult } from './engine/engine.js';
export { ENGINE_ENV } from './engine/select.js';
export {
  claimRestoreEnvironment,
  createExternalEngine,
  type ExternalEngineOptions,
  processIncarnation,
  RESTORE_ENV_DIR_ENV,
} from './engine/external.js';
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
export { describe as describeAddress, ServerResource, serverResource } from './http/server-resource.js';
export type { DrainTimeoutAction, HttpServerLike, ListenAddress, ServerResourceOptions } from './http/types.js';
export { type ServerMatcher, watchServers } from './http/watch-servers.js';
export type { EnvironmentChanges } from './restored/environment.js';
export {
  type EngineOutcome,
  Priority,
  type RegisterOptions,
  type Resource,
  type ResourceContext,
  type Unregister,
} from './types.js';
