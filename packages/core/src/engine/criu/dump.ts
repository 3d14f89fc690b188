import { randomUUID } from 'node:crypto';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CriuBinary, criuTimeoutMs, findCriu } from './binary.js';
import { assertCriuCapabilities, criuRunsUnprivileged } from './capabilities.js';
import { CracError, ErrorCode } from '../../errors.js';
import { prepareImagesDir } from '../../image/images-dir.js';
import { DUMP_LOG, HANDOFF_FILE } from '../../image/layout.js';
import { currentManifest, writeManifest } from '../../image/manifest.js';
import { prepareSealHook, removeSealHook } from '../../image/seal-hook.js';
import { criuErrorLines } from './log.js';
import { loadNative, type NativeBinding } from './native.js';
import { prepareRestoredProcess } from '../../restored/prepare.js';
import { fullGc } from './full-gc.js';
import { type ShrinkReport, shrinkProcess } from './shrink.js';
import { resolveShrink } from './shrink-option.js';
import type { Engine, EngineRequest, EngineResult } from '../engine.js';

/**
 * The CRIU engine: the process dumps itself through the native bridge (CRIU runs in a
 * detached grandchild, outside the dumped tree). Resolves `restored` in a restored copy and
 * `checkpointed` when left running; with `leaveRunning: false` the original process ends
 * with the dump (CRIU kills it).
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
  if (unprivileged) assertCriuCapabilities(criu.path, native.readXattr);
  return {
    name: 'criu',
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
  const imagesDir = resolve(request.imagesDir);
  prepareImagesDir(imagesDir);
  const handoff = openHandoff(imagesDir);
  let result: 'restored' | 'checkpointed';
  let shrink: ShrinkReport | undefined;
  try {
    writeManifest(
      imagesDir,
      currentManifest(imagesDir, criu, { checkpointId: request.checkpointId ?? randomUUID(), handoff: handoff.path }),
    );
    // CRIU's post-dump hook seals the image (checksums into the manifest) before the process is
    // killed or resumed; a failed seal fails the dump.
    const configFile = prepareSealHook(imagesDir);
    // Last thing before CRIU reads the memory: after the hooks, the audit and the preparation
    // above, which allocate too. Best effort: shrinkProcess() records a failing lever, never throws.
    shrink = shrinkBeforeDump ? shrinkProcess({ v8Notify: native.v8Notify, mallocTrim: native.mallocTrim, fullGc }) : undefined;
    // CRIU writes the image with this process's umask: keep it private to the owner.
    const umask = process.umask(0o077);
    try {
      ({ result } = native.checkpoint({
        criuPath: criu.path,
        imagesDir,
        logFile: DUMP_LOG,
        leaveRunning: request.leaveRunning,
        // The process is rarely a session leader (started from a shell or a supervisor).
        shellJob: true,
        unprivileged,
        configFile,
        ...(replyTimeoutMs === undefined ? {} : { replyTimeoutMs }),
      }));
    } catch (error) {
      removeSealHook(imagesDir);
      throw withCriuLog(error);
    } finally {
      process.umask(umask);
    }
    const shrinkReport = shrink ? { shrink } : {};
    // In a restored copy the handoff descriptor is now the restorer's: read it before anything else.
    return result === 'restored'
      ? { outcome: result, ...prepareRestoredProcess(native, handoff.fd), ...shrinkReport }
      : { outcome: result, ...shrinkReport };
  } finally {
    closeSync(handoff.fd);
  }
}

/** A failed dump says why in CRIU's own words: the `Error (...)` lines of its log. */
function withCriuLog(error: unknown): unknown {
  if (!(error instanceof CracError) || error.code !== ErrorCode.CRIU_DUMP) return error;
  const { logPath } = error as CracError & { logPath?: string };
  const criuErrors = logPath ? criuErrorLines(logPath) : [];
  if (criuErrors.length === 0) return Object.assign(error, { criuErrors });
  const failed = new CracError(ErrorCode.CRIU_DUMP, `CRIU dump failed (log: ${logPath}):\n${criuErrors.join('\n')}`, {
    cause: error.cause,
  });
  return Object.assign(failed, { ...error, criuErrors });
}

/** Creates the empty handoff file and opens it: the descriptor a restorer replaces (see layout.ts). */
function openHandoff(imagesDir: string): { path: string; fd: number } {
  const path = join(imagesDir, HANDOFF_FILE);
  writeFileSync(path, '', { mode: 0o600 });
  return { path, fd: openSync(path, 'r') };
}
