import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { isDumpFile } from './layout.js';

/**
 * Makes the image directory ready for a dump: created private (0700), owned by this user,
 * emptied of a previous image's files (other files are left alone).
 * @throws {@link CracError} `CRAC_EIMAGE` when it exists and is not a directory or belongs to someone else.
 */
export function prepareImagesDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new CracError(ErrorCode.IMAGE, `${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new CracError(ErrorCode.IMAGE, `${dir} belongs to uid ${stat.uid}, not to this user (${uid}): choose a directory of your own`);
  }
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) {
    if (isDumpFile(name)) rmSync(join(dir, name), { force: true });
  }
}
