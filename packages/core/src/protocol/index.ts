/**
 * `@crac/core/protocol`: what the processes around a checkpoint tell each other, and where those
 * processes are: what the `crac` CLI (`@crac/cli`) is built on, and what another restorer needs.
 * See PROTOCOL.md at the repository root.
 *
 * - CLI -> app: a checkpoint request on the app's control socket ({@link requestCheckpoint}).
 * - restorer -> CRIU -> app: `crac restore` is the native `crac-restore` (it verifies the image,
 *   binds the app's ports and supervises CRIU); another restorer runs the supervisor alone,
 *   `crac-init`, with the arguments of {@link restorerArguments}.
 * - CRIU for a non-root user: the file capabilities it needs ({@link criuCapabilityStatus}) and
 *   granting them as root ({@link grantCriuCapabilities}).
 * - the programs: CRIU ({@link findCriu}), `crac-restore`, `crac-init`, `crac-guard` and the
 *   addon ({@link requireNativeProgram}).
 *
 * @packageDocumentation
 */
// the codes travel between the processes too (control replies, exit reports)
export { AUTO_ENV, type AutoIntegration, readAutoSettings } from '../auto/settings.js';
export { CracError, ErrorCode, type ErrorCodeValue } from '../errors.js';
export { CRIU_FIX, CRIU_PATH_ENV, DEFAULT_CRIU_PATH, findCriu, MIN_CRIU_VERSION } from '../engine/criu/binary.js';
export {
  assertCriuCapabilities,
  CRIU_GROUP,
  criuCapabilityStatus,
  criuRunsUnprivileged,
  grantCapabilitiesCommand,
  noNewPrivileges,
} from '../engine/criu/capabilities.js';
export { type CriuRunners, grantCriuCapabilities, restrictToCriuGroup, whoMayRunCriu } from '../engine/criu/grant.js';
export { type DumpIdentity, sealedImageOf } from './checkpoint-outcome.js';
export { ensureControlDir, findCoordinatedProcess, LAUNCHER_PID_ENV } from './control-socket.js';
export { type SweepOptions, sweepControlDir } from './control-sweep.js';
export { type RestoreInvocation, restorerArguments } from './criu-restore.js';
export { ExitCode } from './exit-codes.js';
export { addWorkingSet, type WorkingSetSummary } from '../image/add-working-set.js';
export { REPORT_FORMAT } from './report.js';
export { FORWARDED_SIGNALS } from './signals.js';
export { exitCodeOf, type ProcessExit, processStartTime, processState, processTree } from './processes.js';
export {
  findNativeProgram,
  missingNativeAdvice,
  NATIVE_PROGRAMS,
  type NativeProgram,
  nativeBuildScript,
  requireNativeProgram,
} from './programs.js';
export { DumpTimeoutError, requestCheckpoint, requestPrepare, type TriggerOptions, type TriggerOutcome } from './trigger-client.js';
