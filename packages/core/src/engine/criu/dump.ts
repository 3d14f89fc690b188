import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CriuBinary, criuTimeoutMs, findCriu } from './binary.js';
import { assertCriuCapabilities, criuRunsUnprivileged } from './capabilities.js';
import { CracError, ErrorCode } from '../../errors.js';
import { DUMP_LOG, HANDOFF_FILE } from '../../image/layout.js';
import { currentManifest, writeManifest } from '../../image/manifest.js';
import { prepareSealHook } from '../../image/seal-hook.js';
import { type StagedImageDir, stageImageDir, untilOthersLetGo } from '../../image/staging.js';
import { criuErrorLines } from './log.js';
import { loadNative, type NativeBinding } from './native.js';
import { prepareRestoredProcess } from '../../restored/prepare.js';
import { type ListenSlots, openListenSlots } from '../../handover/listeners.js';
import { fullGc } from './full-gc.js';
import { holdStopSignals, type NativeSignalHold } from './hold-signals.js';
import { shrinkProcess } from './shrink.js';
import { resolveShrink } from './shrink-option.js';
import type { Engine, EngineRequest, EngineResult } from '../engine.js';

/**
 * The CRIU engine: the process dumps itself through the native bridge (CRIU runs in a
 * detached grandchild, outside the dumped tree). Resolves `restored` in a restored copy and
 * `checkpointed` when left running; with `leaveRunning: false` the original process ends
 * with the dump (CRIU kills it). The cycle's stop signals are caught in C around the dump, so
 * that none is saved in the image (see `hold-signals.ts`).
 *
 * Not as root, CRIU runs in its `--unprivileged` mode, with the file capabilities of its binary.
 *
 * @throws {@link CracError} `CRAC_EENGINE` at selection when the native bridge or CRIU is missing;
 *   `CRAC_ECRIU_CAPS` when not root and the CRIU binary lacks a capability it needs.
 */
export function createCriuEngine(): Engine {
  const native = loadNative();
  const criu = findCriu();
  const unprivileged = criuRunsUnprivileged();
  if (unprivileged) assertCriuCapabilities(criu.path);
  return {
    name: 'criu',
    holdsListeners: true,
    checkpoint: async (request) => dump(native, criu, request, unprivileged),
  };
}

async function dump(native: NativeBinding, criu: CriuBinary, request: EngineRequest, unprivileged: boolean): Promise<EngineResult> {
  if (!request.imagesDir) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, 'the criu engine needs an image directory: pass `imagesDir` or set CRAC_IMAGES_DIR');
  }
  // A bad CRAC_SHRINK or CRAC_CRIU_TIMEOUT_MS fails here, before the image directory is touched.
  const shrinkBeforeDump = resolveShrink(request.shrink);
  const replyTimeoutMs = criuTimeoutMs();
  // From here on a stop signal is caught in C, not saved in the image; one that came before abandons the checkpoint.
  const signals = request.stopSignals ? await holdStopSignals(native, request.stopSignals) : undefined;
  try {
    signals?.throwIfStopped();
    return dumpHeld(native, criu, request.imagesDir, request, { shrinkBeforeDump, replyTimeoutMs, signals, unprivileged });
  } finally {
    signals?.release('failed');
  }
}

