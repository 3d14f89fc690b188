import { closeSync } from 'node:fs';
import { type Manifest, readManifestAt } from './manifest.js';
import { openSafeImageDir } from './ownership.js';
import { assertSafeManifest } from './seal.js';

/** An image directory opened once, checked, and its manifest read through it: see {@link openImage}. */
export interface OpenImage {
  /** The path it was opened by (for messages). */
  readonly dir: string;
  /**
   * The image directory, open O_RDONLY | O_DIRECTORY | O_NOFOLLOW: every file of the image is
   * read relative to it, and the restorer hands it to CRIU (`IMAGES_DIR_FD`), so nothing is
   * reopened by path after it was checked.
   */
  readonly fd: number;
  /** The manifest, read through `fd` (a regular file of at most 1 MiB, owned like the image). */
  readonly manifest: Manifest;
  /** Closes `fd`. */
  close(): void;
}

/**
 * Opens an image for a restore: the directory once, not through a symbolic link; the directory
 * and each of its parents owned by the restoring user or root and not writable by others (like
 * sshd's StrictModes; a sticky parent such as /tmp is fine above a trusted entry); then the
 * manifest through that descriptor, checked to be a small regular file with the same ownership
 * before it is parsed. Then {@link verifyOpenImage} checks the rest through the same descriptor.
 * @throws {@link CracError} `CRAC_EIMAGE` for the directory, its parents or the manifest.
 * @throws {@link ImageCorruptError} `CRAC_EIMAGE_CORRUPT` (`unsafe`) when another user owns or can write the manifest.
 */
export function openImage(dir: string): OpenImage {
  const fd = openSafeImageDir(dir);
  try {
    const { manifest, stat } = readManifestAt(fd, dir);
    assertSafeManifest(dir, stat);
    let open = true;
    return {
      dir,
      fd,
      manifest,
      close: () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
