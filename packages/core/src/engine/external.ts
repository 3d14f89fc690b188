import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopSignalError } from '../cycle/stop-signals.js';
import { CracError, ErrorCode } from '../errors.js';
import { core } from '../global-context.js';
import { applyEnvironment, type EnvironmentChanges } from '../restored/environment.js';
import { notifyWorkersRestored, refreshThreadRandomness } from '../restored/randomness.js';
import { IMAGE_DIR_FLAGS } from '../image/layout.js';
import { describeOwner, fileUnsafety, restoringUid } from '../image/ownership.js';
import { loadNative } from './criu/native.js';
import type { Engine, EngineRequest, EngineResult } from './engine.js';

/** Where a copy restored by the container engine takes its environment from (see {@link claimRestoreEnvironment}). */
export const RESTORE_ENV_DIR_ENV = 'CRAC_RESTORE_ENV_DIR';

/** Options of {@link createExternalEngine}. */
export interface ExternalEngineOptions {
  /** How long to hold, waiting for the container engine's dump and restore, in ms. Default 10 minutes. */
  holdMs?: number;
  /** How often to look whether the process was restored, in ms. Default 100. */
  pollMs?: number;
  /** Called once every resource has let go and the process holds: tell the operator to dump it now. */
  onHeld?: (request: EngineRequest) => void;
  /** Called when the hold ends, restored or not. */
  onReleased?: () => void;
  /** What identifies this process's incarnation: it changes across a restore. Default {@link processIncarnation}. */
  incarnation?: () => string;
  /** What a restored copy does first, before any afterRestore hook. Default {@link prepareExternallyRestored}. */
  restored?: () => Promise<{ environment?: EnvironmentChanges }>;
}

/**
 * An engine that dumps nothing itself: the container engine (podman, CRI-O through the kubelet)
 * checkpoints the whole container while this process holds, every resource released. The hold
 * ends when the process notices it was restored (its incarnation changed: see
 * {@link processIncarnation}), then the copy makes its randomness and environment its own, and
 * the cycle runs the afterRestore hooks. A stop signal during the hold, or no restore within
 * `holdMs` (the engine's dump failed, or the original runs on after a `--leave-running` dump),
 * ends it too: the resources are given back and the original runs on.
 */
export function createExternalEngine(options: ExternalEngineOptions = {}): Engine {
  const { holdMs = 10 * 60_000, pollMs = 100, incarnation = processIncarnation, restored = prepareExternallyRestored } = options;
  return {
    name: 'external',
    async checkpoint(request: EngineRequest): Promise<EngineResult> {
      const before = incarnation();
      const deadline = Date.now() + holdMs;
      options.onHeld?.(request);
      try {
        for (;;) {
          // a timer, nothing else: a held process does no work the dump could catch half-way
          await sleep(pollMs);
          if (incarnation() !== before) return { outcome: 'restored', ...(await restored()) };
          const signal = request.stopSignals?.requested;
          if (signal) throw stopSignalError(signal);
          if (Date.now() >= deadline) {
            throw new CracError(
              ErrorCode.CHECKPOINT,
              `no container engine checkpointed and restored this process within ${holdMs} ms of holding: it runs on (a dump left running, or one that failed)`,
            );
          }
        }
      } finally {
        options.onReleased?.();
      }
    },
  };
}

/**
 * This process's incarnation: its start time (`/proc/self/stat`, field 22, in clock ticks since
 * boot) and its pid namespace. A restore by CRIU makes a new task, with a new start time, even
 * where the pid and namespace inode come out the same (measured with podman: the inode of a
 * freed namespace is reused). Cheap: two small reads.
 */
export function processIncarnation(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // the command name may hold spaces and parentheses: fields count from after the last ')'
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  let pidNamespace = '';
  try {
    pidNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // no namespaces to read: the start time alone
  }
  return `${startTime} ${pidNamespace}`;
}

/**
 * What a copy restored by the container engine does first: its randomness becomes its own, and
 * its environment the one its operator left for it (a container engine's restore keeps the
 * checkpointed container's environment; `podman container restore` takes no `--env`).
 */
