import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AUTO_ENV,
  assertCriuCapabilities,
  criuRunsUnprivileged,
  type DumpIdentity,
  DumpTimeoutError,
  ensureControlDir,
  exitCodeOf,
  findCoordinatedProcess,
  findCriu,
  LAUNCHER_PID_ENV,
  type ProcessExit,
  processStartTime,
  processState,
  requestCheckpoint,
  requireNativeProgram,
  sealedImageOf,
  sweepControlDir,
  CracError,
  ErrorCode,
} from '@crac/core/protocol';
import { ExitCode, formatBytes, Report } from '../output.js';
import { stopProcessTree } from '../process-tree.js';
import { registerPreload } from '../setup/package-files.js';
import { forwardSignals } from '../signals.js';
import { startWatchdog } from '../watchdog.js';
import { READY_MAX_MS, type Readiness, waitUntilReady } from './app-ready.js';
import { raisePidCounter } from './pid-floor.js';
import { runWarmup } from './warmup.js';
import { recordWorkingSet } from './working-set.js';

/** Options of `crac checkpoint`. */
export interface CheckpointCommandOptions {
  to?: string;
  pid?: number;
  leaveRunning?: boolean;
  warmup?: string;
  json?: boolean;
  /** false (`--no-auto`): no zero-code resources in the app, only its own and the adapters' (`CRAC_AUTO=off`). */
  auto?: boolean;
  /** Record the pages a trial restore touches to answer the warm-up: restored first, the rest lazily (`--working-set`). */
  workingSet?: boolean;
}

/**
 * `crac checkpoint --to DIR -- <command>`: starts the app under the io_uring guard with the
 * checkpoint trigger preloaded, and checkpoints it when it calls the API, or when the warm-up
 * command ends. `crac checkpoint --pid PID`: asks a running app to checkpoint now.
 */
export async function checkpointCommand(command: string[], options: CheckpointCommandOptions): Promise<number> {
  const report = new Report(options.json ?? false);
  try {
    if (options.workingSet && (options.pid !== undefined || !options.warmup || options.leaveRunning))
      throw new CracError(
        ErrorCode.INVALID_ARGUMENT,
        '--working-set replays --warmup against a trial restore of the image: it needs --to, --warmup and no --leave-running',
      );
    if (options.pid !== undefined) return await checkpointPid(options.pid, options, report);
    if (!options.to) throw new CracError(ErrorCode.INVALID_ARGUMENT, 'crac checkpoint needs --to DIR (where the image goes) or --pid PID');
    if (command.length === 0)
      throw new CracError(ErrorCode.INVALID_ARGUMENT, 'crac checkpoint --to DIR needs the command to start: -- node app.js');
    return await checkpointLaunch(command, resolve(options.to), options, report);
  } catch (error) {
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return (error as CracError).code === ErrorCode.INVALID_ARGUMENT ? ExitCode.USAGE : ExitCode.FAILED;
  }
}

async function checkpointPid(pid: number, options: CheckpointCommandOptions, report: Report): Promise<number> {
  const started = performance.now();
  const imagesDir = options.to ? resolve(options.to) : undefined;
  const result = await requestCheckpoint(pid, { ...(imagesDir ? { imagesDir } : {}), leaveRunning: options.leaveRunning ?? false });
  const { outcome } = result;
  const written = result.imagesDir ?? imagesDir;
  report.phase('checkpoint', performance.now() - started, written ? `${outcome}, image ${formatBytes(imageSize(written))}` : outcome);
  report.finish({ ok: true, pid, outcome, ...(written ? { imagesDir: written } : {}) });
  return ExitCode.OK;
}

