// Apps with no line of crac code (a plain http server, Koa, express-generator's scaffold), launched
// as their users launch them (`npm start`, `node app.js`),
// with real CRIU: every server is a resource by default, `crac checkpoint -- npm start` checkpoints
// the app under npm and leaves no process behind, and `crac restore` under npm ends with npm.
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processState } from '@crac/core/protocol';
import { paths } from '@crac/tools/paths';
import { canConnect, freePort, waitForPort } from '@crac/tools/ports';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type NodeUnderTest, start, testDir } from './helpers/harness.js';

const APPS = join(FIXTURES, 'zero-code');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');

beforeAll(() => assertRealCriuHost());

/** PATH on which `node` (and so npm, which runs on `node`) is the Node under test. */
function pathWith(node: NodeUnderTest): string {
  const bin = testDir('crac-node-bin-');
  symlinkSync(node.bin, join(bin, 'node'));
  return `${bin}:${process.env.PATH}`;
}

/** `crac checkpoint` of `command` after a warm-up of 200 requests on `port`. */
function checkpoint(command: string[], dir: string, port: number, env: NodeJS.ProcessEnv, extra: string[] = []) {
  return crac(['checkpoint', '--to', dir, ...extra, '--warmup', `${process.execPath} ${WARMUP} ${port} 200`, '--', ...command], {
    cwd: APPS,
    stdout: 'file',
    env: { PORT: String(port), ...env },
  });
}

async function getJson(port: number): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** Pids a fixture wrote to PID_FILE. */
const pidsIn = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map(Number);

/** Pids of the processes whose command line holds `text` (crac-restore of one image, say). */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return processState(Number(pid)) === 'alive' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `pid ppid state command` of each process, for a failure's message. */
function describeProcesses(pids: number[]): string {
  return pids
    .map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return `${pid} ${ppid} ${state} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return `${pid} gone`;
      }
    })
    .join('; ');
}

async function until(condition: () => boolean, what: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${typeof what === 'string' ? what : what()}`);
    await sleep(25);
  }
}

describe.each(NODES)('zero-code apps with real CRIU on $name', (node) => {
  it.each([
    ['a plain http server started with npm start', ['npm', 'start'], 'http'],
    ['a Koa app started with node', ['node', 'koa-app.cjs'], 'koa'],
  ])('%s: checkpointed with no crac code, restored on another PORT with its environment', async (_name, command, framework) => {
    const dir = imageDir();
    const port = await freePort();
    const pidFile = join(testDir(), 'pids');
    const made = checkpoint(command as string[], dir, port, { PATH: pathWith(node), PID_FILE: pidFile });
    expect((await made.exited).code, made.output()).toBe(0);
    expect(made.output()).toMatch(/crac: checkpoint .*dumped/);
    const [app] = pidsIn(pidFile);
    if (command[0] === 'npm') expect(made.output()).toContain(`pid ${app}, under npm`);
    // nothing the checkpoint started is left: npm, its sh, the app
    const launcher = Number(/under npm \(pid (\d+)\)/.exec(made.output())?.[1] ?? app);
    for (const pid of [app as number, launcher]) expect(processState(pid), `pid ${pid}`).not.toBe('alive');

    const other = await freePort();
    const copy = crac(['restore', dir], { stdout: 'file', env: { PORT: String(other), GREETING: `copy on ${node.id}` } });
    await waitForPort(other, copy);
    expect(await getJson(other)).toMatchObject({ framework, pid: app, port: String(other), greeting: `copy on ${node.id}` });
    expect(await canConnect(port)).toBe(false);
  });
});

// express-generator's own scaffold, started as its README says (npm start: node ./bin/www).
const EXPRESS_GENERATOR = join(FIXTURES, 'express-generator');

