import { constants, openSync } from 'node:fs';
import { CracError, ErrorCode } from '../errors.js';

/**
 * Files of an image are reached through the descriptor of its directory, never by a path that
 * may have changed since it was checked. Node has no `openat()`: `/proc/self/fd/<dirFd>/<name>`
 * resolves `<name>` in the directory that `dirFd` is open on, and O_NOFOLLOW refuses a `<name>`
 * that is a symbolic link.
 */

/** The path of `name` inside the directory open on `dirFd` (only valid in this process). */
export function pathIn(dirFd: number, name = ''): string {
  return name ? `/proc/self/fd/${dirFd}/${name}` : `/proc/self/fd/${dirFd}`;
}

/**
 * Flags of every image file opened for reading: not through a symbolic link, and without
 * blocking (a FIFO opens at once, and is then refused by its fstat).
 */
export const IMAGE_FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A file name that stays in its directory: no `/`, not `.` or `..`. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * Opens `name` of the directory open on `dirFd` for reading, not following a symbolic link.
 * @throws the `open()` error (`ENOENT`; `ELOOP` for a symbolic link).
 */
export function openIn(dirFd: number, name: string): number {
  if (!isPlainName(name)) throw new CracError(ErrorCode.IMAGE, `${JSON.stringify(name)} is not a file name of an image`);
  return openSync(pathIn(dirFd, name), IMAGE_FILE_FLAGS);
}
