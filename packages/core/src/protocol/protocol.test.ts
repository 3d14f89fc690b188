import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Manifest, writeManifest } from '../image/manifest.js';
import { sealedImageOf } from './checkpoint-outcome.js';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  CONTROL_PROTOCOL,
  controlDir,
  controlSocketPath,
  ensureControlDir,
  findCoordinatedProcess,
  hasCoordinatedAncestor,
  isPackageManager,
  LAUNCHER_PID_ENV,
  listensForRequests,
  MAX_CONTROL_LINE,
  namespacedPid,
  parseControlRequest,
  readLines,
} from './control-socket.js';
import { restorerArguments } from './criu-restore.js';
import { requireNativeProgram } from './programs.js';
import { exitCodeOf, processStartTime, processState, processTree } from './processes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const manifest = (extra: Partial<Manifest> = {}): Manifest => ({
  format: 2,
  createdAt: new Date().toISOString(),
  pid: 42,
  ids: [42],
  node: { version: 'v20', execPath: '/usr/bin/node' },
  criu: { path: '/criu', version: '4.2' },
  imagesDir: '/images/app',
  stdio: [
    { fd: 0, kind: 'null', target: '/dev/null' },
    { fd: 1, kind: 'pipe', target: 'pipe:[7]' },
    { fd: 2, kind: 'pipe', target: 'pipe:[7]' },
  ],
  ...extra,
});

describe('sealedImageOf', () => {
  const sealed = { algorithm: 'sha256' as const, sealedAt: new Date().toISOString(), files: {} };
  const image = (extra: Partial<Manifest>) => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-outcome-'));
    dirs.push(dir);
    writeManifest(dir, manifest(extra));
    return dir;
  };

  it('says dumped only for a sealed image of that checkpoint', () => {
    expect(sealedImageOf(image({ checkpointId: 'a', seal: sealed }), { checkpointId: 'a' })?.pid).toBe(42);
    expect(sealedImageOf(image({ checkpointId: 'a' }), { checkpointId: 'a' })).toBeUndefined();
    expect(sealedImageOf(image({ checkpointId: 'old', seal: sealed }), { checkpointId: 'a' })).toBeUndefined();
    expect(sealedImageOf(image({ seal: sealed }), { since: Date.now() + 60_000 })).toBeUndefined();
    expect(sealedImageOf(join(tmpdir(), 'crac-no-such-image'), {})).toBeUndefined();
  });
});

describe('control requests', () => {
  it('accepts the requests of this protocol and nothing else', () => {
    const id = 'r1';
    expect(parseControlRequest(JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'status' }))).toEqual({
      protocol: CONTROL_PROTOCOL,
      id,
      command: 'status',
    });
    expect(
      parseControlRequest(JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'checkpoint', leaveRunning: true })),
    ).toMatchObject({
      command: 'checkpoint',
    });
    for (const line of [
      'null',
      '42',
      'not json',
      JSON.stringify({ id, command: 'status' }),
      JSON.stringify({ protocol: 99, id, command: 'status' }),
      JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'reboot' }),
      JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'checkpoint', imagesDir: 7 }),
      // an empty id is a refused line's (the requester could not tell them apart), an id is not a payload
      JSON.stringify({ protocol: CONTROL_PROTOCOL, id: '', command: 'status' }),
      JSON.stringify({ protocol: CONTROL_PROTOCOL, id: 'x'.repeat(129), command: 'status' }),
      // a hold past 2^31 - 1 ms would end at once (Node's setTimeout): a day at most
      JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'prepare', holdMs: 86_400_001 }),
    ]) {
      expect(parseControlRequest(line), line).toBeUndefined();
    }
    // only the known fields go on
    expect(
      parseControlRequest(JSON.stringify({ protocol: CONTROL_PROTOCOL, id, command: 'prepare', holdMs: 60_000, extra: { deep: 1 } })),
    ).toEqual({ protocol: CONTROL_PROTOCOL, id, command: 'prepare', holdMs: 60_000 });
  });
});

