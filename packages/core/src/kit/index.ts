/**
 * `@crac/core/kit`: what adapters, engines and server integrations are built from.
 *
 * - Pools and clients: a pool or client adapter holds new borrowers at a {@link Gate} during a
 *   checkpoint, waits for the borrowed ones to come back, closes what is idle, and lets
 *   everything through again after the restore: {@link suspendable} is that skeleton, the
 *   adapter gives it the steps only it knows. {@link claimOnce}, {@link expectShape},
 *   {@link waitUntil}, {@link watchEnvironment} and {@link onPackageLoad} are its helpers.
 * - Servers: {@link ServerResource} (what `serverResource()` of `@crac/core` returns) and
 *   {@link watchServers}, which finds the servers of an app as they listen.
 * - Engines: the {@link Engine} interface `checkpointRestore({ engine })` takes, and
 *   {@link createExternalEngine}, the coordination without a dump (another restore signal).
 *
 * @packageDocumentation
 */
export { type ExportsPatch, onPackageLoad } from '../auto/package-load.js';
export { heldWorkBelongsElsewhere } from '../cycle/scope.js';
export type { StopSignal, StopSignalHold } from '../cycle/stop-signals.js';
export type { ShrinkReport } from '../engine/criu/shrink.js';
export type { Engine, EngineName, EngineRequest, EngineResult } from '../engine/engine.js';
export { createExternalEngine, type ExternalEngineOptions } from '../engine/external.js';
export { ServerResource } from '../http/server-resource.js';
export type { HttpServerLike, ListenAddress, ServerResourceOptions } from '../http/types.js';
export { type ServerMatcher, watchServers } from '../http/watch-servers.js';
export type { EnvironmentChanges } from '../restored/environment.js';
export { claimOnce, isClaimed, ZERO_CODE_CLAIM } from './claim-once.js';
export { type EnvironmentWatch, watchEnvironment } from './environment-watch.js';
export { expectShape, type MemberType } from './expect-shape.js';
export { Gate } from './gate.js';
export {
  type AdapterOptions,
  type OnBorrowedTimeout,
  type Outstanding,
  type PoolAdapterOptions,
  type ReleaseContext,
  type Suspension,
  type SuspendableSpec,
  suspendable,
} from './suspendable.js';
export { waitUntil, type WaitUntilOptions } from './wait-until.js';
