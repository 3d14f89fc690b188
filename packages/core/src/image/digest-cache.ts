import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { digestFileSync } from './hash.js';

/** The environment variable naming the directory of crac-node's cache (default `~/.cache/crac`); root ignores it. */
export const CACHE_DIR_ENV = 'CRAC_CACHE_DIR';

/** Root's cache beside CRIU's kernel probe (CRAC_KDAT_DIR of native/src/lib/criu/kdat_dir.h), written by `crac restore`. */
const ROOT_SHARED_CACHE = '/dev/shm/crac-criu/digests.json';

/** Entries kept per path, newest first: one node's shared cache sees the node binary of every image restored there. */
const PER_PATH = 4;

interface CacheEntry {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

/** A path's value: one entry, or several (files that were at that path in turn). */
type CacheValue = CacheEntry | CacheEntry[];

/** Where the digests are read from (in order) and written to. */
export interface DigestCacheLocation {
  read: string[];
  write: string;
  /** Root's: files and the directory written must be root's alone (none is taken from the environment). */
  rootOnly: boolean;
}

/**
 * A user's cache is where the environment says (`$CRAC_CACHE_DIR`, `$XDG_CACHE_HOME/crac`,
 * `~/.cache/crac`). Root takes no path from it (`sudo -E` keeps a user's HOME, and root would
 * trust digests planted there and write files into a directory the user controls): it reads the
 * cache `crac restore` keeps beside CRIU's, then its own home's (from the password database),
 * and writes the latter, which a container build step bakes into the image.
 */
export function digestCacheLocation(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.()): DigestCacheLocation {
  if (euid === 0) {
    const home = join(userInfo().homedir || '/root', '.cache', 'crac', 'digests.json');
    return { read: [ROOT_SHARED_CACHE, home], write: home, rootOnly: true };
  }
  const dir = env[CACHE_DIR_ENV] || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'crac');
  const file = join(dir, 'digests.json');
  return { read: [file], write: file, rootOnly: false };
}

/** Written by root alone: owned by root, no group or other write. */
function rootsAlone(stat: Stats): boolean {
  return stat.uid === 0 && (stat.mode & 0o022) === 0;
}

function load(file: string, rootOnly: boolean): Record<string, CacheValue> {
  try {
    const stat = lstatSync(file);
    if (!stat.isFile() || (rootOnly && (!rootsAlone(stat) || !rootsAlone(lstatSync(dirname(file)))))) return {};
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, CacheValue>) : {};
  } catch {
    return {}; // none yet, or unreadable: start afresh
  }
}

function entriesOf(value: CacheValue | undefined): CacheEntry[] {
  if (!value) return [];
  return (Array.isArray(value) ? value : [value]).filter((entry) => entry && typeof entry === 'object');
}

function sameFile(entry: CacheEntry, stat: Stats): boolean {
  return (
    entry.dev === stat.dev &&
    entry.ino === stat.ino &&
    entry.size === stat.size &&
    entry.mtimeMs === stat.mtimeMs &&
    // ctime cannot be set by a user: a file rewritten and `touch`ed back still misses the cache
    entry.ctimeMs === stat.ctimeMs &&
    typeof entry.sha256 === 'string'
  );
}

/** The directory of `file`, made if missing; for root only when it is root's alone. */
function writableDir(file: string, rootOnly: boolean): boolean {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return !rootOnly || (lstatSync(dir).isDirectory() && rootsAlone(lstatSync(dir)));
}

function save(location: DigestCacheLocation, cache: Record<string, CacheValue>): void {
  const { write: file, rootOnly } = location;
  const temporary = `${file}.${process.pid}.tmp`;
  let written = false;
  try {
    if (!writableDir(file, rootOnly)) return;
    for (const path of Object.keys(cache)) if (!existsSync(path)) delete cache[path]; // images long removed
    // 'wx': a file (or symlink) planted at the temporary name fails the write instead of being followed
    writeFileSync(temporary, JSON.stringify(cache), { mode: 0o600, flag: 'wx' });
    written = true;
    renameSync(temporary, file);
  } catch {
    // read-only home: hash again next time; only our own temporary file is removed
    if (written) rmSync(temporary, { force: true });
  }
}

/**
 * SHA-256 of big files that rarely change (the node binary: 99 MB, 73 ms to hash here), cached
 * by device, inode, size, mtime and ctime in a private file (see {@link digestCacheLocation}).
 * A cache that cannot be read or written only costs the hashing.
 */
export function cachedDigests(paths: string[], location: DigestCacheLocation = digestCacheLocation()): Map<string, string> {
  const caches = location.read.map((file) => load(file, location.rootOnly));
  const cache = caches[location.read.indexOf(location.write)] ?? {};
  const digests = new Map<string, string>();
  let changed = false;
  for (const path of paths) {
    const stat = statSync(path);
    const known = caches.flatMap((each) => entriesOf(each[path])).find((entry) => sameFile(entry, stat));
    if (known) {
      digests.set(path, known.sha256);
      continue;
    }
    const sha256 = digestFileSync(path);
    const entry = { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, sha256 };
    const older = entriesOf(cache[path]).filter((other) => other.ino !== stat.ino || other.dev !== stat.dev);
    const kept = [entry, ...older].slice(0, PER_PATH);
    cache[path] = kept.length === 1 ? entry : kept;
    digests.set(path, sha256);
    changed = true;
  }
  if (changed) save(location, cache);
  return digests;
}