describe('the control directory', () => {
  it("as root, is in no directory a user could have named: TMPDIR is not read, a runtime directory not root's alone is passed over", () => {
    const own = mkdtempSync(join(tmpdir(), 'crac-runtime-'));
    dirs.push(own);
    const theirs = mkdtempSync(join(tmpdir(), 'crac-runtime-'));
    dirs.push(theirs);
    if (process.getuid?.() === 0) {
      chownSync(theirs, 65534, 65534);
      expect(controlDir({ CRAC_RUNTIME_DIR: own })).toBe(join(own, 'crac-0'));
      expect(controlDir({ CRAC_RUNTIME_DIR: theirs })).toBe('/tmp/crac-0');
      expect(controlDir({ CRAC_RUNTIME_DIR: theirs, XDG_RUNTIME_DIR: own })).toBe(join(own, 'crac-0'));
      expect(controlDir({ TMPDIR: theirs })).toBe('/tmp/crac-0');
    } else {
      // a user's own settings are theirs to make
      expect(controlDir({ CRAC_RUNTIME_DIR: theirs })).toBe(join(theirs, `crac-${process.getuid?.()}`));
    }
  });

  const runtime = () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-runtime-'));
    dirs.push(dir);
    return { CRAC_RUNTIME_DIR: dir };
  };

  it('is created private, and refused when others can enter it or someone else owns it', () => {
    const env = runtime();
    const dir = ensureControlDir(env);
    expect(ensureControlDir(env)).toBe(dir);
    chmodSync(dir, 0o755);
    expect(() => ensureControlDir(env)).toThrow(
      expect.objectContaining({ code: 'CRAC_ETRIGGER', message: expect.stringMatching(/not private/) }),
    );
    if (process.getuid?.() === 0) {
      const other = runtime();
      mkdirSync(join(other.CRAC_RUNTIME_DIR, `crac-${process.getuid()}`), { mode: 0o700 });
      chownSync(join(other.CRAC_RUNTIME_DIR, `crac-${process.getuid()}`), 65534, 65534);
      expect(() => ensureControlDir(other)).toThrow(expect.objectContaining({ message: expect.stringMatching(/owner 65534/) }));
    }
  });

  it('ends a connection whose line never ends, and reads the lines of the others', async () => {
    const lines: string[] = [];
    const closed: Promise<void>[] = [];
    const server = createServer((socket: Socket) => {
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      readLines(socket, MAX_CONTROL_LINE, (line) => lines.push(line));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const polite = netConnect(port, '127.0.0.1');
    polite.end('one\ntwo\n');
    const flood = netConnect(port, '127.0.0.1');
    flood.on('error', () => {});
    flood.write('x'.repeat(MAX_CONTROL_LINE + 1024));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(closed);
    expect(lines).toEqual(['one', 'two']);
    expect(flood.destroyed || flood.readableEnded).toBe(true);
    server.close();
  });

  it('ends a connection whose over-long line comes whole in one chunk, delivering neither it nor the lines after it', async () => {
    // the fuzzer's find: only the unterminated rest was measured, so a line whose newline came in
    // the chunk that made it too long was delivered
    const socket = new PassThrough();
    const lines: string[] = [];
    readLines(socket as unknown as Socket, MAX_CONTROL_LINE, (line) => lines.push(line));
    socket.write(`one\n${'x'.repeat(MAX_CONTROL_LINE + 1)}\nafter\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['one']);
    expect(socket.destroyed).toBe(true);
  });

  it('counts the limit in bytes, as PROTOCOL.md does: a line of 3-byte characters over 64 KiB ends the connection', async () => {
    const socket = new PassThrough();
    const lines: string[] = [];
    readLines(socket as unknown as Socket, MAX_CONTROL_LINE, (line) => lines.push(line));
    const wide = '€'.repeat(Math.floor(MAX_CONTROL_LINE / 3) + 1); // fewer characters than the limit, more bytes
    socket.write(`one\n${wide}\nafter\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['one']);
    expect(socket.destroyed).toBe(true);
  });
});

describe('restorerArguments (crac-restore --init-args)', () => {
  /** An image in a private directory, `manifest` its manifest (imagesDir included), and a CRIU that only says its version. */
  const restorable = (extra: Partial<Manifest> = {}, owner?: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-init-args-'));
    dirs.push(dir);
    const criu = join(dir, 'criu');
    writeFileSync(criu, '#!/bin/sh\necho "Version: 4.2.1"\n', { mode: 0o755 });
    const image = join(dir, 'image');
    mkdirSync(image, { mode: 0o700 });
    writeManifest(image, manifest(extra));
    for (const file of ['inventory.img', 'pstree.img']) writeFileSync(join(image, file), '', { mode: 0o600 });
    if (owner !== undefined) {
      chmodSync(dir, 0o755);
      for (const path of [image, join(image, 'crac-manifest.json'), join(image, 'inventory.img'), join(image, 'pstree.img')]) {
        chownSync(path, owner, owner);
      }
    }
    return { image, criu, env: { ...process.env, CRAC_CRIU_PATH: criu } };
  };
  const withEnv = <T>(env: NodeJS.ProcessEnv, run: () => T): T => {
    const saved = process.env.CRAC_CRIU_PATH;
    process.env.CRAC_CRIU_PATH = env.CRAC_CRIU_PATH;
    try {
      return run();
    } finally {
      if (saved === undefined) delete process.env.CRAC_CRIU_PATH;
      else process.env.CRAC_CRIU_PATH = saved;
    }
  };

  it("maps the app's pipes once, its image directory to fd 3 and its handoff file to fd 4", () => {
    const { image, criu, env } = restorable({ handoff: '/images/app/crac-handoff' });
    const args = withEnv(env, () => restorerArguments(image, { workDir: '/work', pidNamespace: process.getuid?.() === 0 }));
    const pidns = process.getuid?.() === 0 ? ['--pidns'] : [];
    expect(args.slice(0, args.indexOf('--'))).toEqual([...pidns, '--pidfile', '/work/restored.pid', '--handoff-fd', '4']);
    expect(args.slice(args.indexOf('--') + 1, args.indexOf('--') + 5)).toEqual([criu, 'restore', '-d', '-D']);
    // CRIU reads the image through the descriptor the restorer checked, never by path
    expect(args[args.indexOf('-D') + 1]).toBe('/proc/self/fd/3');
    expect(args).not.toContain(image);
    const inherited = args.flatMap((arg, i) => (args[i - 1] === '--inherit-fd' ? [arg] : []));
    expect(inherited).toEqual(['fd[1]:pipe:[7]', 'fd[3]:images/app', 'fd[4]:images/app/crac-handoff']);
  });

  it('runs CRIU in its unprivileged mode for a non-root restore, and refuses a pid namespace there', () => {
    const root = process.getuid?.() === 0;
    // as root, the restorer runs as nobody over an image of nobody's
    const { image, criu } = restorable({}, root ? 65534 : undefined);
    const asUser = (extra: string[]) => {
      const restorer = requireNativeProgram('restore');
      const command = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', restorer] : [restorer];
      return spawnSync(command[0] as string, [...command.slice(1), '--init-args', '/w', ...extra, '--', image], {
        encoding: 'utf8',
        env: { ...process.env, CRAC_CRIU_PATH: criu },
      });
    };
    const run = asUser([]);
    expect(run.status, run.stderr).toBe(0);
    const args = JSON.parse(run.stdout) as string[];
    expect(args.slice(args.indexOf('--') + 1)).toContain('--unprivileged');
    expect(args.slice(0, args.indexOf('--'))).not.toContain('--pidns');
    const refused = asUser(['--pid-namespace', 'always']);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toContain('[CRAC_EUNPRIVILEGED]');
    if (root) {
      const own = restorable();
      expect(withEnv(own.env, () => restorerArguments(own.image, { workDir: '/w' }))).not.toContain('--unprivileged');
    }
  });

  it("has crac-init bind the app's listening sockets first, each with its port rule and slot", () => {
    const slot = (n: number) => `/images/app/crac-listen-${n}`;
    const { image, env } = restorable({
      format: 3,
      handoff: '/images/app/crac-handoff',
      listeners: [
        { host: '127.0.0.1', port: 3000, portEnv: 'PORT', portEnvValue: '3000', slot: slot(0) },
        // PORT named another server at the checkpoint: this one keeps its port
        { host: '::', port: 9464, portEnv: 'PORT', portEnvValue: '3000', slot: slot(1) },
        { host: '127.0.0.1', port: 8080, portEnv: 'HTTP_PORT', slot: slot(2) },
        { host: '127.0.0.1', port: 8081, slot: '/images/app,odd/crac-listen-3' },
      ],
    });
    const args = withEnv(env, () => restorerArguments(image, { workDir: '/w' }));
    const listens = args.slice(0, args.indexOf('--')).flatMap((arg, i, init) => (init[i - 1] === '--listen' ? [arg] : []));
    expect(listens).toEqual([
      'host=127.0.0.1,port=3000,env=PORT,was=3000,slot=/images/app/crac-listen-0',
      'host=::,port=9464,slot=/images/app/crac-listen-1',
      'host=127.0.0.1,port=8080,env=HTTP_PORT,slot=/images/app/crac-listen-2',
      'host=127.0.0.1,port=8081,slot=/images/app,odd/crac-listen-3',
    ]);
    // crac-init adds the --inherit-fd of each socket it could bind
    expect(args.filter((arg) => arg.includes('crac-listen'))).toHaveLength(4);
  });

  it('hands nothing over to an image made without a handoff file', () => {
    const { image, env } = restorable();
    const args = withEnv(env, () => restorerArguments(image, { workDir: '/w' }));
    expect(args).not.toContain('--handoff-fd');
  });
});

describe('processes', () => {
  it('reads the state of a process and the exit code of an exit', () => {
    expect(processState(process.pid)).toBe('alive');
    expect(processState(2 ** 22 + 1)).toBe('gone');
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
    expect(processStartTime(2 ** 22 + 1)).toBeUndefined();
    expect(exitCodeOf({ code: 3, signal: null })).toBe(3);
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ code: null, signal: null }, 125)).toBe(125);
  });
});