/** The dump proper, with the stop signals held: synchronous, the event loop waits for it. */
function dumpHeld(
  native: NativeBinding,
  criu: CriuBinary,
  imagesDir: string,
  request: EngineRequest,
  held: { shrinkBeforeDump: boolean; replyTimeoutMs: number | undefined; signals: NativeSignalHold | undefined; unprivileged: boolean },
): EngineResult {
  const { shrinkBeforeDump, replyTimeoutMs, signals, unprivileged } = held;
  // The image is written aside and put in place by the seal step: a failed dump leaves the previous one.
  const staged = stageImageDir(imagesDir);
  let handoff: number | undefined;
  let slots: ListenSlots | undefined;
  let published = false;
  try {
    handoff = openHandoff(staged);
    // the listening sockets the servers handed over: a restorer may bind them first (crac restore, crac-init --listen)
    slots = openListenSlots(staged);
    const listeners = slots.records.length > 0 ? { listeners: slots.records } : {};
    writeManifest(
      staged.via,
      currentManifest(staged.path, criu, {
        checkpointId: request.checkpointId ?? randomUUID(),
        handoff: join(staged.path, HANDOFF_FILE),
        ...listeners,
      }),
    );
    // CRIU's post-dump hook seals the image (checksums into the manifest) and puts it in place
    // before the process is killed or resumed; a failed seal fails the dump.
    const hook = prepareSealHook(staged);
    // Last thing before CRIU reads the memory: after the hooks, the audit and the preparation
    // above, which allocate too. Best effort: shrinkProcess() records a failing lever, never throws.
    const shrink = shrinkBeforeDump ? shrinkProcess({ v8Notify: native.v8Notify, mallocTrim: native.mallocTrim, fullGc }) : undefined;
    let result: 'restored' | 'checkpointed';
    // In a restored copy the handoff descriptor is now the restorer's: read first thing.
    let restored: ReturnType<typeof prepareRestoredProcess> | undefined;
    // CRIU writes the image with this process's umask: keep it private to the owner.
    const umask = process.umask(0o077);
    try {
      // a stop signal caught while the image was prepared: still before the dump
      signals?.throwIfStopped();
      ({ result } = native.checkpoint({
        criuPath: criu.path,
        imagesDir: staged.via,
        logFile: DUMP_LOG,
        leaveRunning: request.leaveRunning,
        // The process is rarely a session leader (started from a shell or a supervisor).
        shellJob: true,
        unprivileged,
        configFile: hook.configFile,
        env: hook.env,
        ...(replyTimeoutMs === undefined ? {} : { replyTimeoutMs }),
      }));
      // First thing after the dump: in a copy, the handoff (the restorer's environment and its
      // signal token: a signal caught with it is the copy's), then a signal from now on is the copy's own.
      restored = result === 'restored' ? prepareRestoredProcess(native, handoff) : undefined;
      signals?.release(result, restored?.signalToken);
    } catch (error) {
      signals?.release('failed');
      throw dumpFailure(error, staged);
    } finally {
      process.umask(umask);
    }
    published = true;
    slots.settle(result === 'restored');
    const shrinkReport = shrink ? { shrink } : {};
    return restored
      ? { outcome: result, ...(restored.environment ? { environment: restored.environment } : {}), ...shrinkReport }
      : { outcome: result, ...shrinkReport };
  } finally {
    if (handoff !== undefined) closeSync(handoff);
    slots?.close();
    if (!published) staged.discard();
    staged.close();
  }
}

/**
 * A failed dump says why in CRIU's own words (the `Error (...)` lines of its log) and, when the
 * seal step failed, in that step's; the log is kept beside the image directory (the staged image
 * is discarded).
 */
function dumpFailure(error: unknown, staged: StagedImageDir): unknown {
  if (!(error instanceof CracError) || error.code !== ErrorCode.CRIU_DUMP) return error;
  // CRIU killed mid-way may leave its seal step running on the staged files: discarding them under
  // its feet would let it seal an image missing files (found by the kill trials)
  untilOthersLetGo(staged.path);
  const criuErrors = criuErrorLines(join(staged.via, DUMP_LOG));
  // the seal step's own words: CRIU puts what its action scripts print in its log
  const sealSaid = sealStepLines(join(staged.via, DUMP_LOG));
  // measured before the discard frees it: CRIU's own log is on that file system, its last line cut short
  const full = isFull(staged.via) ? ['the file system of the image directory is full: No space left on device'] : [];
  // the seal step may have finished meanwhile, and put the staged image in place: its log is there
  const logPath = existsSync(staged.path) ? staged.discard() : sealedLog(staged.target);
  const lines = [...sealSaid, ...criuErrors, ...full];
  const where = logPath ? ` (log: ${logPath})` : '';
  // the native message names the log by the staging descriptor, gone by now
  const said = /^CRIU dump failed: (.*?)(?: \(log: [^)]*\))?$/s.exec(error.message)?.[1] ?? error.message;
  // CRIU's own first error is often the harmless RLIMIT_NOFILE warning (see log.ts): the lines below say more
  const reason = said.includes('RLIMIT_NOFILE') ? 'CRIU reported failure' : said;
  const details = lines.length > 0 ? `:\n${lines.join('\n')}` : '';
  const failed = new CracError(ErrorCode.CRIU_DUMP, `CRIU dump failed: ${reason}${where}${details}`, { cause: error.cause ?? error });
  return Object.assign(failed, { ...error, criuErrors, logPath });
}

/** CRIU's log in the image the seal step put in place, when it did. */
function sealedLog(target: string): string | undefined {
  const log = join(target, DUMP_LOG);
  return existsSync(log) ? log : undefined;
}

/** Whether the file system holding `dir` has (almost) no room left: less than 64 KiB for this user. */
function isFull(dir: string): boolean {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize < 64 * 1024;
  } catch {
    return false;
  }
}

function sealStepLines(log: string): string[] {
  try {
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('crac: '))
      .map((line) => line.slice('crac: '.length));
  } catch {
    return [];
  }
}

/** Creates the empty handoff file and opens it: the descriptor a restorer replaces (see layout.ts). */
function openHandoff(staged: StagedImageDir): number {
  const path = join(staged.via, HANDOFF_FILE);
  writeFileSync(path, '', { mode: 0o600 });
  return openSync(path, 'r');
}
