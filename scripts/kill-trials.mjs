#!/usr/bin/env node
// kill-trials.mjs — `pnpm faults`: SIGKILL at a random moment of a checkpoint or a restore, many
// times, with real CRIU, and what it leaves behind counted after each trial.
//
//   node scripts/kill-trials.mjs [--trials=200] [--only=checkpoint,app,criu,restorer,supervisor,restored]
//
// The app: a plain http server with no crac code (test/fixtures/zero-code/http-server.cjs), under
// `crac checkpoint`. The kinds, each `--trials` times:
//   checkpoint  crac checkpoint itself, from the app's start to the end of its dump
//   app         the app, during `crac checkpoint` (its hooks, the dump)
//   criu        CRIU (`criu swrk`), during the dump
//   restorer    crac restore (crac-restore), during the restore
//   supervisor  its supervisor, during the restore
//   restored    the restored app, during its afterRestore
// After each trial (once what was killed had time to take the rest down): no process of the run
// left, no staging directory beside the image, no new mount, nothing listening on the app's port,
// the image in place still verifies (`crac inspect`); every 20 trials and at the end of each kind,
// a retry: the image restores and answers. Prints a table; exits 1 when anything was left behind
// or failed.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { atEnd, runScript } from '../tools/lifecycle.mjs';
import { paths } from '../tools/paths.mjs';
import { canConnect, freePort } from '../tools/ports.mjs';
import { tempDir } from '../tools/processes.mjs';

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const trials = Number(option('trials', '200'));
const KINDS = ['checkpoint', 'app', 'criu', 'restorer', 'supervisor', 'restored'];
const only = option('only', KINDS.join(',')).split(',');
const APP = join(paths.root, 'test', 'fixtures', 'zero-code', 'http-server.cjs');
const RUN = `CRAC_TRIALS_RUN=${randomUUID()}`;
const logDir = mkdtempSync(join(tmpdir(), 'crac-faults-logs-'));
process.on('exit', () => rmSync(logDir, { recursive: true, force: true }));

/** Pids of the processes whose environment carries this run's marker (every process a trial started, restored copies included). */
function processesOfRun() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(RUN)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Pids whose command line matches `pattern` and whose environment carries the marker. */
function processesMatching(pattern) {
  return processesOfRun().filter((pid) => {
    return pattern.test(commandLine(pid));
  });
}