describe.runIf(process.platform === 'linux')('namespacedPid', () => {
  it('names a process by its pid namespace and its pid there, the same from inside and from outside', async () => {
    const { spawn } = await import('node:child_process');
    const { readlinkSync } = await import('node:fs');
    const namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    expect(namespacedPid('self')).toBe(`${namespace}-${process.pid}`);
    expect(namespacedPid(process.pid)).toBe(namespacedPid('self'));
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      expect(namespacedPid(child.pid as number)).toBe(`${namespace}-${child.pid}`);
      expect(controlSocketPath(child.pid as number)).toMatch(new RegExp(`/crac-\\d+/${namespace}-${child.pid}\\.sock$`));
    } finally {
      child.kill();
    }
    expect(() => namespacedPid(4_194_000)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe.runIf(process.platform === 'linux')('hasCoordinatedAncestor, listensForRequests', () => {
  it("finds an ancestor that listens on its control socket, not a dead process's file of the same name", async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const { vi } = await import('vitest');
    const runtime = mkdtempSync(join(tmpdir(), 'crac-ancestor-'));
    const env = { CRAC_RUNTIME_DIR: runtime };
    ensureControlDir(env);
    // the "parent": a child of this process, which is then the grandparent
    const parent = spawn('sleep', ['5'], { stdio: 'ignore' });
    const ppid = vi.spyOn(process, 'ppid', 'get').mockReturnValue(parent.pid as number);
    const grandparent = createServer();
    try {
      expect(hasCoordinatedAncestor(env)).toBe(false);
      // a socket file of the parent's name that nothing listens on: left by a dead process
      writeFileSync(controlSocketPath(parent.pid as number, env), '');
      expect(hasCoordinatedAncestor(env)).toBe(false);
      // the grandparent listens
      await new Promise<void>((resolve) => grandparent.listen(controlSocketPath('self', env), resolve));
      expect(hasCoordinatedAncestor(env)).toBe(true);
      // ancestors from crac checkpoint up do not count: its child, or a grandchild under npm and sh, listens
      expect(listensForRequests(env)).toBe(false);
      expect(listensForRequests({ ...env, [LAUNCHER_PID_ENV]: String(parent.pid) })).toBe(true);
      expect(listensForRequests({ ...env, [LAUNCHER_PID_ENV]: String(process.pid) })).toBe(true);
      expect(listensForRequests({ ...env, [LAUNCHER_PID_ENV]: String(process.ppid + 1_000_000) })).toBe(false);
    } finally {
      ppid.mockRestore();
      parent.kill();
      await new Promise((resolve) => grandparent.close(resolve));
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});

describe('isPackageManager', () => {
  const node = '/usr/bin/node';
  it.each([
    ['/usr/lib/node_modules/npm/bin/npm-cli.js'],
    ['/usr/bin/npm'],
    ['/usr/lib/node_modules/npm/bin/npx-cli.js'],
    ['/home/u/.local/share/pnpm/pnpm.cjs'],
    ['/app/node_modules/pnpm/bin/pnpm.cjs'],
    ['/usr/lib/node_modules/corepack/dist/corepack.js'],
    ['/usr/lib/node_modules/corepack/dist/yarn.js'],
    ['/app/.yarn/releases/yarn-4.5.0.cjs'],
  ])('%s is one: it neither listens nor takes care of resources', (script) => {
    expect(isPackageManager([node, script], node)).toBe(true);
  });

  it.each([['/app/server.js'], ['/app/node_modules/next/dist/bin/next'], ['/app/npm-tools/build.js'], ['/app/dist/main.mjs']])(
    '%s is an app',
    (script) => {
      expect(isPackageManager([node, script], node)).toBe(false);
    },
  );

  it('knows a single-executable pnpm by its binary', () => {
    expect(isPackageManager(['/usr/local/bin/pnpm', 'start'], '/usr/local/bin/pnpm')).toBe(true);
  });
});

describe.runIf(process.platform === 'linux')('processTree, findCoordinatedProcess', () => {
  it('finds the process under npm and sh that listens, not the ones above it', async () => {
    const { spawn } = await import('node:child_process');
    const runtime = mkdtempSync(join(tmpdir(), 'crac-tree-'));
    const env = { CRAC_RUNTIME_DIR: runtime };
    ensureControlDir(env);
    // sh (as npm's `sh -c`) starting a Node process that listens on its control socket
    const dir = join(runtime, `crac-${process.getuid?.()}`);
    // listens where controlSocketPath('self') says: <pid namespace inode>-<pid>.sock
    const listener = `const ns = /\\d+/.exec(require('fs').readlinkSync('/proc/self/ns/pid'))[0]; require('net').createServer().listen(${JSON.stringify(dir)} + '/' + ns + '-' + process.pid + '.sock', () => console.log('up'))`;
    const shell = spawn('/bin/sh', ['-c', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(listener)}; true`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise((resolve) => shell.stdout.once('data', resolve));
      const tree = processTree(shell.pid as number);
      expect(tree[0]).toBe(shell.pid);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      const app = findCoordinatedProcess(shell.pid as number, env);
      expect(app).toBe(tree[1]);
      expect(findCoordinatedProcess(process.pid, env)).toBe(app);
      expect(processTree(4_194_000)).toEqual([]);
    } finally {
      for (const pid of processTree(shell.pid as number).reverse()) process.kill(pid, 'SIGKILL');
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});
