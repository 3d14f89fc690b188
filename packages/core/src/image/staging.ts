import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { loadNative } from '../engine/criu/native.js';
import { DUMP_LOG } from './layout.js';
import { assertSafeImageDirFd, IMAGE_DIR_FLAGS, restoringUid } from './ownership.js';

/**
 * A checkpoint never writes into the image directory it was asked for: it writes a new image
 * aside, in a private directory next to it, and the seal step (`crac-seal`, run by CRIU at
 * post-dump) puts that one in place in a single rename once the image is complete and sealed. A
 * checkpoint that fails, or a process that dies on the way, leaves the previous image as it was.
 */
export interface StagedImageDir {
  /** The image directory asked for (absolute): where the image will be once sealed. */
  readonly target: string;
  /** The staging directory's path: what CRIU records for the files the process holds in it. */
  readonly path: string;
  /** The staging directory, open O_DIRECTORY | O_NOFOLLOW and checked: owned by this user, 0700, safe parents. */
  readonly fd: number;
  /** `/proc/self/fd/N` of {@link fd}: files are written through it, never by a path that could change. */
  readonly via: string;
  /**
   * After a failed checkpoint: removes the staging directory. CRIU's log, when it wrote one, is
   * kept as `.<name>.crac-failed/dump.log` beside the image directory; returns its path. Once:
   * later calls return the same.
   */
  discard(): string | undefined;
  /** Closes {@link fd}. */
  close(): void;
}

/** `.<name>.crac-staging.<pid>.<random>`: hidden, and tells which process writes it. */
const STAGING = /^\.(.+)\.crac-staging\.(\d+)\.[0-9a-f]+$/;

/** Where CRIU's log of a failed checkpoint into `target` is kept. */
export function failedDumpDir(target: string): string {
  return join(dirname(target), `.${basename(target)}.crac-failed`);
}

/**
 * Prepares a checkpoint into `target`: checks what is there (a directory of this user's holding
 * nothing but an image, or nothing), creates a private staging directory beside it and checks it
 * and each of its parents the way a restore will (owned by this user or root, not writable by
 * others: a sticky /tmp is fine). Anything another user could swap mid-way is refused before a
 * byte is written.
 * @throws {@link CracError} `CRAC_EIMAGE` saying what is wrong and how to fix it.
 */
export function stageImageDir(dir: string): StagedImageDir {
  const target = resolve(dir);
  try {
    return stage(target);
  } catch (error) {
    if (error instanceof CracError) throw error;
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'EROFS' ? 'it is on a read-only file system' : code === 'ENOSPC' ? 'the disk is full' : message;
    throw new CracError(ErrorCode.IMAGE, `cannot checkpoint into ${target}: ${why}`, { cause: error });
  }
}

function stage(target: string): StagedImageDir {
  const parent = dirname(target);
  const name = basename(target);
  if (target === parent) throw new CracError(ErrorCode.IMAGE, `cannot checkpoint into ${target}: choose a directory below it`);
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  assertReplaceable(target);
  removeAbandonedStagings(parent, name);
  const path = join(parent, `.${name}.crac-staging.${process.pid}.${randomBytes(4).toString('hex')}`);
  mkdirSync(path, { mode: 0o700 });
  let fd: number | undefined;
  try {
    fd = openSync(path, IMAGE_DIR_FLAGS);
    fchmodSync(fd, 0o700);
    // named by the target in messages: the staging directory is ours and 0700, its parents are the target's
    assertSafeImageDirFd(fd, target, restoringUid(), 'checkpoint');
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(path, { recursive: true, force: true });
    throw error;
  }
  const opened = fd;
  let open = true;
  let discarded: { log: string | undefined } | undefined;
  return {
    target,
    path,
    fd: opened,
    via: `/proc/self/fd/${opened}`,
    discard: () => {
      discarded ??= { log: keepLogOf(path, target) };
      return discarded.log;
    },
    close: () => {
      if (open) closeSync(opened);
      open = false;
    },
  };
}

/**
 * The image directory, if there is one, must be a directory of this user's that holds only what a
 * dump leaves (the native check, which the seal step repeats at post-dump).
 */
function assertReplaceable(target: string): void {
  loadNative().assertReplaceable(target);
}

/**
 * After a checkpoint whose process died on the way (a crash, a kill -9): its staging directory
 * beside `target`, and any other of a process that is gone, removed (their CRIU log kept as a
 * failed one's). What `crac checkpoint` does once it saw its app end mid-checkpoint; the next
 * checkpoint into `target` would do it too, once no process (its CRIU, the seal step) holds it any
 * more: waits up to `waitMs` for that, else leaves it to that next checkpoint. Never rejects.
 */
