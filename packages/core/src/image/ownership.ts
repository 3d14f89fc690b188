import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { CracError, ErrorCode } from '../errors.js';

/**
 * Who may have written an image that this process restores, like sshd's `StrictModes`: CRIU
 * restores the uid and capabilities the image names, so whoever can write an image that root
 * restores runs code as root. The image directory, each of its parents and every image file must
 * be owned by the restoring user or root and not writable by group or others; a parent that
 * others can write but that is sticky (like /tmp) is accepted when its entry on the way to the
 * image is owned by the restoring user or root (only that owner can rename or remove it).
 */

/** What the rules look at: the owner and the mode of a file or directory (a `Stats` will do). */
export interface Owned {
  uid: number;
  mode: number;
}

/** Why a file or directory is refused: another owner, or writable by group or others. */
export type Unsafety = 'owner' | 'writable';

const STICKY = 0o1000;

/** Group or others can write a file with this mode. */
export function writableByOthers(mode: number): boolean {
  return (mode & 0o022) !== 0;
}

/** The restoring user (the effective uid: the one CRIU runs as), or root where there are no uids. */
export function restoringUid(): number {
  return process.geteuid?.() ?? 0;
}

/** `owner` may own what `uid` restores: the user itself, or root. */
export function trustedOwner(owner: number, uid: number): boolean {
  return owner === uid || owner === 0;
}

/** Why an image file (or the manifest) is unsafe for `uid` to restore, or undefined. */
export function fileUnsafety(file: Owned, uid: number): Unsafety | undefined {
  if (!trustedOwner(file.uid, uid)) return 'owner';
  if (writableByOthers(file.mode)) return 'writable';
  return undefined;
}

/**
 * Why a directory is unsafe for `uid` to restore an image in or below, or undefined. `below` is
 * its entry on the way to the image (a parent directory's child), absent for the image directory
 * itself: a sticky directory that others can write is accepted only above a trusted entry, never
 * as the image directory (others could add files to it).
 */
export function directoryUnsafety(dir: Owned, uid: number, below?: Owned): Unsafety | undefined {
  if (!trustedOwner(dir.uid, uid)) return 'owner';
  if (!writableByOthers(dir.mode)) return undefined;
  if (below !== undefined && (dir.mode & STICKY) !== 0 && trustedOwner(below.uid, uid)) return undefined;
  return 'writable';
}

/** `uid 1001 (alice)`: the name from /etc/passwd when there is one (only read to word an error). */
export function describeOwner(uid: number): string {
  try {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((line) => line.split(':')[2] === String(uid));
    if (entry) return `uid ${uid} (${entry.split(':')[0]})`;
  } catch {
    // no passwd file: the number will do
  }
  return `uid ${uid}`;
}

/** `mode 755`, with the sticky bit when set (`mode 1777`). */
export function describeMode(mode: number): string {
  return `mode ${(mode & 0o7777).toString(8)}`;
}

/** O_PATH: a parent directory is only looked at (fstat), never read, so search permission is enough. */
const O_PATH = 0o10000000;

/** The path of an open descriptor (what the kernel resolved it to), for messages. */
function pathOf(fd: number, fallback: string): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return fallback;
  }
}

/** What the directory is checked for: restoring an image from it, checkpointing into it, or running a program of it. */
export type DirectoryUse = 'restore' | 'checkpoint' | 'program';

function refuseDirectory(path: string, stat: Stats, unsafety: Unsafety, uid: number, image: string, use: DirectoryUse): never {
  const what = path === image ? path : `${path} (a parent directory of ${image})`;
  const owned = `owner ${describeOwner(stat.uid)}, ${describeMode(stat.mode)}`;
  const why =
    unsafety === 'owner'
      ? `belongs to another user (${owned}), not to you (${describeOwner(uid)}) or root`
      : `is writable by others (${owned})`;
  if (use === 'checkpoint') {
    // whoever else can change the path can swap the image for their own as it is written
    throw new CracError(
      ErrorCode.IMAGE,
      `${what} ${why}: another user could replace the image as it is written; refusing to checkpoint into it. Fix: checkpoint into a directory whose parents only you and root can write${unsafety === 'writable' ? ` (or chmod go-w ${path})` : ''}`,
    );
  }
  if (use === 'program') {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `${what} ${why}: another user could change what CRIU runs as you at a checkpoint; refusing to run it. Fix: install @crac/core where only you and root can write`,
    );
  }
  if (unsafety === 'owner') {
    throw new CracError(
      ErrorCode.IMAGE,
      `${what} belongs to another user (${owned}), not to you (${describeOwner(uid)}) or root: whoever owns it could have altered the image; refusing to restore it. Fix: chown ${uid} ${path} if you trust its content, or checkpoint again into a directory of your own`,
    );
  }
  throw new CracError(
    ErrorCode.IMAGE,
    `${what} is writable by others (${owned}): refusing to restore it. Fix: chmod go-w ${path} (chmod 700 the image directory) if you trust its content, or checkpoint again into a directory only you and root can write`,
  );
}

/**
 * Checks the open image directory `dirFd` and each of its parents up to the root, through
 * descriptors (`..` of the directory actually opened, not of a path that may have changed):
 * each owned by `uid` or root and not writable by group or others (a sticky parent above a
 * trusted entry excepted). `use` words the refusal.
 * @throws {@link CracError} `CRAC_EIMAGE` naming the directory, its owner and mode, and the fix.
 */
export function assertSafeImageDirFd(dirFd: number, dir: string, uid: number = restoringUid(), use: DirectoryUse = 'restore'): void {
  let stat = fstatSync(dirFd);
  const unsafety = directoryUnsafety(stat, uid);
  if (unsafety) refuseDirectory(dir, stat, unsafety, uid, dir, use);
  let current = dirFd;
  try {
    for (;;) {
      const parent = openSync(`/proc/self/fd/${current}/..`, O_PATH | constants.O_DIRECTORY);
      if (current !== dirFd) closeSync(current);
      current = parent;
      const parentStat = fstatSync(parent);
      if (parentStat.dev === stat.dev && parentStat.ino === stat.ino) return; // the root: its own parent
      const parentUnsafety = directoryUnsafety(parentStat, uid, stat);
      if (parentUnsafety) refuseDirectory(pathOf(parent, `${dir}/..`), parentStat, parentUnsafety, uid, dir, use);
      stat = parentStat;
    }
  } finally {
    if (current !== dirFd) closeSync(current);
  }
}

/** The flags an image directory is opened with: a directory, and not through a symbolic link. */
export const IMAGE_DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Opens the image directory once (not through a symbolic link), then checks it and its parents
 * (see {@link assertSafeImageDirFd}). The caller closes the descriptor.
 * @throws {@link CracError} `CRAC_EIMAGE`.
 */
export function openSafeImageDir(dir: string, uid: number = restoringUid()): number {
  let fd: number;
  try {
    fd = openSync(dir, IMAGE_DIR_FLAGS);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    let link = false;
    try {
      link = lstatSync(dir).isSymbolicLink();
    } catch {
      // gone: the open's error says it
    }
    const why = link
      ? `a symbolic link (restore the directory itself: ${tryRealpath(dir)})`
      : code === 'ENOTDIR'
        ? 'not a directory'
        : `cannot read the directory (${code})`;
    throw new CracError(ErrorCode.IMAGE, `${dir} is not a crac image: ${why}`, { cause });
  }
  try {
    assertSafeImageDirFd(fd, dir, uid);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

function tryRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