async function checkpointLaunch(command: string[], imagesDir: string, options: CheckpointCommandOptions, report: Report): Promise<number> {
  const guard = requireNativeProgram('guard');
  // the app's trigger listens there: refuse a directory it would refuse, before waiting for it
  ensureControlDir();
  // the sockets of apps that were killed (no app removes its own then)
  await sweepControlDir();
  if ((process.env.CRAC_ENGINE ?? 'criu') === 'criu') assertCriuRuns();
  // the app's pids must be free where a container restores it
  const lowPids = raisePidCounter(guard);
  if (lowPids) report.info(`warning: ${lowPids}`);
  const watchdog = startWatchdog(guard);
  const started = performance.now();
  const startedAt = Date.now();
  const launched = spawn(guard, ['--', ...command], { stdio: 'inherit', env: appEnvironment(imagesDir, options) });
  const launcher = launched.pid as number;
  watchdog.tree(launcher);
  const exited = new Promise<Exit>((resolveExit) => launched.once('exit', (code, signal) => resolveExit({ code, signal })));
  let launcherEnded = false;
  void exited.then(() => {
    launcherEnded = true;
  });
  // The app is the process that listens for requests: the one started (node app.js), or one
  // under it (npm start: npm, then sh, then node). Signals go to it: npm and sh pass none on.
  let app: number | undefined;
  // the app shares this process group: a terminal's Ctrl-C reaches it directly, once
  const stopForwarding = forwardSignals(() => app ?? launcher, { sameGroup: true });
  try {
    if (!options.warmup) {
      report.info(`started ${command.join(' ')} (pid ${launcher}); it checkpoints when it calls checkpointRestore()`);
      void waitForApp(launcher, () => launcherEnded).then((pid) => {
        app = pid;
      });
      return await finishOnExit(await exited, imagesDir, { since: startedAt }, launcher, started, report);
    }
    app = await waitForApp(launcher, () => launcherEnded);
    if (app === undefined) throw new CracError(ErrorCode.CHECKPOINT, 'the app exited before it was ready to checkpoint');
    const pid = app;
    const appEnded = appEndedWith(pid, launcher, exited);
    let appGone = false;
    void appEnded.then(() => {
      appGone = true;
    });
    // its preload answers before its own code runs: the warm-up waits for its server
    const readiness = await waitUntilReady(pid, () => appGone || launcherEnded);
    report.phase(
      'start',
      performance.now() - started,
      `${pid === launcher ? `pid ${pid}` : `pid ${pid}, under ${command[0]} (pid ${launcher})`}${READINESS[readiness]}`,
    );

    const warmupStarted = performance.now();
    const warmup = runWarmup(options.warmup, watchdog);
    const warmedUp = await Promise.race([warmup.exited, appEnded.then((exit) => ({ appExit: exit }))]);
    if (typeof warmedUp !== 'number') {
      warmup.stop();
      throw new CracError(ErrorCode.CHECKPOINT, `the app ended during the warm-up (${describeExit(warmedUp.appExit)}); no image was made`);
    }
    if (warmedUp !== 0) {
      throw new CracError(
        ErrorCode.CHECKPOINT,
        `the warm-up command failed (exit code ${warmedUp}); the app was stopped, no image was made`,
      );
    }
    report.phase('warmup', performance.now() - warmupStarted);

    const checkpointStarted = performance.now();
    let outcome: string;
    try {
      ({ outcome } = await requestCheckpoint(pid, { imagesDir, leaveRunning: options.leaveRunning ?? false, ended: appEnded }));
    } catch (error) {
      if (error instanceof DumpTimeoutError) return await afterDumpTimeout(error, launcher, exited, options, report, checkpointStarted);
      return await afterFailedCheckpoint(error as Error, exited, options, report);
    }
    report.phase(
      'checkpoint',
      performance.now() - checkpointStarted,
      `${outcome}, image ${formatBytes(imageSize(imagesDir))} in ${imagesDir}`,
    );
    const workingSet =
      options.workingSet && outcome === 'dumped' ? await recordWorkingSet(imagesDir, options.warmup, report, watchdog) : undefined;
    report.finish({ ok: true, pid, outcome, imagesDir, ...(workingSet ? { workingSet } : {}) });
    if (outcome === 'dumped') return ExitCode.OK;
    // Left running: stay its parent, as if it had been started directly.
    return exitCodeOf(await exited, ExitCode.FAILED);
  } finally {
    stopForwarding();
    // Nothing this command started outlives it: after a dump, what ran beside the app (npm, sh,
    // its siblings); after a failure, the app too (a left-running one has ended: it was waited for).
    await stopProcessTree(launcher);
  }
}

/**
 * Resolves with the pid of the app under `launcher` once its trigger listens, or undefined once
 * `ended()` (the poll must stop: it would keep this process alive).
 */
/** What the start phase says of the moment the warm-up began. */
const READINESS: Record<Readiness, string> = {
  listening: ', listening',
  idle: ', idle (listens on no TCP port yet)',
  waited: `, still busy after ${READY_MAX_MS / 1000} s (listens on no TCP port yet)`,
  ended: '',
};

async function waitForApp(launcher: number, ended: () => boolean): Promise<number | undefined> {
  // quick at first (the start phase is timed), then backing off: a long start is not polled hard
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    if (ended()) return undefined;
    const app = findCoordinatedProcess(launcher);
    if (app !== undefined) return app;
    await sleep(delay);
  }
}

/** Resolves when the app ends, or the process started does (under npm or sh, the app is not this process's child). */
async function appEndedWith(app: number, launcher: number, launcherExited: Promise<Exit>): Promise<Exit> {
  if (app === launcher) return launcherExited;
  const startTime = processStartTime(app);
  let launcherEnded = false;
  const gone = async (): Promise<Exit> => {
    while (!launcherEnded && processStartTime(app) === startTime && processState(app) === 'alive') await sleep(50);
    return { code: null, signal: null };
  };
  return Promise.race([
    launcherExited.then((exit) => {
      launcherEnded = true;
      return exit;
    }),
    gone(),
  ]);
}

type Exit = ProcessExit;

/**
 * The app refused or failed the checkpoint, and runs on. As a build step (no --leave-running)
 * it is stopped, not left behind; with --leave-running it keeps running under this command.
 */
