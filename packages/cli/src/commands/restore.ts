import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, fstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
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
  assertCriuCapabilities,
  criuErrorLines,
  criuRunsUnprivileged,
  exitCodeOf,
  findCriu,
  processStartTime,
  processState,
  requireNativeProgram,
  restoreAdvice,
  restorerArguments,
  CracError,
  ErrorCode,
} from '@crac/core/protocol';
import { ExitCode, formatBytes, Report } from '../output.js';
import { forwardSignals } from '../signals.js';

/** Options of `crac restore`. */
export interface RestoreCommandOptions {
  json?: boolean;
  /**
   * Restore into a new pid namespace: `auto` (always, except an image checkpointed on a terminal,
   * which gets one only when its pids are taken), `always`, `never`.
   */
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
  // SIGUSR1 would open an inspector in this process: it is the app's (forwarded once it runs)
  const noInspector = () => {};
  process.on('SIGUSR1', noInspector);
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
    // Not root: CRIU's --unprivileged mode, with the file capabilities of its binary (checked
    // first: CRIU hangs rather than fails without one), and no pid namespace (that needs root).
    const unprivileged = criuRunsUnprivileged();
    if (unprivileged) {
      assertCriuCapabilities(criu.path);
      assertOwnPipes(manifest);
    }
    // Same host and build, every file as sealed after the dump: or refuse, before anything starts.
    const verification = await verifyOpenImage(image, { criuVersion: criu.version, mode: options.verify ?? 'quick' });
    for (const warning of verification.warnings) report.info(`warning: ${warning}`);
    const { files, hashed, bytesHashed } = verification.seal;
    report.phase('verify', opened + verification.durationMs, `${files} files as sealed, ${hashed} hashed (${formatBytes(bytesHashed)})`);
    const onTerminal = manifest.stdio.some((entry) => entry.kind === 'tty');
    const namespace = await usePidNamespace(manifest, options.pidNamespace ?? 'auto', { onTerminal, unprivileged });
    const pidFile = join(workDir, 'restored.pid');
    // crac-init stays the restored app's parent (subreaper, or pid 1 of a new pid namespace):
    // it forwards signals and exits with the app's exit code, which CRIU itself does not.
    const init = requireNativeProgram('init');
    const initArgs = restorerArguments(manifest, {
      criuPath: criu.path,
      imagesDir,
      workDir,
      pidFile,
      pidNamespace: namespace,
      unprivileged,
    });

