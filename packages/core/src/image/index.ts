/**
 * `@crac/core/image`: image tooling. The layout of an image directory, its manifest, the seal
 * written after the dump, and the verification a restorer runs before anything starts.
 *
 * @packageDocumentation
 */
export type { BinaryDifference, BinaryRecord } from './binaries.js';
export { type CorruptReason, ImageCorruptError, ImageForeignError } from './errors.js';
export type { HostRecord } from './host.js';
export { DUMP_LOG, IMAGES_DIR_FD, MANIFEST_FILE, REQUIRED_CRIU_FILES, RESTORE_LOG, UNSEALED_FILES } from './layout.js';
export {
  type ImageSeal,
  MAX_MANIFEST_BYTES,
  type Manifest,
  readManifest,
  type SealedFile,
  type StdioRecord,
} from './manifest.js';
export { type OpenImage, openImage } from './open.js';
export {
  assertPrivateImageDir,
  directoryUnsafety,
  fileUnsafety,
  type Owned,
  type Unsafety,
  writableByOthers,
} from './ownership.js';
export { type SealCheck, sealImage, type VerifySealOptions } from './seal.js';
export { type Verification, type VerifyOptions, verifyImage, verifyOpenImage } from './verify.js';
