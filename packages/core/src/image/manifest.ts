import { readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../engine/criu/native.js';
import { type BinaryRecord, describeBinaries } from './binaries.js';
import { describeHost, type HostRecord } from './host.js';

import { MANIFEST_FILE } from './layout.js';

/** The file beside CRIU's images that describes them. */
export { MANIFEST_FILE };

/**
 * A TCP listening socket of the app, handed over for the dump (PROTOCOL.md, "Listening sockets").
 * After a restore the server listens on `host` and on `port`, unless `portEnv` is set and the
 * restoring environment gives that variable a value other than `portEnvValue` (absent: it was
 * unset at the checkpoint): then on that port.
 */
export interface ListenerRecord {
  host: string;
  port: number;
  /** The variable that names the port after a restore; absent when the port never follows one. */
  portEnv?: string;
  /** Its value at the checkpoint; absent when it was unset. */
  portEnvValue?: string;
  /** The slot file (absolute, as named at the dump) the process held open through the dump. */
  slot: string;
}

export interface StdioRecord {
  fd: 0 | 1 | 2;
  kind: 'tty' | 'pipe' | 'file' | 'socket' | 'null' | 'closed' | 'other';
  /** What /proc/self/fd/N pointed at: `pipe:[123]`, `/dev/pts/0`, a path... */
  target: string;
}

/**
 * The manifest format this version writes. Format 3 adds `listeners`: their slot files must be
 * replaced at restore (crac restore, or crac-init `--listen`), so an older restorer must refuse the image rather
 * than fail in CRIU. Format 2 is read as well; format 1 (no identities, no seal) is read, and
 * refused as unsealed.
 */
export const MANIFEST_FORMAT = 3;

/** One sealed file of an image. */
export interface SealedFile {
  size: number;
  sha256: string;
  dev: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** Checksums of every file CRIU wrote, taken by the post-dump hook right after the dump. */
export interface ImageSeal {
  algorithm: 'sha256';
  sealedAt: string;
  /**
   * By file name inside the image directory: size and SHA-256, and the file's identity when
   * sealed (device, inode, mtime, ctime): a file with the same identity has not been written since,
   * so a quick verification need not hash it.
   */
  files: Record<string, SealedFile>;
}

/** Everything a restorer must know before it hands the image to CRIU. */
export interface Manifest {
  format: 1 | 2 | 3;
  createdAt: string;
  /** The root process: `process.pid` in the app. */
  pid: number;
  /**
   * Every pid and thread id of the dumped tree (the app, its threads, its child processes and
   * theirs): CRIU restores them exactly, so they must be free, or a new pid namespace used.
   */
  ids: number[];
  node: { version: string; execPath: string };
  criu: { path: string; version: string };
  /**
   * Names this checkpoint: the id of the request that asked for it (`crac checkpoint`), or a
   * fresh one. A sealed manifest with that id is how a requester knows its dump succeeded.
   */
  checkpointId?: string;
  /** Where the image was written: the restorer remaps the directory fd held during the dump. */
  imagesDir: string;
  /** The handoff file the process held open through the dump (absolute), if it did: see `HANDOFF_FILE`. */
  handoff?: string;
  /**
   * The TCP listening sockets the app's servers handed over for the dump (see
   * `handover/listeners.ts`): where each listened, the rule for its port after a restore, and the
   * slot file whose descriptor a restorer may replace with a socket it bound first.
   */
  listeners?: ListenerRecord[];
  stdio: StdioRecord[];
  /** The host that made the image (format 2). */
  host?: HostRecord;
  /** The node binary and every file mapped into the process (format 2). */
  binaries?: BinaryRecord[];
  /**
   * Added after the dump by `crac checkpoint --working-set`: `pages` (4 KiB each) the app touched
   * to answer its warm-up after a trial restore, restored with the process; `lazyPages` served by
   * CRIU's lazy-pages server after it resumes. `crac restore` restores such an image that way
   * unless `--memory eager`.
   */
  workingSet?: { pages: number; lazyPages: number };
  /** Added after the dump; an image without one is refused. */
  seal?: ImageSeal;
}

/** Reads what this process's stdin, stdout and stderr are. */
export function describeStdio(): StdioRecord[] {
  return ([0, 1, 2] as const).map((fd) => {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return { fd, kind: 'closed', target: '' };
    }
    return { fd, kind: stdioKind(target), target };
  });
}

function stdioKind(target: string): StdioRecord['kind'] {
  if (target === '/dev/null') return 'null';
  if (/^\/dev\/(pts\/\d+|tty\w*|console)$/.test(target)) return 'tty';
  if (target.startsWith('pipe:[')) return 'pipe';
  if (target.startsWith('socket:[')) return 'socket';
  if (target.startsWith('/')) return 'file';
  return 'other';
}

/** Pids and thread ids of `pid` and all its descendants. */
function treeIds(pid: number): number[] {
  const ids: number[] = [];
  const visit = (current: number) => {
    let tasks: number[];
    try {
      tasks = readdirSync(`/proc/${current}/task`).map(Number);
    } catch {
      return; // ended meanwhile
    }
    ids.push(...tasks);
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8');
      } catch {
        // thread ended meanwhile
      }
      for (const child of children.split(' ').filter(Boolean)) visit(Number(child));
    }
  };
  visit(pid);
  return [...new Set(ids)];
}

/** What the dump adds to the manifest of {@link currentManifest}. */
export interface DumpRecord {
  checkpointId: string;
  /** The handoff file the process holds open through the dump. */
  handoff: string;
  /** The listening sockets handed over for the dump, with their slot files. */
  listeners?: ListenerRecord[];
}

/** The manifest of this process, taken just before the dump. */
export function currentManifest(imagesDir: string, criu: { path: string; version: string }, dump?: DumpRecord): Manifest {
  return {
    format: MANIFEST_FORMAT,
    createdAt: new Date().toISOString(),
    pid: process.pid,
    ...dump,
    ids: treeIds(process.pid),
    node: { version: process.version, execPath: process.execPath },
    criu,
    imagesDir,
    stdio: describeStdio(),
    host: describeHost(),
    binaries: describeBinaries(),
  };
}

/** Writes the manifest (0600) in place of the old one, atomically: a reader sees the old or the new one. */
export function writeManifest(dir: string, manifest: Manifest): void {
  const path = join(dir, MANIFEST_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/**
 * Reads the manifest of the image in `dir`, by the one reader of the format (native, the one
 * `crac restore` and the seal step use: crac.node's `readManifest`): opened without following a
 * symbolic link and without blocking, a regular file of at most 1 MiB, every field a restorer
 * reads checked.
 * @throws `CracError` `CRAC_EIMAGE` when the manifest is missing, not a small regular file, unreadable or damaged;
 *   `CRAC_EENGINE` when the native programs are not built.
 */
export function readManifest(dir: string): Manifest {
  return JSON.parse(loadNative().readManifest(dir)) as Manifest;
}
