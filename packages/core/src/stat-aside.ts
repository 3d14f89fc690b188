import { type BigIntStats, fstatSync, statSync } from 'node:fs';

/**
 * `fs.statSync` / `fs.fstatSync` that leave `require()` alone: use it for anything that may be a
 * socket or a pipe, in code that runs inside the app.
 *
 * Node 20 and 22 keep the last synchronous stat in a buffer that their module loader's realpath
 * also reads. After a stat of a socket or a pipe, the next `require()` can stop resolving symlinks
 * half-way and load a hoisted namesake (pnpm's `.pnpm/node_modules/http-errors`, whose own
 * dependencies then resolve to the wrong versions) instead of the package's own dependency. A
 * bigint stat is written to another buffer. (Node 24 reads its own stat; stat-aside.test.ts shows
 * the difference.)
 */
export function statAside(target: string | number): BigIntStats {
  return typeof target === 'number' ? fstatSync(target, { bigint: true }) : statSync(target, { bigint: true });
}
