/**
 * `@crac/core/image`: image tooling. The layout of an image directory, its manifest, and the
 * verification a restorer runs before anything starts (by the native restorer, the one program
 * that seals, verifies and restores images).
 *
 * @packageDocumentation
 */
export type { BinaryRecord } from './binaries.js';
export type { HostRecord } from './host.js';
export { DUMP_LOG, IMAGES_DIR_FD, MANIFEST_FILE, REQUIRED_CRIU_FILES, RESTORE_LOG, UNSEALED_FILES } from './layout.js';
export {
  type ImageSeal,
  type Manifest,
  readManifest,
  type SealedFile,
  type StdioRecord,
} from './manifest.js';
export { type ImageInspection, inspectImage, type ReportedError, type Verification, verifyImage } from './inspect.js';