async function afterFailedCheckpoint(
  error: Error,
  exited: Promise<Exit>,
  options: CheckpointCommandOptions,
  report: Report,
): Promise<number> {
  report.error(error);
  report.finish({ ok: false }, error);
  if ((error as CracError).code === ErrorCode.STOP_SIGNAL) {
    // it was asked to stop mid-way and got that signal once its resources were back: another would be a second request
    report.info(`no image was made; the app stops as it was asked (${describeExit(await exited)})`);
    return ExitCode.FAILED;
  }
  if (options.leaveRunning) {
    report.info('no image was made; the app keeps running');
    await exited;
  } else {
    // the caller stops it, with everything this command started
    report.info('no image was made; stopping the app');
  }
  return ExitCode.FAILED;
}

/**
 * The app's dump outlasted its bound. A SIGTERM now could be saved in the image and replayed by
 * every copy: with --leave-running the app is left as it is (still this command's child); as a
 * build step it is SIGKILLed, which no image can hold. The seal then says whether the dump had
 * made it after all.
 */
async function afterDumpTimeout(
  error: DumpTimeoutError,
  launcher: number,
  exited: Promise<Exit>,
  options: CheckpointCommandOptions,
  report: Report,
  started: number,
): Promise<number> {
  if (options.leaveRunning) {
    report.error(error);
    report.finish({ ok: false }, error);
    report.info(`the app (pid ${error.pid}) is left as it is; waiting for it to end`);
    await exited;
    return ExitCode.FAILED;
  }
  killOnce(error.pid, 'SIGKILL');
  if (error.pid === launcher) await exited;
  else await stopProcessTree(launcher);
  const imagesDir = error.imagesDir;
  if (imagesDir && sealedImageOf(imagesDir, { checkpointId: error.checkpointId })) {
    report.info(`${error.message}; it was killed (SIGKILL), but its dump had finished: the image is sealed`);
    report.phase('checkpoint', performance.now() - started, `dumped, image ${formatBytes(imageSize(imagesDir))} in ${imagesDir}`);
    report.finish({ ok: true, pid: error.pid, outcome: 'dumped', imagesDir });
    return ExitCode.OK;
  }
  report.error(error);
  report.finish({ ok: false }, error);
  report.info('the app was killed (SIGKILL); no image was made');
  return ExitCode.FAILED;
}

/**
 * The CRIU the app's dump will run is there, for this user, with what it needs: refused before the
 * app starts (without --warmup it could wait long for its checkpoint) rather than at its dump.
 */
function assertCriuRuns(): void {
  const { path } = findCriu();
  if (criuRunsUnprivileged()) assertCriuCapabilities(path);
}

/** The app's environment: the trigger and the zero-code path preloaded, the image directory and the engine chosen. */
function appEnvironment(imagesDir: string, options: CheckpointCommandOptions): NodeJS.ProcessEnv {
  const register = registerPreload();
  const nodeOptions = [process.env.NODE_OPTIONS, `--require ${JSON.stringify(register)}`].filter(Boolean).join(' ');
  return {
    ...process.env,
    NODE_OPTIONS: nodeOptions,
    CRAC_IMAGES_DIR: imagesDir,
    CRAC_ENGINE: process.env.CRAC_ENGINE ?? 'criu',
    // the app listens even if this process does (the preload in a global NODE_OPTIONS)
    [LAUNCHER_PID_ENV]: String(process.pid),
    ...(options.auto === false ? { [AUTO_ENV]: 'off' } : {}),
  };
}

/**
 * The command ended without --warmup: CRIU ended the app with the dump, or it exited on its own,
 * after a leave-running checkpoint (its exit code is passed on) or without any. Under a package
 * manager the app is not this command's child: npm's exit other than 0 after a sealed dump of
 * another process is npm reporting the app's end by CRIU.
 */
async function finishOnExit(
  exit: Exit,
  imagesDir: string,
  dump: DumpIdentity,
  launcher: number,
  started: number,
  report: Report,
): Promise<number> {
  // The seal step runs once CRIU wrote every file, before CRIU ends or resumes the process.
  const manifest = sealedImageOf(imagesDir, dump);
  const killed = exit.signal === 'SIGKILL' || (manifest !== undefined && manifest.pid !== launcher && exit.code !== 0);
  if (manifest && killed) {
    report.phase('checkpoint', performance.now() - started, `image ${formatBytes(imageSize(imagesDir))} in ${imagesDir}`);
    report.finish({ ok: true, outcome: 'dumped', imagesDir });
    return ExitCode.OK;
  }
  const how = describeExit(exit);
  if (manifest) {
    report.info(`the app ended (${how}) after a leave-running checkpoint into ${imagesDir}`);
    report.finish({ ok: true, outcome: 'checkpointed', imagesDir, exitCode: exit.code });
    return exitCodeOf(exit, ExitCode.FAILED);
  }
  const error = new CracError(ErrorCode.CHECKPOINT, `the app ended (${how}) without a checkpoint`);
  report.error(error);
  report.finish({ ok: false }, error);
  return exit.code || ExitCode.FAILED;
}

function killOnce(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function describeExit({ code, signal }: Exit): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function imageSize(dir: string): number {
  return readdirSync(dir).reduce((total, name) => total + statSync(join(dir, name)).size, 0);
}
