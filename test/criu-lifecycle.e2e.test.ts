import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paths } from '@crac/tools/paths';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type Started, type StdoutKind, start, testDir } from './helpers/harness.js';
import { childrenOf, commandOf, hostPidOf, treeOf, waitUntilGone } from './helpers/process-tree.js';

const APP = join(FIXTURES, 'lifecycle-app.cjs');
type Event = Record<string, unknown>;

beforeAll(() => assertRealCriuHost());

/** Checks what the fixture reports at its end: it carried on where it was checkpointed. */
function expectCarriedOn(events: Event[], before: Event) {
  const after = events.find((e) => e.event === 'after-restore') as Event;
  const summary = events.find((e) => e.event === 'summary') as Event;
  expect(after, 'the restored app ran its afterRestore hook').toBeDefined();
  expect(summary, 'the restored app printed its summary').toBeDefined();
  // state intact: the same process, ticking on from where it was saved
  expect(after.pid).toBe(before.pid);
  // (the event loop runs on during the cycle: a tick or two may land between the hooks and the dump)
  expect(after.ticks as number).toBeGreaterThanOrEqual(before.ticks as number);
  expect(after.ticks as number).toBeLessThanOrEqual((before.ticks as number) + 3);
  expect(summary.stateIntact).toBe(true);
  expect(summary.ticks as number).toBeGreaterThan(before.ticks as number);
  expect(summary.workerTicks as number, 'the worker thread kept posting').toBeGreaterThan(0);
  expect(summary.childExit, 'the child process it waits for ended after the restore').toBe(7);
  // timers on time: no tick far late after the restore (loose bound: shared 2-core machines)
  expect(summary.maxIntervalMs as number).toBeLessThan(1_000);
  // the monotonic clock does not jump by the time the image spent on disk
  const wallGap = (after.wallMs as number) - (before.wallMs as number);
  const monotonicGap = (after.hrtimeMs as number) - (before.hrtimeMs as number);
  expect(wallGap).toBeGreaterThan(1_500);
  expect(monotonicGap).toBeLessThan(wallGap / 2);
}