describe.each(NODES)('an express-generator app with real CRIU on $name', (node) => {
  it('started with npm start: checkpointed with no crac code, restored on another PORT', async () => {
    const dir = imageDir();
    const port = await freePort();
    const made = crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 200`, '--', 'npm', 'start'], {
      cwd: EXPRESS_GENERATOR,
      stdout: 'file',
      env: { PORT: String(port), PATH: pathWith(node) },
    });
    expect((await made.exited).code, made.output()).toBe(0);
    expect(made.output()).toMatch(/crac: checkpoint .*dumped/);
    expect(made.output()).toMatch(/under npm \(pid \d+\)/);

    const other = await freePort();
    const copy = crac(['restore', dir], { stdout: 'file', env: { PORT: String(other) } });
    await waitForPort(other, copy);
    const users = await fetch(`http://127.0.0.1:${other}/users`);
    expect(users.status).toBe(200);
    expect(await users.text()).toBe('respond with a resource');
    const index = await fetch(`http://127.0.0.1:${other}/`);
    expect(await index.text()).toContain('<h1>Express</h1>');
    expect(await canConnect(port)).toBe(false);
  });
});

describe('crac checkpoint and crac restore under npm', () => {
  it('a failed checkpoint stops everything it started, a child that ignores SIGTERM too', async () => {
    const pidFile = join(testDir(), 'pids');
    // --no-auto: the server is nobody's resource, and the audit refuses the checkpoint
    const made = checkpoint(['npm', 'run', 'stubborn'], imageDir(), await freePort(), { PID_FILE: pidFile }, ['--no-auto']);
    const exit = await made.exited;
    expect(exit.code, made.output()).toBe(1);
    // the audit's refusal, pointing at the zero-code way first
    expect(made.output()).toMatch(/CRAC_ECHECKPOINT.*1 open handle that no resource released/);
    expect(made.output()).toContain('TCP server listening on 127.0.0.1');
    expect(made.output()).toContain('start the app with `crac checkpoint -- <command>`');
    expect(made.output()).toContain('no image was made; stopping the app');
    const pids = pidsIn(pidFile);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(processState(pid), `pid ${pid}`).not.toBe('alive');
  });

  it('crac restore in an npm script ends with npm: a SIGTERM to npm reaches the app once, nothing runs on', async () => {
    const dir = imageDir();
    const made = checkpoint(['npm', 'start'], dir, await freePort(), {});
    expect((await made.exited).code, made.output()).toBe(0);
    const signalLog = join(testDir(), 'signals');
    const restorePort = await freePort();
    const env = { CRAC: paths.crac, IMAGE: dir, PORT: String(restorePort), SIGNAL_LOG: signalLog };
    const npm = start('npm', ['run', 'restore'], { cwd: APPS, env, stdout: 'file' });
    // the port is bound before CRIU runs: the SIGTERM may land while CRIU restores the app
    await waitForPort(restorePort, npm);
    expect(processesWith(dir).length).toBeGreaterThan(0);
    process.kill(npm.child.pid as number, 'SIGTERM');
    await npm.exited;
    await until(
      () => processesWith(dir).length === 0,
      () => `crac restore and the app have ended (left: ${describeProcesses(processesWith(dir))})`,
    );
    expect(readFileSync(signalLog, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(await canConnect(restorePort)).toBe(false);
  });

  it('nohup crac restore ... & in an npm script runs on after npm is gone', async () => {
    const dir = imageDir();
    const made = checkpoint(['npm', 'start'], dir, await freePort(), {});
    expect((await made.exited).code, made.output()).toBe(0);
    const env = { CRAC: paths.crac, IMAGE: dir, SIGNAL_LOG: join(testDir(), 'signals') };

    // nohup crac restore ... &: npm is gone at once, the restore runs on
    const nohupPort = await freePort();
    const nohupLog = join(testDir(), 'nohup.log');
    const script = start('npm', ['run', 'restore-nohup'], { cwd: APPS, env: { ...env, PORT: String(nohupPort), NOHUP_LOG: nohupLog } });
    expect((await script.exited).code).toBe(0);
    await waitForPort(nohupPort, { isAlive: () => true, output: () => readFileSync(nohupLog, 'utf8') });
    await sleep(500);
    expect(await getJson(nohupPort)).toMatchObject({ framework: 'http', port: String(nohupPort) });
    for (const pid of processesWith(dir)) process.kill(pid, 'SIGTERM');
    await until(
      () => processesWith(dir).length === 0,
      () => `the nohup restore has ended (left: ${describeProcesses(processesWith(dir))})`,
    );
  });
});
