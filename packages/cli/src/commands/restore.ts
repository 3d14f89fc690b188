import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CracError, ErrorCode } from '@crac/core';
import {
  IMAGES_DIR_FD,
  type Manifest,
  type OpenImage,
  openImage,
  REQUIRED_CRIU_FILES,
  RESTORE_LOG,
  verifyOpenImage,
} from '@crac/core/image';
import {
  criuErrorLines,
  exitCodeOf,
  findCriu,
  processState,
  requireNativeProgram,
  restoreAdvice,
  restorerArguments,
} from '@crac/core/protocol';
import { ExitCode, formatBytes, Report } from '../output.js';
import { forwardSignals } from '../signals.js';

/** Options of `crac restore`. */
export interface RestoreCommandOptions {
  json?: boolean;
  /** Restore into a new pid namespace: `auto` (when a pid is taken), `always`, `never`. */
  pidNamespace?: 'auto' | 'always' | 'never';
  /** `quick` (default): hash only the image files touched since the seal; `full`: hash them all. */
  verify?: 'quick' | 'full';
}

/**
 * `crac restore DIR`: restores the image in the foreground. This process stays the parent:
 * it hands the app its own stdio, forwards signals, and exits with the app's exit code
 * (125 when the restore itself failed).
 */
export async function restoreCommand(dir: string, options: RestoreCommandOptions): Promise<number> {
  const report = new Report(options.json ?? false);
  const imagesDir = resolve(dir);
  const workDir = mkdtempSync(join(tmpdir(), 'crac-restore-'));
  let image: OpenImage | undefined;
  try {
    const started = performance.now();
    // The directory is opened once and checked (it and its parents: owner, mode), the manifest
    // read through it; every file is then checked through that descriptor, and CRIU reads the
    // image through the same one (fd 3): nothing is reopened by path after it was checked.
    image = openImage(imagesDir);
    const opened = performance.now() - started;
    const { manifest } = image;
    assertComplete(image);
    const criu = findCriu();
    // Same host and build, every file as sealed after the dump: or refuse, before anything starts.
    const verification = await verifyOpenImage(image, { criuVersion: criu.version, mode: options.verify ?? 'quick' });
    for (const warning of verification.warnings) report.info(`warning: ${warning}`);
    const { files, hashed, bytesHashed } = verification.seal;
    report.phase('verify', opened + verification.durationMs, `${files} files as sealed, ${hashed} hashed (${formatBytes(bytesHashed)})`);
    const namespace = await usePidNamespace(manifest, options.pidNamespace ?? 'auto');
    const pidFile = join(workDir, 'restored.pid');
    // crac-init stays the restored app's parent (subreaper, or pid 1 of a new pid namespace):
    // it forwards signals and exits with the app's exit code, which CRIU itself does not.
    const init = requireNativeProgram('init');
    const initArgs = restorerArguments(manifest, { criuPath: criu.path, imagesDir, workDir, pidFile, pidNamespace: namespace });

    const stdio: ('inherit' | number)[] = ['inherit', 'inherit', 'inherit'];
    stdio[IMAGES_DIR_FD] = image.fd;
    const restorer = spawn(init, initArgs, { stdio });
    image.close();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      restorer.once('exit', (code, signal) => resolveExit({ code, signal })),
    );
    const stopForwarding = forwardSignals(restorer);
    try {
      const restored = await waitForPidFile(pidFile, exited);
      if (restored === undefined) throw restoreFailure(join(workDir, RESTORE_LOG), imagesDir);
      report.phase('restore', performance.now() - started, `pid ${manifest.pid}${namespace ? ' (new pid namespace)' : ''}`);
      report.finish({ ok: true, pid: manifest.pid, pidNamespace: namespace });
      const { code, signal } = await exited;
      return exitCodeOf({ code, signal }, ExitCode.FAILED);
    } finally {
      stopForwarding();
    }
  } catch (error) {
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return (error as CracError).code === ErrorCode.INVALID_ARGUMENT ? ExitCode.USAGE : ExitCode.RESTORE_FAILED;
  } finally {
    image?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function assertComplete(image: OpenImage): void {
  const missing = REQUIRED_CRIU_FILES.filter((name) => !existsSync(`/proc/self/fd/${image.fd}/${name}`));
  if (missing.length > 0)
    throw new CracError(ErrorCode.IMAGE, `${image.dir} is incomplete: ${missing.join(', ')} missing; checkpoint again`);
}

/**
 * A pid the image needs may be held by a zombie that PID 1 has not reaped yet (the dumped
 * process and its children die with the dump): wait a little for those. A pid held by a live
 * process sends the restore into a new pid namespace, where `process.pid` stays the same.
 */
async function usePidNamespace(manifest: Manifest, mode: 'auto' | 'always' | 'never'): Promise<boolean> {
  if (mode === 'always') return true;
  const deadline = Date.now() + ZOMBIE_WAIT_MS;
  let taken = takenIds(manifest);
  while (taken.length > 0 && taken.every((pid) => processState(pid) !== 'alive') && Date.now() < deadline) {
    await sleep(50);
    taken = takenIds(manifest);
  }
  // never: CRIU then says which pid is taken, and the fix
  if (taken.length === 0 || mode === 'never') return false;
  if (manifest.stdio.some((entry) => entry.kind === 'tty')) {
    throw new CracError(
      ErrorCode.CRIU_RESTORE,
      `pid ${taken[0]} that the image needs is taken, and an app checkpointed on a terminal cannot be restored in a new pid namespace (CRIU cannot hand it the terminal there): end process ${taken[0]}, or checkpoint with stdout and stderr on a file or a pipe`,
    );
  }
  return true;
}

/** How long to wait for zombies holding the image's pids to be reaped. */
const ZOMBIE_WAIT_MS = 3_000;

function takenIds(manifest: Manifest): number[] {
  return manifest.ids.filter((id) => existsSync(`/proc/${id}`));
}

/** Resolves with the restored pid once CRIU wrote it, or undefined if the restorer ended first. */
async function waitForPidFile(path: string, restorerExited: Promise<unknown>): Promise<number | undefined> {
  let ended = false;
  restorerExited.then(() => {
    ended = true;
  });
  for (;;) {
    try {
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    if (ended) return undefined;
    await sleep(2);
  }
}

function restoreFailure(logPath: string, imagesDir: string): CracError {
  const errors = criuErrorLines(logPath);
  const advice = restoreAdvice(errors);
  const detail = errors.length > 0 ? errors.slice(-5).join('\n  ') : 'CRIU ended without an error line in its log (see the lines above)';
  return Object.assign(
    new CracError(ErrorCode.CRIU_RESTORE, `cannot restore ${imagesDir}:\n  ${detail}${advice ? `\n  fix: ${advice}` : ''}`),
    { criuErrors: errors },
  );
}
