/**
 * `@crac/core/kit`: what adapters are built from. A pool or client adapter holds new borrowers
 * at a {@link Gate} during a checkpoint, waits for the borrowed ones to come back, closes what is
 * idle, and lets everything through again after the restore: {@link suspendable} is that
 * skeleton, the adapter gives it the steps only it knows.
 *
 * @packageDocumentation
 */
export { type ExportsPatch, onPackageLoad } from '../auto/package-load.js';
export { heldWorkBelongsElsewhere } from '../cycle/scope.js';
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