export async function clearAbandonedStagings(target: string, waitMs = 10_000): Promise<void> {
  const resolved = resolve(target);
  const parent = dirname(resolved);
  const name = basename(resolved);
  try {
    // CRIU and the seal step outlive the app they dump by a little: its staging directory is
    // abandoned only once nobody holds it any more (else its files would go under the seal's
    // feet). A CRIU whose app died mid-dump may wait for it forever: after a grace, it is ended.
    const deadline = Date.now() + waitMs;
    for (const entry of readdirSync(parent)) {
      const match = STAGING.exec(entry);
      if (!match || match[1] !== name || isAlive(Number(match[2]))) continue;
      const path = join(parent, entry);
      for (let holders = holdersOf(path); holders.length > 0; holders = holdersOf(path)) {
        if (Date.now() > deadline) return; // still in use: the next checkpoint into target clears it
        if (Date.now() > deadline - waitMs / 2) for (const pid of holders) if (isCriuOfADump(pid)) killQuietly(pid);
        await sleep(50);
      }
    }
    removeAbandonedStagings(parent, name);
  } catch {
    // nothing there to clear, or nothing this user may clear
  }
}

/**
 * Waits, blocking (the dump blocks the event loop too), until no process but this one holds `dir`:
 * CRIU's seal step may run on for a moment after CRIU itself died. Up to `waitMs`; whether it was
 * let go.
 */
export function untilOthersLetGo(dir: string, waitMs = 10_000): boolean {
  const deadline = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (holdersOf(dir).some((pid) => pid !== process.pid)) {
    if (Date.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 20);
  }
  return true;
}

/** The processes with a descriptor, or their working directory, in `dir` (its CRIU, the seal step). */
function holdersOf(dir: string): number[] {
  const inside = (link: string) => link === dir || link.startsWith(`${dir}/`);
  const holders: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (
        inside(readlinkSync(`/proc/${pid}/cwd`)) ||
        readdirSync(`/proc/${pid}/fd`).some((fd) => inside(readlinkSync(`/proc/${pid}/fd/${fd}`)))
      ) {
        holders.push(Number(pid));
      }
    } catch {
      // gone, or not ours to look at
    }
  }
  return holders;
}

/** A CRIU of this user's serving a dump (`criu swrk`): the app that asked for it is gone, nothing will answer it. */
function isCriuOfADump(pid: number): boolean {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    return command[1] === 'swrk' && lstatSync(`/proc/${pid}`).uid === restoringUid();
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ended meanwhile
  }
}

/** Staging directories of processes that died before they finished (a crash, a kill -9): their log is kept as a failed one's. */
function removeAbandonedStagings(parent: string, name: string): void {
  for (const entry of readdirSync(parent)) {
    const match = STAGING.exec(entry);
    if (!match || match[1] !== name || isAlive(Number(match[2]))) continue;
    const path = join(parent, entry);
    // its CRIU log, if any, is what tells why that checkpoint never ended
    if (lstatSync(path).uid === restoringUid()) keepLogOf(path, join(parent, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie (killed, not yet reaped) writes nothing more
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * After a failed dump: CRIU's log kept beside the image directory, the rest of the staging
 * directory removed. Whatever is in the way and not ours (another user's `.NAME.crac-failed`,
 * a symbolic link, a file) is never followed nor removed: the log goes to a name of its own then.
 * Never throws: the dump's own error is what the caller reports.
 */
function keepLogOf(staging: string, target: string): string | undefined {
  try {
    let hasLog = false;
    try {
      hasLog = lstatSync(join(staging, DUMP_LOG)).isFile();
    } catch {
      // no log: CRIU did not get that far
    }
    if (!hasLog) {
      rmSync(staging, { recursive: true, force: true });
      return undefined;
    }
    // the staging directory is ours and private (0700): what CRIU wrote in it goes
    for (const entry of readdirSync(staging)) if (entry !== DUMP_LOG) rmSync(join(staging, entry), { recursive: true, force: true });
    const failed = failedDumpDir(target);
    const place = clearOwnFailedDir(failed) ? failed : `${failed}.${process.pid}.${randomBytes(4).toString('hex')}`;
    renameSync(staging, place);
    return join(place, DUMP_LOG);
  } catch {
    rmSync(staging, { recursive: true, force: true });
    return undefined;
  }
}

/** Makes room at `failed` when what is there is an earlier failed dump's log of ours (its log, nothing else); false when something else is there. */
function clearOwnFailedDir(failed: string): boolean {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(failed);
  } catch {
    return true; // nothing there
  }
  if (!stat.isDirectory() || stat.uid !== restoringUid()) return false;
  try {
    rmSync(join(failed, DUMP_LOG), { force: true });
    rmdirSync(failed); // not recursive: anything else in it stays, and so does the directory
    return true;
  } catch {
    return false;
  }
}
