import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { cachedDigests, type DigestCacheLocation, digestCacheLocation } from './digest-cache.js';

/**
 * A file mapped into the process when it was dumped. CRIU maps it again by path at restore and
 * fails with a cryptic `bad size` (or a build-id mismatch) when it changed: the manifest keeps
 * its identity so that the restorer can refuse early and say which file differs.
 */
export interface BinaryRecord {
  path: string;
  /** `node`: the node binary; `addon`: a `.node` file; `preload`: crac-nouring.so; `library`: a shared library. */
  role: 'node' | 'addon' | 'preload' | 'library';
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  ctimeMs: number;
  /** SHA-256 of the content, for `node`, `addon` and `preload` (libraries: size only). */
  sha256?: string;
}

const HASHED: ReadonlySet<BinaryRecord['role']> = new Set(['node', 'addon', 'preload']);

/** The regular files mapped into `/proc/<pid>/maps` (deleted files, devices and memfds left out). */
export function mappedFiles(pid: number | 'self' = 'self'): string[] {
  const paths = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const path = line.split(/\s+/).slice(5).join(' ');
    if (!path.startsWith('/') || path.endsWith(' (deleted)') || path.startsWith('/dev/') || path.startsWith('/memfd:')) continue;
    paths.add(path);
  }
  return [...paths];
}

function roleOf(path: string, execPath: string): BinaryRecord['role'] {
  if (path === execPath) return 'node';
  if (path.endsWith('.node')) return 'addon';
  if (basename(path) === 'crac-nouring.so') return 'preload';
  return 'library';
}

/** Identity of the node binary and of every file mapped into this process (taken before a dump). */
export function describeBinaries(
  execPath = process.execPath,
  mapped: string[] = mappedFiles(),
  cache: DigestCacheLocation = digestCacheLocation(),
): BinaryRecord[] {
  const paths = [...new Set([execPath, ...mapped])];
  const roles = new Map(paths.map((path) => [path, roleOf(path, execPath)]));
  const digests = cachedDigests(
    paths.filter((path) => HASHED.has(roles.get(path) as BinaryRecord['role'])),
    cache,
  );
  return paths.map((path) => {
    const stat = statSync(path);
    const sha256 = digests.get(path);
    return {
      path,
      role: roles.get(path) as BinaryRecord['role'],
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      dev: stat.dev,
      ino: stat.ino,
      ctimeMs: stat.ctimeMs,
      ...(sha256 ? { sha256 } : {}),
    };
  });
}
