import { loadNative } from '../engine/criu/native.js';

/**
 * Who may have written an image that this process restores, like sshd's `StrictModes`: CRIU
 * restores the uid and capabilities the image names, so whoever can write an image that root
 * restores runs code as root. The image directory, each of its parents and every image file must
 * be owned by the restoring user or root and not writable by group or others; a parent that
 * others can write but that is sticky (like /tmp) is accepted when its entry on the way to the
 * image is owned by the restoring user or root (only that owner can rename or remove it).
 *
 * The rules and their words are native (lib/image/ownership.c, which crac-restore and the seal
 * step check with): these call them through crac.node.
 */

/** What the rules look at: the owner and the mode of a file or directory (a `Stats` will do). */
export interface Owned {
  uid: number;
  mode: number;
}

/** Why a file or directory is refused: another owner, or writable by group or others. */
export type Unsafety = 'owner' | 'writable';

/** The restoring user (the effective uid: the one CRIU runs as), or root where there are no uids. */
export function restoringUid(): number {
  return process.geteuid?.() ?? 0;
}

/** Why an image file (or the manifest) is unsafe for `uid` to restore, or undefined. */
export function fileUnsafety(file: Owned, uid: number): Unsafety | undefined {
  return loadNative().fileUnsafety(file.uid, file.mode, uid) ?? undefined;
}

/**
 * Why a directory is unsafe for `uid` to restore an image in or below, or undefined. `below` is
 * its entry on the way to the image (a parent directory's child), absent for the image directory
 * itself: a sticky directory that others can write is accepted only above a trusted entry, never
 * as the image directory (others could add files to it).
 */
export function directoryUnsafety(dir: Owned, uid: number, below?: Owned): Unsafety | undefined {
  return loadNative().directoryUnsafety(dir.uid, dir.mode, uid, below?.uid) ?? undefined;
}

/** `uid 1001 (alice)`: the name from /etc/passwd when there is one (only read to word an error). */
export function describeOwner(uid: number): string {
  return loadNative().describeOwner(uid);
}

/** `mode 755`, with the sticky bit when set (`mode 1777`). */
export function describeMode(mode: number): string {
  return `mode ${(mode & 0o7777).toString(8)}`;
}

/** What the directory is checked for: restoring an image from it, checkpointing into it, or running a program of it. */
export type DirectoryUse = 'restore' | 'checkpoint' | 'program';

/**
 * Checks the open directory `dirFd` and each of its parents up to the root, through descriptors
 * (`..` of the directory actually opened, not of a path that may have changed): each owned by
 * `uid` or root and not writable by group or others (a sticky parent above a trusted entry
 * excepted). `use` words the refusal.
 * @throws {@link CracError} `CRAC_EIMAGE` (`CRAC_EENGINE` for a program's) naming the directory, its owner and mode, and the fix.
 */
export function assertSafeImageDirFd(dirFd: number, dir: string, uid: number = restoringUid(), use: DirectoryUse = 'restore'): void {
  loadNative().assertSafeDirectory(dirFd, dir, uid, use);
}

export { IMAGE_DIR_FLAGS } from './layout.js';

/**
 * Opens the image directory once (not through a symbolic link), then checks it and its parents
 * (see {@link assertSafeImageDirFd}), as `crac restore` does. The caller closes the descriptor.
 * @throws {@link CracError} `CRAC_EIMAGE`.
 */
export function openSafeImageDir(dir: string, uid: number = restoringUid()): number {
  return loadNative().openImageDir(dir, uid);
}
