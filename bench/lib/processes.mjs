// Starts the processes a run needs and makes sure none outlives it: on success, on failure,
// and on Ctrl-C.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set();
const cleanups = [];
let stopping = false;

/** True once a signal asked the run to stop: failures after that are expected, not news. */
export function isStopping() {
  return stopping;
}

/** Spawns a process that is stopped at the end of the run. */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  exited.then(() => {
    alive = false;
    children.delete(handle);
  });
  const handle = { child, exited, isAlive: () => alive, stderr: () => stderr };
  children.add(handle);
  return handle;
}

/** Stops a process and waits for it. */
export async function stop(handle, signal = 'SIGTERM') {
  if (handle.isAlive()) handle.child.kill(signal);
  const timer = setTimeout(() => handle.child.kill('SIGKILL'), 5_000);
  await handle.exited;
  clearTimeout(timer);
}

/** Runs `cleanup` (a temp dir to remove, a server to stop) at the end of the run. */
export function atEnd(cleanup) {
  cleanups.push(typeof cleanup === 'string' ? () => rmSync(cleanup, { recursive: true, force: true }) : cleanup);
}

/** Stops everything that is still running and runs the cleanups. */
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
