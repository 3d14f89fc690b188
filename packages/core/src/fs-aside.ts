import { type BigIntStats, fstatSync, statSync, unlinkSync } from 'node:fs';

/*
 * File system calls that leave `require()` alone, for code that runs inside the app and may meet a
 * socket or a pipe.
 *
 * Node 20 and 22 keep the last synchronous stat in a buffer that their module loader's realpath
 * also reads. After a stat of a socket or a pipe (`fs.statSync`, and `fs.rmSync`, which stats
 * first), the next `require()` can stop resolving symlinks half-way and load a hoisted namesake
 * (pnpm's `.pnpm/node_modules/http-errors`, whose own dependencies then resolve to the wrong
 * versions) instead of the package's own dependency. Node 24 reads its own stat; fs-aside.test.ts
 * shows the difference.
 */

/** `fs.statSync` / `fs.fstatSync`, as a bigint stat: written to another buffer. */
export function statAside(target: string | number): BigIntStats {
  return typeof target === 'number' ? fstatSync(target, { bigint: true }) : statSync(target, { bigint: true });
}

/** `fs.rmSync(path, { force: true })` for a file (a socket's, say), without the stat. */
export function removeAside(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
