// A script's run (the benchmark, the demo): its set-up, and the processes and throwaway servers
// that end with it, on success, on failure and on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { paths } from './paths.mjs';
import { spawnProcess, stop } from './processes.mjs';

const children = new Set();
const cleanups = [];
let stopping = false;

/** Brings the checkout to a runnable state (scripts/setup.mjs: dependencies, CRIU, builds); throws if it cannot. */
export function setUp() {
  const setup = spawnSync(process.execPath, [join(paths.root, 'scripts', 'setup.mjs'), '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (setup.status !== 0) throw new Error('set-up failed (see above)');
}

/** True once a signal asked the run to stop: failures after that are expected, not news. */
export function isStopping() {
  return stopping;
}

/** Spawns a process (stderr kept as its output, by default) that is stopped at the end of the run. */
export function launch(command, args, options = {}) {
  const handle = spawnProcess(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  children.add(handle);
  handle.exited.then(() => children.delete(handle));
  return handle;
}

/** Runs `cleanup` (removing a temp dir, stopping a server) at the end of the run. */
export function atEnd(cleanup) {
  cleanups.push(cleanup);
}

/** Stops everything that is still running, then runs the cleanups, last first. */
export async function stopEverything() {
  await Promise.all([...children].map((handle) => stop(handle)));
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`cleanup failed: ${error.message}`);
    }
  }
}

/** Stops everything on Ctrl-C or termination, then exits with 130 / 143. */
export function stopEverythingOnSignals() {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.once(signal, () => {
      stopping = true;
      console.error(`\n${signal}: stopping every process and throwaway server...`);
      stopEverything().finally(() => process.exit(code));
    });
  }
}

/**
 * Runs a script's body as one run: stops everything on Ctrl-C, first sets the checkout up when
 * `setting` says what that brings (not with --skip-setup), says why the body failed (exit code
 * 1; with the stack when `stack`), and stops every process and throwaway server at the end.
 */
export async function runScript({ progress, setting, stack = false }, body) {
  stopEverythingOnSignals();
  try {
    if (setting && !process.argv.includes('--skip-setup')) {
      progress(`setting up (${setting})...`);
      setUp();
    }
    await body();
  } catch (error) {
    if (!isStopping()) {
      progress(`failed: ${stack ? error.stack : error.message}`);
      process.exitCode = 1;
    }
  } finally {
    await stopEverything();
  }
}
