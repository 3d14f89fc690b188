import { type Stats, statSync } from 'node:fs';
import { CracError, ErrorCode } from '../errors.js';

/** Group or others can write a file with this mode. */
export function writableByOthers(mode: number): boolean {
  return (mode & 0o022) !== 0;
}

/**
 * An image directory that others can write, or that belongs to another user, could have been
 * altered: refuse it (root may restore any user's image).
 * @throws {@link CracError} `CRAC_EIMAGE`.
 */
export function assertPrivateImageDir(dir: string): void {
  let stat: Stats;
  try {
    stat = statSync(dir);
  } catch (cause) {
    throw new CracError(
      ErrorCode.IMAGE,
      `${dir} is not a crac image: cannot read the directory (${(cause as NodeJS.ErrnoException).code})`,
      { cause },
    );
  }
  if (!stat.isDirectory()) throw new CracError(ErrorCode.IMAGE, `${dir} is not a crac image: not a directory`);
  if (writableByOthers(stat.mode)) {
    throw new CracError(
      ErrorCode.IMAGE,
      `${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)}): refusing to restore it; chmod 700 it if you trust its content`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && stat.uid !== uid) {
    throw new CracError(ErrorCode.IMAGE, `${dir} belongs to uid ${stat.uid}, not to you`);
  }
}