const commandLine = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};
const parentOf = (pid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[1]);
  } catch {
    return undefined;
  }
};
const stateOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[0];
  } catch {
    return '?';
  }
};
/** Where a process left behind waits: its kernel stack and its descriptors (for the report). */
const whereStuck = (pid) => {
  const read = (file) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'latin1').trim();
    } catch {
      return '?';
    }
  };
  let fds = '?';
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return `${fd}=${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
        } catch {
          return fd;
        }
      })
      .join(' ');
  } catch {
    // gone
  }
  return `  wchan ${read('wchan')}; fds ${fds}\n  ${read('stack').replaceAll('\n', '\n  ')}\n`;
};
const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
const kill = (pid) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
};

let logs = 0;
/** `crac ARGS`, its output (and the app's) on a file of its own: CRIU dumps no socket of the caller's. */
function command(args, { env = {} } = {}) {
  const file = join(logDir, `command-${++logs}.log`);
  const log = openSync(file, 'w');
  const child = spawn(paths.crac, args, { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  atEnd(() => {
    if (child.exitCode === null && child.signalCode === null) kill(-child.pid);
  });
  return { child, exited, output: () => readFileSync(file, 'utf8') };
}

/** Polls for a process matching `pattern` for up to `ms`; its pid, or undefined. */
async function waitForProcess(pattern, ms, filter = () => true) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const pid = processesMatching(pattern).find(filter);
    if (pid) return pid;
    await sleep(2);
  }
  return undefined;
}

await runScript({ progress: (message) => process.stderr.write(`faults: ${message}\n`) }, async () => {
  if (process.geteuid?.() !== 0) throw new Error('the trials run CRIU as root: run them as root');
  const { path: work, remove } = tempDir('crac-faults-');
  atEnd(remove);
  const image = join(work, 'image');
  const port = await freePort();
  const [runName, runValue] = RUN.split('=');
  const env = { [runName]: runValue, PORT: String(port) };
  const warmup = `curl -sf http://127.0.0.1:${port}/ >/dev/null`;
  const checkpoint = (extra = []) =>
    command(['checkpoint', '--to', image, '--warmup', warmup, ...extra, '--', process.execPath, APP], { env });

  const base = checkpoint();
  const made = await base.exited;
  if (made.code !== 0) throw new Error(`the first checkpoint failed:\n${base.output()}`);
  const mountsBefore = mounts();

  let said = false;
  const verifies = () => {
    try {
      execFileSync(process.execPath, [paths.cli, 'inspect', image], { stdio: 'pipe' });
      return true;
    } catch (error) {
      // the first one said, for whoever reads the run
      if (!said) process.stderr.write(`faults: the image does not verify:\n${error.stdout}${error.stderr}\n`);
      said = true;
      return false;
    }
  };
  /** A restore that answers, then ends. */
  const retry = async () => {
    const restore = command(['restore', image], { env });
    let ok = false;
    for (let i = 0; i < 200 && !ok; i++) {
      ok = await canConnect(port);
      if (!ok) await sleep(25);
    }
    if (ok) ok = (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.status === 200;
    kill(-restore.child.pid);
    for (const pid of processesOfRun()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // ended meanwhile
      }
    }
    await restore.exited;
    await settle();
    return ok;
  };
  /** Waits until no process of the run is left (up to the supervisor's 10 s grace, and some); the ones left are killed and counted. */
  const settle = async () => {
    const deadline = Date.now() + 15_000;
    let left = processesOfRun();
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(50);
      left = processesOfRun();
    }
    // what was left, said (for whoever hunts it down): command line, state, parent
    for (const pid of left)
      process.stderr.write(`faults: left: pid ${pid} (${stateOf(pid)}, parent ${parentOf(pid)}): ${commandLine(pid)}\n${whereStuck(pid)}`);
    for (const pid of left) kill(pid);
    return left.length;
  };

  /** One trial of `kind`: what it killed, and what was left. */
  const trial = async (kind) => {
    let killed = false;
    let run;
    if (kind === 'checkpoint') {
      // the launcher execs the CLI: its pid is crac checkpoint's; it starts the app, warms it up, asks for the dump
      run = checkpoint();
      await sleep(Math.random() * 900);
      if (run.child.exitCode === null && run.child.signalCode === null) {
        kill(run.child.pid);
        killed = true;
      }
    } else if (kind === 'app' || kind === 'criu') {
      run = checkpoint();
      const pattern = kind === 'app' ? /http-server\.cjs/ : /criu swrk/;
      // the app: somewhere from its warm-up to the end of its dump; CRIU: once it runs, a little later
      const delay = kind === 'app' ? 150 + Math.random() * 900 : Math.random() * 80;
      // the app's command line names it; crac checkpoint's names it too, after `checkpoint`
      const pid = await waitForProcess(pattern, 5_000, (candidate) => kind !== 'app' || !commandLine(candidate).includes(' checkpoint '));
      if (pid) {
        await sleep(delay);
        kill(pid);
        killed = true;
      }
    } else {
      run = command(['restore', image], { env });
      const delay = Math.random() * (kind === 'restored' ? 60 : 150);
      let pid;
      if (kind === 'restorer') pid = run.child.pid;
      else if (kind === 'supervisor')
        pid = await waitForProcess(/crac-restore/, 3_000, (candidate) => parentOf(candidate) === run.child.pid);
      else pid = await waitForProcess(/http-server\.cjs/, 5_000);
      if (pid) {
        await sleep(delay);
        kill(pid);
        killed = true;
      }
    }
    // what was not killed ends by itself: the checkpoint (its app dumped, or killed), the restore (with its app)
    const ended = await Promise.race([run.exited, sleep(20_000).then(() => undefined)]);
    if (!ended) kill(-run.child.pid);
    // a copy that survived its restorer's end would be a leftover; the one restored whole is asked to stop
    if (kind === 'restorer' || kind === 'supervisor' || kind === 'restored') await sleep(200);
    const leftProcesses = await settle();
    const stagings = readdirSync(work).filter((name) => name.includes('crac-staging'));
    for (const name of stagings)
      process.stderr.write(`faults: left: staging directory ${name} (${kind} killed ${killed ? 'in time' : 'late'})\n`);
    const staging = stagings.length;
    const mountsLeft = Math.max(0, mounts() - mountsBefore);
    const listening = (await canConnect(port)) ? 1 : 0;
    return { killed, leftProcesses, staging, mountsLeft, listening, verifies: verifies() };
  };

  const rows = [];
  const header =
    '| killed | trials | killed in time | processes left | staging dirs left | mounts left | port left bound | image not verifying | retries failed |';
  process.stdout.write(`${header}\n|${' --- |'.repeat(9)}\n`);
  for (const kind of only) {
    if (!KINDS.includes(kind)) throw new Error(`no kind ${kind} (the kinds: ${KINDS.join(', ')})`);
    const totals = {
      kind,
      trials: 0,
      killed: 0,
      processes: 0,
      staging: 0,
      mounts: 0,
      listening: 0,
      unverified: 0,
      retries: 0,
      retriesFailed: 0,
    };
    for (let i = 1; i <= trials; i++) {
      const result = await trial(kind);
      totals.trials++;
      totals.killed += result.killed ? 1 : 0;
      totals.processes += result.leftProcesses;
      totals.staging += result.staging;
      totals.mounts += result.mountsLeft;
      totals.listening += result.listening;
      totals.unverified += result.verifies ? 0 : 1;
      if (i % 20 === 0 || i === trials) {
        totals.retries++;
        totals.retriesFailed += (await retry()) ? 0 : 1;
      }
      if (i % 10 === 0) process.stderr.write(`faults: ${kind}: ${i}/${trials}\n`);
    }
    rows.push(totals);
    // each kind's row as soon as it is done: a long campaign keeps what it found
    process.stdout.write(
      `| ${totals.kind} | ${totals.trials} | ${totals.killed} | ${totals.processes} | ${totals.staging} | ${totals.mounts} | ${totals.listening} | ${totals.unverified} | ${totals.retriesFailed} of ${totals.retries} |\n`,
    );
  }
  const bad = rows.some((row) => row.processes || row.staging || row.mounts || row.listening || row.unverified || row.retriesFailed);
  if (bad) throw new Error('something was left behind, or an image or a retry failed: see the table');
});
