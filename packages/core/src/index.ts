/**
 * Coordinated Restore at Checkpoint for Node.js: what an app needs. The Resource API (a
 * {@link Resource}, a {@link Context}, the global one, priorities), the checkpoint cycle
 * ({@link checkpointRestore}, its diagnostics channels), the errors, and the few helpers an app
 * calls: {@link serverResource} for a server, {@link releaseAgents} for its keep-alive pools.
 *
 * The other entry points, each for its own audience:
 * - `@crac/core/kit`: for authors of adapters, engines and server integrations (the gate that
 *   holds borrowers, the suspendable pool, the `Engine` interface, `ServerResource`, `watchServers()`);
 * - `@crac/core/testing`: the simulated engine, to test resources without CRIU;
 * - `@crac/core/image`: image tooling (manifest, seal, verification);
 * - `@crac/core/protocol`: what the `crac` CLI, the app and the restorer tell each other;
 * - `@crac/core/register`: the preload that lets `crac checkpoint` ask the app to checkpoint.
 *
 * @packageDocumentation
 */
export { AgentSockets, type AgentSocketsOptions, releaseAgents } from './agents/release-agents.js';
export type { AuditEntry, AuditMode, AuditReport, UnreleasedOption } from './audit/types.js';
export { UnreleasedHandlesError } from './audit/unreleased-error.js';
export { Context } from './context.js';
export { type CheckpointOptions, type CheckpointResult, checkpointRestore } from './cycle/checkpoint-restore.js';
export {
  type CycleEndMessage,
  type CycleStartMessage,
  channels,
  type HookEndMessage,
  type HookStartMessage,
  type PhaseEndMessage,
} from './cycle/diagnostics.js';
export {
  CheckpointError,
  CracError,
  ErrorCode,
  type ErrorCodeValue,
  HookTimeoutError,
  ResourceError,
  RestoreError,
} from './errors.js';
export { getGlobalContext } from './global-context.js';
export { serverResource } from './http/server-resource.js';
export type { ServerResourceOptions } from './http/types.js';
export {
  type EngineOutcome,
  Priority,
  type RegisterOptions,
  type Resource,
  type ResourceContext,
  type Unregister,
} from './types.js';