export async function prepareExternallyRestored(): Promise<{ environment?: EnvironmentChanges }> {
  loadNative().reseedRandom();
  refreshThreadRandomness(core().random);
  notifyWorkersRestored();
  const dir = process.env[RESTORE_ENV_DIR_ENV];
  if (!dir) return {};
  const variables = await claimRestoreEnvironment(dir);
  return variables ? { environment: applyEnvironment({ ...(process.env as Record<string, string>), ...variables }) } : {};
}

/**
 * Claims one environment file of `dir` for this copy: the first `*.env` in name order, renamed
 * to `NAME.env.claimed-PID-STARTTIME` (a rename is atomic: two copies never take the same one).
 * Its `NAME=value` lines (blank lines and `#` comments aside) are set over the image's
 * environment. An operator restoring N copies drops N files, one per copy, in a directory mounted
 * in the container (a bind mount is mounted again at the restore). Waits up to `waitMs` (10 s)
 * for one; none: the image's environment stays, with the warning `CRAC_ERESTORE_ENV`.
 */
export async function claimRestoreEnvironment(dir: string, waitMs = 10_000): Promise<Record<string, string> | undefined> {
  const deadline = Date.now() + waitMs;
  const claim = `claimed-${process.pid}-${processIncarnation().split(' ')[0]}`;
  for (;;) {
    // Opened without following a link and checked as an image directory is (it and its parents
    // the user's or root's, written by no one else): a copy takes no environment another user left.
    let dirFd: number | undefined;
    try {
      dirFd = openSync(dir, IMAGE_DIR_FLAGS);
    } catch {
      // not there (yet): as if empty
    }
    if (dirFd !== undefined) {
      try {
        loadNative().assertSafeDirectory(dirFd, dir, restoringUid(), 'environment');
        const via = `/proc/self/fd/${dirFd}`;
        const names = readdirSync(via)
          .filter((name) => name.endsWith('.env'))
          .sort();
        for (const name of names) {
          const claimed = `${name}.${claim}`;
          try {
            renameSync(join(via, name), join(via, claimed));
          } catch {
            continue; // another copy took it first
          }
          return parseEnvFile(readEnvFile(via, claimed, join(dir, claimed)));
        }
      } catch (error) {
        process.emitWarning(`@crac/core: ${(error as Error).message}; process.env stays the image's`, {
          code: ErrorCode.RESTORE_ENVIRONMENT,
        });
        return undefined;
      } finally {
        closeSync(dirFd);
      }
    }
    if (Date.now() >= deadline) break;
    await sleep(100);
  }
  process.emitWarning(`@crac/core: no environment file to claim in ${dir} within ${waitMs} ms; process.env stays the image's`, {
    code: ErrorCode.RESTORE_ENVIRONMENT,
  });
  return undefined;
}

/** The largest environment file read. */
const MAX_ENV_FILE_BYTES = 1 << 20;

/**
 * An environment file of the directory open at `via`: not through a link, without blocking (a
 * FIFO is refused at once), a regular file of the user's or root's that no one else can write, of
 * at most 1 MiB.
 * @throws {@link CracError} `CRAC_ERESTORE_ENV` saying what is wrong.
 */
function readEnvFile(via: string, name: string, path: string): string {
  let fd: number;
  try {
    fd = openSync(join(via, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    throw new CracError(ErrorCode.RESTORE_ENVIRONMENT, `cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`, { cause });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CracError(ErrorCode.RESTORE_ENVIRONMENT, `${path} is not a regular file: refusing to read it`);
    const unsafety = fileUnsafety(stat, restoringUid());
    if (unsafety) {
      throw new CracError(
        ErrorCode.RESTORE_ENVIRONMENT,
        `${path} ${unsafety === 'owner' ? 'belongs to another user' : 'is writable by others'} (owner ${describeOwner(stat.uid)}): refusing to read it`,
      );
    }
    if (stat.size > MAX_ENV_FILE_BYTES) {
      throw new CracError(
        ErrorCode.RESTORE_ENVIRONMENT,
        `${path} is ${stat.size} bytes, more than an environment file can be: refusing to read it`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** `NAME=value` lines; blank lines and `#` comments are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const equals = trimmed.indexOf('=');
    if (equals > 0) variables[trimmed.slice(0, equals)] = trimmed.slice(equals + 1);
  }
  return variables;
}