describe.each(NODES)('real CRIU on $name', ({ name: nodeName, bin: node, usesIoUring }) => {
  /** Starts the fixture under `crac checkpoint`, warms it up and checkpoints it (CRIU ends it). */
  async function checkpointWarm(env: NodeJS.ProcessEnv, warmup = 'sleep 0.5', dir = imageDir()) {
    const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', warmup, '--', node, APP], {
      stdout: 'file',
      env: { FIXTURE_TRIGGER: 'cli', ...env },
    });
    expect(await checkpoint.exited, checkpoint.output()).toEqual({ code: 0, signal: null });
    const before = checkpoint.events().find((e) => e.event === 'before-checkpoint') as Event;
    return { dir, checkpoint, before };
  }

  /** An app under `crac checkpoint`, checkpointed by `crac checkpoint --pid --leave-running` into a fresh `dir`, running on. */
  async function checkpointLeftRunning(afterTicks: number) {
    const dir = imageDir();
    const app = crac(['checkpoint', '--to', dir, '--', node, APP], {
      stdout: 'file',
      env: { FIXTURE_TRIGGER: 'cli', FIXTURE_AFTER_TICKS: String(afterTicks) },
    });
    const warm = await app.waitFor((e) => e.event === 'warm');
    const checkpoint = crac(['checkpoint', '--pid', String(warm.pid), '--to', dir, '--leave-running', '--json'], { stdout: 'pipe' });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
    expect(checkpoint.events()).toContainEqual(expect.objectContaining({ ok: true, outcome: 'checkpointed', pid: warm.pid }));
    // the original goes on, its resources given back
    await app.waitFor((e) => e.event === 'after-restore');
    return { dir, app, warm };
  }

  it('checkpoints via the CLI after warm-up and restores the image with stdout on a pipe, a file and a terminal', async () => {
    const { dir, checkpoint, before } = await checkpointWarm({ FIXTURE_EXIT_CODE: '3', FIXTURE_CHILD_MS: '5000' }, 'sleep 0.8');
    expect(checkpoint.output()).toMatch(/crac: warmup .* ms/);
    expect(checkpoint.output()).toMatch(/crac: checkpoint .* dumped, image/);
    expect(before).toBeDefined();
    await sleep(1_600);

    for (const stdout of ['pipe', 'file', 'tty'] satisfies StdoutKind[]) {
      const restore = crac(['restore', dir], { stdout });
      const exit = await restore.exited;
      expect(exit, `${stdout}: crac restore exits with the app's exit code\n${restore.output()}`).toEqual({ code: 3, signal: null });
      expect(restore.output()).toMatch(/crac: restore .* ms/);
      expectCarriedOn(restore.events(), before);
    }
  });

  it.each([
    { stdin: 'a pipe', shell: 'true | exec "$@"' },
    { stdin: 'a file', shell: 'exec "$@" < /etc/hostname' },
  ])(
    'restores an app checkpointed with $stdin on its stdin (`cmd | crac checkpoint`, a build step), whatever stdin the restore has',
    async ({ shell }) => {
      // CRIU closed the descriptor it inherited on fd 0 before it put its own stdin aside: "Can't send fd 0 into store"
      const dir = imageDir();
      const checkpoint = start(
        '/bin/sh',
        ['-c', shell, 'sh', process.execPath, paths.cli, 'checkpoint', '--to', dir, '--warmup', 'sleep 0.5', '--', node, APP],
        {
          stdout: 'file',
          env: { FIXTURE_TRIGGER: 'cli', FIXTURE_EXIT_CODE: '3' },
        },
      );
      expect(await checkpoint.exited, checkpoint.output()).toEqual({ code: 0, signal: null });
      const kinds = (JSON.parse(readFileSync(join(dir, 'crac-manifest.json'), 'utf8')) as { stdio: { fd: number; kind: string }[] }).stdio;
      expect(kinds.find((entry) => entry.fd === 0)?.kind).toBe(shell.startsWith('true') ? 'pipe' : 'file');
      for (const restoreShell of ['exec "$@" < /dev/null', 'true | exec "$@"']) {
        const restore = start('/bin/sh', ['-c', restoreShell, 'sh', paths.crac, 'restore', dir], { stdout: 'file' });
        expect(await restore.exited, `${restoreShell}\n${restore.output()}`).toEqual({ code: 3, signal: null });
        expect(restore.output()).toMatch(/crac: restore .* ms/);
        expect(restore.events().map((event) => event.event)).toEqual(expect.arrayContaining(['after-restore', 'summary']));
      }
    },
  );

  it("appends the app's output to the log crac restore writes to (the image had a pipe there), after what it held", async () => {
    // CRIU reopens an inherited pipe by /proc/self/fd/N: on a file that is a new open file at
    // offset 0, over the log; crac restore hands the app a pipe of its own instead and copies it
    const dir = imageDir();
    const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', 'sleep 0.5', '--', node, APP], {
      stdout: 'pipe',
      env: { FIXTURE_TRIGGER: 'cli', FIXTURE_EXIT_CODE: '3' },
    });
    expect(await checkpoint.exited, checkpoint.output()).toEqual({ code: 0, signal: null });
    const log = join(testDir('crac-log-'), 'app.log');
    const before = 'a line the log held before the restore\n';
    writeFileSync(log, before);
    const restore = start('/bin/sh', ['-c', 'exec "$@" >> "$0" 2>&1', log, paths.crac, 'restore', dir]);
    expect(await restore.exited, readFileSync(log, 'utf8')).toEqual({ code: 3, signal: null });
    const text = readFileSync(log, 'utf8');
    expect(text.startsWith(before), text).toBe(true);
    expect(text).toMatch(/crac: restore .* ms/);
    // every line the app wrote is whole, none written over
    const events = text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as Event).event);
    expect(events).toEqual(expect.arrayContaining(['after-restore', 'summary']));
  });

  it('runs on when its output goes to a socket whose reader goes away (a log shipper that stops): no SIGPIPE ends the restore', async () => {
    const dir = imageDir();
    const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', 'sleep 0.5', '--', node, APP], {
      stdout: 'pipe',
      env: { FIXTURE_TRIGGER: 'cli', FIXTURE_EXIT_CODE: '3', FIXTURE_AFTER_TICKS: '30' },
    });
    expect(await checkpoint.exited, checkpoint.output()).toEqual({ code: 0, signal: null });
    // Node's 'pipe' stdio is a socketpair: crac restore relays the app's output into it
    const restore = spawn(paths.crac, ['restore', dir], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    restore.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    try {
      // the reader reads the first lines, then goes away
      await once(restore.stdout, 'data');
      restore.stdout.destroy();
      const [code, signal] = (await once(restore, 'exit')) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }, `crac restore ends as the app does (its exit code), not of SIGPIPE\n${stderr}`).toEqual({
        code: 3,
        signal: null,
      });
    } finally {
      if (restore.exitCode === null && restore.signalCode === null) process.kill(-(restore.pid as number), 'SIGKILL');
    }
  });

  it('checkpoints when the app calls checkpointRestore() itself, and resumes it with outcome "restored"', async () => {
    const dir = imageDir();
    const checkpoint = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'pipe', env: { FIXTURE_TRIGGER: 'api' } });
    expect(await checkpoint.exited).toMatchObject({ code: 0 });
    const before = checkpoint.events().find((e) => e.event === 'before-checkpoint') as Event;
    await sleep(1_600);
    const restore = crac(['restore', dir], { stdout: 'pipe' });
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(restore.events()).toContainEqual(expect.objectContaining({ event: 'checkpoint-result', outcome: 'restored' }));
    expectCarriedOn(restore.events(), before);
  });

  it('restores one image twice at once: the second copy gets a pid namespace and keeps process.pid', async () => {
    const { dir, before } = await checkpointWarm({ FIXTURE_AFTER_TICKS: '25' });
    await sleep(1_600);

    const first = crac(['restore', dir], { stdout: 'pipe' });
    await first.waitFor((e) => e.event === 'after-restore');
    const second = crac(['restore', dir], { stdout: 'pipe' });
    await second.waitFor((e) => e.event === 'after-restore');
    expect(second.output()).toContain('new pid namespace');

    for (const copy of [first, second]) {
      expect((await copy.exited).code, copy.output()).toBe(0);
      expectCarriedOn(copy.events(), before);
    }
  });

  it('checkpoints a restored process again, and restores that image', async () => {
    const second = imageDir();
    const { dir: first, before } = await checkpointWarm({ FIXTURE_AFTER_TICKS: '40', FIXTURE_CHILD_MS: '9000' });
    await sleep(1_600);

    // outside a pid namespace: the pid it prints is the one crac checkpoint --pid finds here
    const restored = crac(['restore', first, '--pid-namespace', 'never'], { stdout: 'pipe' });
    const after = await restored.waitFor((e) => e.event === 'after-restore');
    const again = crac(['checkpoint', '--pid', String(after.pid), '--to', second], { stdout: 'pipe' });
    expect((await again.exited).code, again.output()).toBe(0);
    expect(again.output()).toMatch(/crac: checkpoint .* dumped/);
    await restored.exited;

    const restoredAgain = crac(['restore', second], { stdout: 'pipe' });
    expect((await restoredAgain.exited).code, restoredAgain.output()).toBe(0);
    const events = restoredAgain.events();
    expect(events.filter((e) => e.event === 'after-restore')).toHaveLength(1);
    const summary = events.find((e) => e.event === 'summary') as Event;
    expect(summary).toMatchObject({ stateIntact: true, childExit: 7, pid: before.pid });
  });

  it('checkpoints the app when the preload is in a global NODE_OPTIONS too (crac checkpoint itself then listens as well)', async () => {
    const register = join(paths.root, 'packages', 'core', 'dist', 'register.cjs');
    const { checkpoint } = await checkpointWarm({ NODE_OPTIONS: `--require ${JSON.stringify(register)}` });
    expect(checkpoint.output()).toMatch(/crac: checkpoint .* dumped/);
  });

  it('checkpoints copies restored side by side in pid namespaces by the pid each has here; the original keeps its own trigger', async () => {
    const { dir, app, warm } = await checkpointLeftRunning(300);
    // the original holds the image's pid: each copy gets a namespace of its own, and that pid in it
    const copies = [crac(['restore', dir], { stdout: 'pipe' }), crac(['restore', dir], { stdout: 'pipe' })];
    for (const copy of copies) expect(await copy.waitFor((e) => e.event === 'after-restore')).toMatchObject({ pid: warm.pid });
    const hostPids = copies.map((copy) => hostPidOf(copy.child.pid as number, warm.pid as number));
    expect(new Set([warm.pid, ...hostPids]).size, `host pids ${hostPids}`).toBe(3);

    for (const pid of [...hostPids, warm.pid]) {
      const again = crac(['checkpoint', '--pid', String(pid), '--to', imageDir(), '--leave-running', '--json'], { stdout: 'pipe' });
      expect((await again.exited).code, again.output()).toBe(0);
      expect(again.events()).toContainEqual(expect.objectContaining({ ok: true, outcome: 'checkpointed' }));
    }
    // each went through the second cycle itself (its output may take a moment to arrive)
    const restoredTwice = (started: Started) => started.events().filter((e) => e.event === 'after-restore').length === 2;
    for (let waited = 0; waited < 5_000 && ![...copies, app].every(restoredTwice); waited += 100) await sleep(100);
    expect([...copies, app].map(restoredTwice)).toEqual([true, true, true]);
    for (const started of [...copies, app]) started.child.kill('SIGTERM');
  });

  it('reports a refused checkpoint plainly and the app keeps running (crac checkpoint --pid)', async () => {
    const dir = imageDir();
    const app = crac(['checkpoint', '--to', dir, '--', node, APP], {
      stdout: 'pipe',
      env: { FIXTURE_TRIGGER: 'cli', FIXTURE_HOOK: 'throw' },
    });
    const warm = await app.waitFor((e) => e.event === 'warm');
    const refused = crac(['checkpoint', '--pid', String(warm.pid)], { stdout: 'pipe' });
    expect((await refused.exited).code).toBe(1);
    expect(refused.output()).toContain('[CRAC_ECHECKPOINT]');
    expect(refused.output()).toContain('refusing resource');
    expect(refused.output()).toContain('not now, I am busy');
    // rolled back, and still ticking
    await app.waitFor((e) => e.event === 'rolled-back');
    const ticking = app.events().filter((e) => e.event === 'warm').length;
    expect(ticking).toBe(1);
    const alive = start(process.execPath, ['-e', `process.kill(${warm.pid}, 0)`]);
    expect((await alive.exited).code).toBe(0);
    app.child.kill('SIGTERM');
    await app.exited;
  });

  it('keeps the app running when a hook throws: CheckpointError from checkpointRestore()', async () => {
    const app = start(node, [APP], {
      stdout: 'pipe',
      env: { FIXTURE_TRIGGER: 'api', FIXTURE_HOOK: 'throw', CRAC_ENGINE: 'criu', CRAC_IMAGES_DIR: imageDir() },
    });
    const error = await app.waitFor((e) => e.event === 'checkpoint-error');
    expect(error).toMatchObject({ name: 'CheckpointError', code: 'CRAC_ECHECKPOINT' });
    expect(error.message).toContain('not now, I am busy');
    expect((await app.exited).code).toBe(0);
    expect(app.events().find((e) => e.event === 'summary')).toMatchObject({ stateIntact: true, childExit: 7 });
  });

  it('takes a leave-running checkpoint of a running app (crac checkpoint --pid), and restores it beside the original', async () => {
    const { dir, app } = await checkpointLeftRunning(15);
    const before = app.events().find((e) => e.event === 'before-checkpoint') as Event;
    await sleep(1_600);
    // its pid is held by the original: the copy goes into a new pid namespace
    const copy = crac(['restore', dir, '--json'], { stdout: 'pipe' });
    expect((await copy.exited).code, copy.output()).toBe(0);
    expect(copy.events()).toContainEqual(expect.objectContaining({ ok: true, pidNamespace: true }));
    // where CRIU's time went, from its own log: every phase, adding up to its whole
    const result = copy.events().find((e) => e.ok === true) as { criu?: { ms: number; phases: { phase: string; ms: number }[] } };
    expect(result.criu?.phases.map(({ phase }) => phase)).toEqual([
      'setup',
      'fork',
      'mappings',
      'files',
      'restorer',
      'memory',
      'threads',
      'resume',
    ]);
    const sum = result.criu?.phases.reduce((total, { ms }) => total + ms, 0) ?? 0;
    expect(Math.abs(sum - (result.criu?.ms ?? 0))).toBeLessThan(1); // each rounded to 0.1 ms
    expectCarriedOn(copy.events(), before);
    expect((await app.exited).code, app.output()).toBe(0);
    expect(app.output()).toContain('after a leave-running checkpoint');
  });

  /** crac restore's work directories (CRIU's log and pid file) in the temporary directory. */
  const workDirs = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('crac-restore-')));
  /** Those made since `before` that are still there after a few seconds (the supervisor removes an orphaned one at its exit). */
  async function leftSince(before: Set<string>): Promise<string[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const left = [...workDirs()].filter((name) => !before.has(name));
      if (left.length === 0 || Date.now() > deadline) return left;
      await sleep(100);
    }
  }

  it('ends the restored app when crac restore itself is killed (SIGKILL), in and out of a pid namespace', async () => {
    const { dir } = await checkpointWarm({ FIXTURE_AFTER_TICKS: '600' });
    await sleep(1_600);
    const before = workDirs();
    for (const mode of ['never', 'always']) {
      const restore = crac(['restore', dir, '--pid-namespace', mode], { stdout: 'file' });
      await restore.waitFor((e) => e.event === 'after-restore');
      const path = treeOf(restore.child.pid as number);
      restore.child.kill('SIGKILL');
      // the supervisor takes the death of crac restore as a SIGTERM for the app; the app's lines still reach the file
      const deadline = Date.now() + 10_000;
      while (!restore.events().some((e) => e.event === 'sigterm') && Date.now() < deadline) await sleep(50);
      expect(restore.events(), `${mode}: the app was told to stop`).toContainEqual(expect.objectContaining({ event: 'sigterm' }));
      expect(await waitUntilGone(path), `${mode}: processes of the restore still running`).toEqual([]);
    }
    expect(await leftSince(before), 'work directories left behind').toEqual([]);
  });

  it('ends the restored app when any process of its restore path is killed (SIGKILL): its supervisor, pid 1 of its pid namespace', async () => {
    const { dir } = await checkpointWarm({ FIXTURE_AFTER_TICKS: '600' });
    await sleep(1_600);
    // the restore path: crac restore (crac-restore), its supervisor (a subreaper, or pid 1 of the
    // namespace: a fork of crac-restore), the app (and its child); crac restore itself: the test above
    const victims = [
      { mode: 'never', name: 'the supervisor (a subreaper)', depth: 1 },
      { mode: 'always', name: 'the supervisor, pid 1 of the pid namespace', depth: 1 },
    ];
    const before = workDirs();
    for (const { mode, name, depth } of victims) {
      const restore = crac(['restore', dir, '--pid-namespace', mode], { stdout: 'file' });
      await restore.waitFor((e) => e.event === 'after-restore');
      const cli = restore.child.pid as number;
      const path = treeOf(cli);
      let victim = cli;
      for (let level = 0; level < depth; level++) victim = childrenOf(victim)[0] as number;
      expect(commandOf(victim), name).toContain('crac-restore');
      process.kill(victim, 'SIGKILL');
      const exit = await restore.exited;
      expect(exit.code, `${name}: crac restore reports the kill\n${restore.output()}`).toBe(137);
      expect(await waitUntilGone(path), `${name}: processes of the restore still running`).toEqual([]);
    }
    expect(await leftSince(before), 'work directories left behind').toEqual([]);
  });

  it('forwards SIGTERM from crac restore to the app, and exits with its exit code', async () => {
    const { dir } = await checkpointWarm({ FIXTURE_AFTER_TICKS: '600' });
    // stdout on a file: the signal goes straight to crac restore (a shell in front would not pass it on)
    const restore = crac(['restore', dir], { stdout: 'file' });
    await restore.waitFor((e) => e.event === 'after-restore');
    restore.child.kill('SIGTERM');
    const exit = await restore.exited;
    expect(restore.events()).toContainEqual(expect.objectContaining({ event: 'sigterm' }));
    expect(exit.code).toBe(143);
  });

  if (usesIoUring) {
    it(`cannot dump ${nodeName} started without the guard (io_uring), and says so`, async () => {
      const app = start(node, [APP], { stdout: 'pipe', env: { FIXTURE_TRIGGER: 'api', CRAC_ENGINE: 'criu', CRAC_IMAGES_DIR: imageDir() } });
      const error = await app.waitFor((e) => e.event === 'checkpoint-error');
      expect(error).toMatchObject({ name: 'CheckpointError', code: 'CRAC_ECHECKPOINT' });
      expect(error.message).toContain('io_uring');
      // and it runs on
      expect((await app.exited).code).toBe(0);
    });
  }
});
