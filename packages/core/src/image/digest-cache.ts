import { mkdirSync, readFileSync, renameSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { digestFileSync } from './hash.js';

/** The environment variable naming the directory of crac-node's cache (default `~/.cache/crac`). */
export const CACHE_DIR_ENV = 'CRAC_CACHE_DIR';

interface CacheEntry {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

function cacheFile(env: NodeJS.ProcessEnv): string {
  const dir = env[CACHE_DIR_ENV] || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'crac');
  return join(dir, 'digests.json');
}

function sameFile(entry: CacheEntry | undefined, stat: Stats): entry is CacheEntry {
  return (
    entry !== undefined &&
    entry.dev === stat.dev &&
    entry.ino === stat.ino &&
    entry.size === stat.size &&
    entry.mtimeMs === stat.mtimeMs &&
    // ctime cannot be set by a user: a file rewritten and `touch`ed back still misses the cache
    entry.ctimeMs === stat.ctimeMs
  );
}

/**
 * SHA-256 of big files that rarely change (the node binary: 99 MB, 73 ms to hash here), cached
 * by device, inode, size, mtime and ctime in a private file of the user's cache directory. A
 * cache that cannot be read or written only costs the hashing.
 */
export function cachedDigests(paths: string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const file = cacheFile(env);
  let cache: Record<string, CacheEntry> = {};
  try {
    cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
  } catch {
    // none yet, or unreadable: start afresh
  }
  const digests = new Map<string, string>();
  let changed = false;
  for (const path of paths) {
    const stat = statSync(path);
    const entry = cache[path];
    if (sameFile(entry, stat)) {
      digests.set(path, entry.sha256);
      continue;
    }
    const sha256 = digestFileSync(path);
    cache[path] = { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, sha256 };
    digests.set(path, sha256);
    changed = true;
  }
  if (changed) {
    try {
      mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(cache), { mode: 0o600 });
      renameSync(temporary, file);
    } catch {
      // read-only home: hash again next time
    }
  }
  return digests;
}
