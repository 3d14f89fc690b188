import { CracError, ErrorCode } from '../errors.js';
import type { BinaryDifference } from './binaries.js';

/** Why an image does not verify. */
export type CorruptReason = 'unsealed' | 'missing' | 'truncated' | 'modified' | 'unexpected' | 'unsafe';

/**
 * An image file is not what was sealed after the dump (`CRAC_EIMAGE_CORRUPT`): missing,
 * truncated, altered, an unexpected extra file, a file others can write, or an image that was
 * never sealed. Nothing was started.
 */
export class ImageCorruptError extends CracError {
  /** What is wrong. */
  readonly reason: CorruptReason;
  /** The file concerned (a name inside the image directory), when there is one. */
  readonly file: string | undefined;

  constructor(reason: CorruptReason, message: string, file?: string) {
    super(ErrorCode.IMAGE_CORRUPT, message);
    this.reason = reason;
    this.file = file;
  }
}

/**
 * The image was made on another host or build (`CRAC_EIMAGE_FOREIGN`): the node binary, an addon
 * or a library at the recorded path differs, or this CPU lacks features the image may use.
 * Nothing was started.
 */
export class ImageForeignError extends CracError {
  /** Files at the recorded paths that differ from those mapped into the image. */
  readonly differences: readonly BinaryDifference[];
  /** Host differences that refuse the restore (CPU features, architecture). */
  readonly hostDifferences: readonly string[];

  constructor(message: string, differences: readonly BinaryDifference[], hostDifferences: readonly string[]) {
    super(ErrorCode.IMAGE_FOREIGN, message);
    this.differences = differences;
    this.hostDifferences = hostDifferences;
  }
}
