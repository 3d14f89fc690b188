// Processes: spawned and watched (their end, what they print, their JSON lines), stopped, killed
// with their process group. No test framework: the suites (start, run, stopAll), the benchmark
// and the demo (through lifecycle.mjs) share it.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Sends `signal` to `pid` (negative: a process group); false when there was nobody to send it to. */
export function kill(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** Kills the process group `pid` leads (a process spawned with `detached: true`). */
export function killGroup(pid, signal = 'SIGKILL') {
  return kill(-pid, signal);
}

/** The JSON lines of `text`: those that start with `{`. */
export function jsonLines(text) {
  return text
    .split(/\r?\n/)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

/**
 * Spawns a command (`options` are spawn()'s) and watches it. What it prints on the pipes it was
 * given is kept (`output()`, or `readOutput()` when it prints to a file); `events()` are its JSON
 * lines, and `waitFor(match)` the first matching one.
 */
export function spawnProcess(command, args, options = {}) {
  const { readOutput, ...spawnOptions } = options;
  const child = spawn(command, args, spawnOptions);
  let buffer = '';
  const keep = (chunk) => {
    buffer += chunk;
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const output = readOutput ?? (() => buffer);
  const events = () => jsonLines(output());
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  let ending = '';
  exited.then(({ code, signal }) => {
    alive = false;
    ending = signal ? ` (killed by ${signal})` : ` (exit code ${code})`;
  });
  const isAlive = () => alive;
  return {
    child,
    exited,
    isAlive,
    output,
    events,
    async waitFor(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find(match);
        if (found) return found;
        if (!alive || Date.now() > deadline) {
          // one last read: the process may have printed it just before ending
          const last = events().find(match);
          if (last) return last;
          throw new Error(`${alive ? 'timed out' : `the process ended${ending}`} before the expected line; output:\n${output()}`);
        }
        await sleep(20);
      }
    },
  };
}

/** Stops a process (`signal`, then SIGKILL after `graceMs`) and waits for its end. */
export async function stop(handle, { signal = 'SIGTERM', graceMs = 5_000 } = {}) {
  if (handle.isAlive()) handle.child.kill(signal);
  const timer = setTimeout(() => handle.child.kill('SIGKILL'), graceMs);
  await handle.exited;
  clearTimeout(timer);
}

const running = new Set();

/**
 * Starts a command in its own process group with its stdout and stderr on the kind of file asked
 * for: a real pipe, a file, or a terminal (a pty). It runs until it ends or `stopAll()`.
 */
export function start(command, args, options = {}) {
  const kind = options.stdout ?? 'pipe';
  const common = { env: { ...process.env, NO_COLOR: '1', ...options.env }, cwd: options.cwd, detached: true };
  let started;
  let outputDir;
  if (kind === 'file') {
    outputDir = mkdtempSync(join(tmpdir(), 'crac-out-'));
    const file = join(outputDir, 'output.log');
    const fd = openSync(file, 'w');
    started = spawnProcess(command, args, { ...common, stdio: ['ignore', fd, fd], readOutput: () => readFileSync(file, 'utf8') });
    closeSync(fd);
  } else if (kind === 'pipe') {
    // Node's own 'pipe' stdio is a socketpair: go through a shell to give the command a real pipe.
    started = spawnProcess('/bin/bash', ['-c', 'set -o pipefail; "$@" 2>&1 | cat', 'bash', command, ...args], {
      ...common,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } else {
    const line = [command, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
    // `script` runs the line with $SHELL -c: `exec` makes the command itself the terminal's session
    // leader and foreground group, as a job-control shell would (a plain `sh -c` stays in front of
    // it, and dies of the terminal's SIGHUP)
    started = spawnProcess('script', ['-qefc', `exec ${line}`, '/dev/null'], {
      ...common,
      env: { ...common.env, SHELL: '/bin/sh' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  }
  running.add({ started, outputDir });
  return started;
}

/** Runs a command to its end (see `start`). */
export async function run(command, args, options = {}) {
  const started = start(command, args, options);
  const { code, signal } = await started.exited;
  // a pipe may still hold the last bytes
  await sleep(20);
  return { code, signal, output: started.output(), events: started.events() };
}

/** `pid` and its descendants (children of every thread, from /proc), parents first. */
function treeOf(pid) {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${tree[i]}/task`)) {
        const children = readFileSync(`/proc/${tree[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) tree.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // gone
    }
  }
  return tree;
}

/**
 * Ends whatever `start` started that may still run: every process of the command's tree (restored
 * apps run in a session of their own, under crac-init), then its process group. Not the pids the
 * processes print: a restored app prints its pid inside its pid namespace, another process here.
 * Their output files go too.
 */
export function stopAll() {
  for (const { started } of running) {
    if (!started.child.pid) continue;
    for (const pid of treeOf(started.child.pid).reverse()) kill(pid);
    killGroup(started.child.pid);
  }
  for (const { outputDir } of running) if (outputDir) rmSync(outputDir, { recursive: true, force: true });
  running.clear();
}

/** A fresh private directory, removed by the returned function. */
export function tempDir(prefix = 'crac-e2e-') {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
