/**
 * `@crac/core/protocol`: what the processes around a checkpoint tell each other, and where those
 * processes are. The `crac` CLI (`@crac/cli`) is built on it; see PROTOCOL.md at the repository root.
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
export { AUTO_ENV, readAutoSettings } from '../auto/settings.js';
export { CracError, ErrorCode, type ErrorCodeValue } from '../errors.js';
export { CRIU_FIX, CRIU_PATH_ENV, type CriuBinary, DEFAULT_CRIU_PATH, findCriu, MIN_CRIU_VERSION } from '../engine/criu/binary.js';
export {
  assertCriuCapabilities,
  type CriuCapability,
  type CriuCapabilityStatus,
  capabilityName,
  criuCapabilityStatus,
  criuRunsUnprivileged,
  currentCredentials,
  effectiveCapabilities,
  type ProcessCredentials,
  decodeFileCapabilities,
  type FileCapabilities,
  grantCapabilitiesCommand,
  noNewPrivileges,
  readFileCapabilities,
  UNPRIVILEGED_CRIU_CAPABILITIES,
  type XattrReader,
} from '../engine/criu/capabilities.js';
export { type GrantOptions, type GrantResult, grantCriuCapabilities } from '../engine/criu/grant.js';
export { criuErrorLines, restoreAdvice } from '../engine/criu/log.js';
export { type DumpIdentity, sealedImageOf } from './checkpoint-outcome.js';
export {
  CONTROL_PROTOCOL,
  type ControlReply,
  type ControlRequest,
  controlDir,
  controlSocketPath,
  heldMarkerPath,
  ensureControlDir,
  findCoordinatedProcess,
  LAUNCHER_PID_ENV,
  MAX_CONTROL_LINE,
  parseControlRequest,
  readLines,
} from './control-socket.js';
export { HANDOFF_FD, IMAGES_DIR_PATH, type RestoreInvocation, restorerArguments } from './criu-restore.js';
export { ExitCode } from './exit-codes.js';
export { FORWARDED_SIGNALS } from './signals.js';
export { exitCodeOf, type ProcessExit, type ProcessState, processStartTime, processState, processTree } from './processes.js';
export {
  findPrebuiltPackage,
  hostPlatform,
  PREBUILT_PLATFORMS,
  type PrebuiltLookup,
  type PrebuiltPackage,
  prebuiltPackageName,
} from './prebuilt.js';
export {
  findNativeProgram,
  missingNativeAdvice,
  NATIVE_PROGRAMS,
  type NativeProgram,
  type NativeProgramLocation,
  nativeBuildCommand,
  nativeBuildScript,
  nativeProgramPath,
  requireNativeProgram,
} from './programs.js';
export { DumpTimeoutError, requestCheckpoint, requestPrepare, type TriggerOptions, type TriggerOutcome } from './trigger-client.js';
