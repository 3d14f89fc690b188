import { type Manifest, readManifest } from '../image/manifest.js';

/** Which dump an image must come from, for {@link sealedImageOf}. */
export interface DumpIdentity {
  /** The id the request gave the checkpoint (`checkpointId` in the manifest). */
  checkpointId?: string;
  /** The dumped process. */
  pid?: number;
  /** The dump began after this time (ms since the epoch). */
  since?: number;
}

/**
 * The manifest of the image in `imagesDir` if that image was sealed by the dump described by
 * `dump`, else undefined. How a requester learns that a process that ended with its dump was
 * dumped: CRIU runs the seal step (post-dump) only once every file is written, and ends the
 * process only after it succeeded. A vanished process alone proves nothing (it may have crashed).
 */
export function sealedImageOf(imagesDir: string, dump: DumpIdentity): Manifest | undefined {
  let manifest: Manifest;
  try {
    manifest = readManifest(imagesDir);
  } catch {
    return undefined;
  }
  if (!manifest.seal) return undefined;
  if (dump.checkpointId !== undefined && manifest.checkpointId !== dump.checkpointId) return undefined;
  if (dump.pid !== undefined && manifest.pid !== dump.pid) return undefined;
  if (dump.since !== undefined && Date.parse(manifest.createdAt) < dump.since) return undefined;
  return manifest;
}