    const stdio: ('inherit' | number)[] = ['inherit', 'inherit', 'inherit'];
    stdio[IMAGES_DIR_FD] = image.fd;
    // Signals reach the app by one path: this process forwards them to crac-init, which
    // forwards them to the app. So crac-init (and the app, which CRIU puts in crac-init's
    // session and process group, or in a session of its pid namespace) runs in a session of its
    // own: what is sent to this process's group (a terminal's Ctrl-C, kill -INT -PGID) reaches
    // this process only. Not for an image checkpointed on a terminal: CRIU hands the app the
    // terminal as its controlling one, in this process's session (such an app gets the
    // terminal's own signals directly too).
    const restorer = spawn(init, initArgs, { stdio, detached: !onTerminal });
    image.close();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      restorer.once('exit', (code, signal) => resolveExit({ code, signal })),
    );
    const stopForwarding = forwardSignals(restorer, { sameGroup: onTerminal });
    try {
      const restored = await waitForPidFile(pidFile, exited);
      if (restored === undefined) throw restoreFailure(join(workDir, RESTORE_LOG), imagesDir);
      report.phase('restore', performance.now() - started, `pid ${manifest.pid}${namespace ? ' (new pid namespace)' : ''}`);
      report.finish({ ok: true, pid: manifest.pid, pidNamespace: namespace });
      const appStart = namespace ? undefined : processStartTime(restored);
      const { code, signal } = await exited;
      // crac-init killed (SIGKILL): in a pid namespace the app died with it (its pid 1 follows
      // crac-init); outside one the app was crac-init's child, and nobody else knows it. It is in
      // crac-init's process group with its own children (not on a terminal), or else alone.
      if (signal !== null && appStart !== undefined) {
        if (!onTerminal && restorer.pid !== undefined) kill(-restorer.pid);
        else if (processStartTime(restored) === appStart) kill(restored);
      }
      return exitCodeOf({ code, signal }, ExitCode.FAILED);
    } finally {
      stopForwarding();
    }
  } catch (error) {
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return (error as CracError).code === ErrorCode.INVALID_ARGUMENT ? ExitCode.USAGE : ExitCode.RESTORE_FAILED;
  } finally {
    process.off('SIGUSR1', noInspector);
    image?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Unprivileged, CRIU hands the app this process's stdio only where the user may open it: the app
 * had a pipe there at the checkpoint, and CRIU reopens the descriptor that replaces it through
 * /proc/self/fd/N with the user's permissions. A pipe belongs to its creator, mode 0600: one that a
 * root supervisor made fails (`Unable to reopen the pipe /proc/self/fd/1: Permission denied`), so
 * does a file of root's. Checked before anything starts.
 * @throws {@link CracError} `CRAC_EUNPRIVILEGED` naming the descriptor and its owner.
 */
function assertOwnPipes(manifest: Manifest): void {
  for (const { fd, kind } of manifest.stdio) {
    if (kind !== 'pipe') continue;
    try {
      accessSync(`/proc/self/fd/${fd}`, fd === 0 ? constants.R_OK : constants.W_OK);
    } catch {
      let owner = 'another user';
      try {
        owner = `uid ${fstatSync(fd).uid}`;
      } catch {
        // closed: say it generally
      }
      throw new CracError(
        ErrorCode.UNPRIVILEGED,
        `fd ${fd} of crac restore belongs to ${owner}, and CRIU running as uid ${process.geteuid?.()} cannot reopen it for the app (which had a pipe there): give crac restore a pipe of your own (\`crac restore DIR | cat\`), a file of yours or a terminal, or restore as root`,
      );
    }
  }
}

function assertComplete(image: OpenImage): void {
  const missing = REQUIRED_CRIU_FILES.filter((name) => !existsSync(`/proc/self/fd/${image.fd}/${name}`));
  if (missing.length > 0)
    throw new CracError(ErrorCode.IMAGE, `${image.dir} is incomplete: ${missing.join(', ')} missing; checkpoint again`);
}

/**
 * Whether to restore into a new pid namespace, where `process.pid` stays the same whatever runs
 * here. `auto`: always, as looking whether the image's pids are free is a race (copies of one
 * image started together all see them free, and all but one fail with `Can't fork for PID`);
 * except where CRIU cannot restore into one: an image checkpointed on a terminal (CRIU cannot hand
 * it the terminal there), and any unprivileged restore (creating a pid namespace needs root). Those
 * wait a little for zombies holding their pids (the dumped process and its children die with the
 * dump, and PID 1 reaps them late); the terminal one gets a namespace if a live process holds one,
 * the unprivileged one is refused.
 */
async function usePidNamespace(
  manifest: Manifest,
  mode: 'auto' | 'always' | 'never',
  { onTerminal, unprivileged }: { onTerminal: boolean; unprivileged: boolean },
): Promise<boolean> {
  if (unprivileged && mode === 'always') {
    throw new CracError(
      ErrorCode.UNPRIVILEGED,
      '--pid-namespace always needs root (CAP_SYS_ADMIN): a non-root user restores in the host pid namespace',
    );
  }
  if (mode === 'always') return true;
  if (mode === 'auto' && !onTerminal && !unprivileged) return true;
  const deadline = Date.now() + ZOMBIE_WAIT_MS;
  let taken = takenIds(manifest);
  while (taken.length > 0 && taken.every((pid) => processState(pid) !== 'alive') && Date.now() < deadline) {
    await sleep(50);
    taken = takenIds(manifest);
  }
  // never: CRIU then says which pid is taken, and the fix
  if (taken.length === 0 || mode === 'never') return false;
  if (unprivileged) {
    throw new CracError(
      ErrorCode.UNPRIVILEGED,
      `pid ${taken[0]} that the image needs is taken, and only root can restore into a new pid namespace where it would be free: end process ${taken[0]} (a copy of this image still running?), or restore as root`,
    );
  }
  if (onTerminal) {
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
