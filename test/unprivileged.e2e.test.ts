// Checkpoint and restore as a non-root user: CRIU's --unprivileged mode, with only the file
// capabilities it needs on a root-owned copy of the binary. The test makes a throwaway user
// (removed after), grants the capabilities the way an administrator would (`crac check
// --grant-capabilities` as root), and runs `crac` as that user (setpriv) on an HTTP app in a
// directory the user owns.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CRIU_GROUP, requireNativeProgram } from '@crac/core/protocol';
import { paths } from '@crac/tools/paths';
import { freePort, waitForPort } from '@crac/tools/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setImageCapabilities } from './helpers/core-image.js';
import { assertRealCriuHost, crac, NODES, ROOT, type Started, start, tempDir } from './helpers/harness.js';

const USER = `crac-unpriv-${process.pid}`;
const SETPRIV = '/usr/bin/setpriv';
const SETCAP = '/usr/sbin/setcap';
/**
 * Where the user finds this checkout: a bind mount of it in a directory anyone can enter. The
 * checkout itself may sit in a directory only root can enter (a clone in `mktemp -d`).
 */
let checkout: string;
/** `path` in this checkout, as the user reaches it. */
const seenByUser = (path: string) => (path.startsWith(`${ROOT}/`) ? join(checkout, relative(ROOT, path)) : path);
const CLI = () => seenByUser(join(ROOT, 'packages', 'cli', 'dist', 'cli.js'));
/** @crac/core as an app outside the repository loads it: the build (a resolution from here would give the sources). */
const CORE = () => seenByUser(join(ROOT, 'packages', 'core', 'dist', 'index.cjs'));
const cleanups: (() => void)[] = [];
let user: { uid: number; gid: number };
/**
 * Root's directory of CRIU copies, root's and the group crac's (0750) as `crac setup` installs
 * CRIU: `granted` (crac check --grant-capabilities), `bare` (none), `partial`
 * (cap_checkpoint_restore only), `setup` (crac setup --unprivileged, from an earlier install that
 * was everyone's: 0755); and `everyone`, granted both and executable by every user (0755).
 */
let criu: { granted: string; bare: string; partial: string; setup: string; everyone: string };
/** The group a granted CRIU is for (CRIU_GROUP). */
let cracGid: number;
/** The user's own directory: the app, its images. */
let home: string;

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
}

beforeAll(() => {
  assertRealCriuHost();
  const missing = [SETPRIV, SETCAP, '/usr/sbin/useradd', '/usr/sbin/userdel'].filter((tool) => !existsSync(tool));
  if (missing.length > 0)
    throw new Error(`the unprivileged suite cannot run here; missing: ${missing.join(', ')} (util-linux, libcap2-bin, passwd)`);
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  cleanups.push(() => execFileSync('userdel', [USER]));
  user = { uid: idOf('-u'), gid: idOf('-g') };
  const group = spawnSync('getent', ['group', CRIU_GROUP], { encoding: 'utf8' });
  if (group.status !== 0) throw new Error(`the unprivileged suite needs the group ${CRIU_GROUP}, which crac setup creates: run it as root`);
  cracGid = Number(group.stdout.split(':')[2]);
  cleanups.push(() => rmSync(`/dev/shm/crac-criu-${user.uid}`, { recursive: true, force: true }));

  // CRIU copies in a directory only root can write (the grant refuses anything else), that the
  // user can enter
  const bin = tempDir('crac-unpriv-criu-');
  cleanups.push(bin.remove);
  execFileSync('chmod', ['755', bin.path]);
  const copy = (name: string) => {
    mkdirSync(join(bin.path, name), { mode: 0o755 });
    const path = join(bin.path, name, 'criu');
    copyFileSync(process.env.CRAC_CRIU_PATH || '/usr/local/libexec/crac/criu', path);
    chownSync(path, 0, cracGid);
    chmodSync(path, 0o750);
    return path;
  };
  criu = { granted: copy('granted'), bare: copy('bare'), partial: copy('partial'), setup: copy('setup'), everyone: copy('everyone') };
  execFileSync(SETCAP, ['cap_checkpoint_restore+ep', criu.partial]);
  for (const everyones of [criu.setup, criu.everyone]) {
    chownSync(everyones, 0, 0);
    chmodSync(everyones, 0o755);
  }
  execFileSync(SETCAP, ['cap_checkpoint_restore,cap_setpcap+ep', criu.everyone]);

  const view = mkdtempSync(join(tmpdir(), 'crac-unpriv-checkout-'));
  chmodSync(view, 0o755);
  checkout = join(view, 'checkout');
  mkdirSync(checkout);
  execFileSync('mount', ['--bind', ROOT, checkout]);
  // not recursive: should the unmount fail, nothing of the checkout is removed through the mount
  cleanups.push(() => rmdirSync(view));
  cleanups.push(() => rmdirSync(checkout));
  cleanups.push(() => execFileSync('umount', [checkout]));
  const probe = spawnSync(SETPRIV, [...asUserIds(), process.execPath, '-e', `require(${JSON.stringify(CORE())})`], { encoding: 'utf8' });
  if (probe.status !== 0)
    throw new Error(
      `the unprivileged suite needs this checkout readable by other users (umask 022); ${USER} cannot load ${CORE()}:\n${probe.stderr}`,
    );

  // The user's directory: the app (which finds @crac/core in this checkout) and its images
  const own = tempDir('crac-unpriv-home-');
  cleanups.push(own.remove);
  home = own.path;
  writeFileSync(
    join(home, 'server.cjs'),
    `// answers who and what it is: pid, uid, how long it has been up by the monotonic clock
const http = require('node:http');
const { getGlobalContext, serverResource } = require(${JSON.stringify(CORE())});
const started = process.hrtime.bigint();
const server = http.createServer((_req, res) =>
  res.end(\`\${JSON.stringify({ pid: process.pid, uid: process.getuid(), upMs: Number((process.hrtime.bigint() - started) / 1000000n) })}\n\`),
);
getGlobalContext().register(serverResource(server));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`,
  );
  chownSync(home, user.uid, user.gid);
  chownSync(join(home, 'server.cjs'), user.uid, user.gid);
});

afterAll(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** setpriv's arguments that run what follows as the test's user: a member of the group crac alone, or of no group. */
const asUserIds = ({ inGroup = true } = {}) => [
  '--reuid',
  String(user.uid),
  '--regid',
  String(user.gid),
  ...(inGroup ? ['--groups', String(cracGid)] : ['--clear-groups']),
  '--',
];

/**
 * `crac ARGS` run by the test's user (no capabilities of its own, no groups), from its directory,
 * its output on a pipe of the user's own: through `| cat` in a shell of the user. Not on the
 * harness's pipe or file, which are root's: unprivileged CRIU opens the app's files by path (dump)
 * and the pipes it inherits through /proc/self/fd (restore), with the user's permissions.
 */
function asUser(args: string[], env: NodeJS.ProcessEnv = {}, { ownPipe = true, inGroup = true } = {}): Started {
  // `crac restore` as the launcher runs it: the native restorer, no Node
  const command = (args[0] === 'restore' ? [paths.crac, ...args] : [process.execPath, CLI(), ...args]).map(seenByUser);
  const piped = ownPipe ? ['/bin/bash', '-c', 'set -o pipefail; "$@" 2>&1 | cat', 'bash', ...command] : command;
  // No XDG_RUNTIME_DIR, as under su or in CI: crac gives CRIU a cache directory of the user's own.
  // The control sockets go into the user's directory, removed with it (not into /tmp).
  return start(SETPRIV, [...asUserIds({ inGroup }), ...piped], {
    cwd: home,
    env: { HOME: home, USER, XDG_RUNTIME_DIR: '', CRAC_RUNTIME_DIR: home, ...env },
  });
}

/** The descendants of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  for (let i = -1; i < found.length; i++) {
    const parent = i < 0 ? pid : (found[i] as number);
    try {
      const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
      if (children) found.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return found;
}

/** Stops a `crac restore` started by {@link asUser}: SIGTERM to crac itself, which passes it on; resolves with its exit code. */
async function stopRestore(restore: Started): Promise<number | null> {
  const cli = descendants(restore.child.pid as number).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/crac-restore');
    } catch {
      return false;
    }
  });
  if (cli === undefined) throw new Error(`no crac restore under ${restore.child.pid}: ${restore.output()}`);
  process.kill(cli, 'SIGTERM');
  return (await restore.exited).code;
}

/** Waits for the end of `started`; one that has not ended within `timeoutMs` fails the test with what it printed. */
async function finished(started: Started, timeoutMs = 60_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; output:\n${started.output()}`)), timeoutMs);
  });
  const { code } = await Promise.race([started.exited, timeout]).finally(() => clearTimeout(timer));
  await sleep(20); // the pipe may hold the last bytes
  return { code, output: started.output(), events: started.events() };
}

interface CheckReport {
  ok: boolean;
  checks: { name: string; ok: boolean; optional?: boolean; detail: string; fix?: string }[];
}
const checkNamed = (report: CheckReport, name: string) => report.checks.find((check) => check.name === name);

async function get(port: number): Promise<{ pid: number; uid: number; upMs: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(200);
  return (await response.json()) as { pid: number; uid: number; upMs: number };
}

describe('a non-root user, with the capabilities granted to CRIU', () => {
  it('root grants them with crac check --grant-capabilities, to a binary only root can replace', async () => {
    const granted = await finished(crac(['check', '--grant-capabilities', '--json'], { env: { CRAC_CRIU_PATH: criu.granted } }));
    const [report] = granted.events as unknown as [CheckReport];
    expect(checkNamed(report, 'grant capabilities'), granted.output).toMatchObject({ ok: true });
    // root's check says which other users can do it now: the group's
    expect(checkNamed(report, 'privileges')?.detail).toContain(`the members of the group ${CRIU_GROUP} can checkpoint and restore too`);
    expect(checkNamed(report, 'capability grant')).toBeUndefined();
    expect(execFileSync(SETCAP.replace('setcap', 'getcap'), [criu.granted], { encoding: 'utf8' })).toContain(
      'cap_setpcap,cap_checkpoint_restore=ep',
    );
    expect(statSync(criu.granted)).toMatchObject({ uid: 0, gid: cracGid });
    expect(statSync(criu.granted).mode & 0o7777).toBe(0o750);
    // the user cannot grant
    const refused = await finished(asUser(['check', '--grant-capabilities', '--json'], { CRAC_CRIU_PATH: criu.bare }));
    const [userReport] = refused.events as unknown as [CheckReport];
    expect(checkNamed(userReport, 'grant capabilities')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('[CRAC_EUNPRIVILEGED]'),
    });
  });

  it('root grants them with crac setup --unprivileged, once: a second run does nothing', async () => {
    const first = await finished(crac(['setup', '--unprivileged'], { env: { CRAC_CRIU_PATH: criu.setup } }));
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`unprivileged use missing: ${criu.setup} lacks cap_checkpoint_restore, cap_setpcap`);
    expect(execFileSync(SETCAP.replace('setcap', 'getcap'), [criu.setup], { encoding: 'utf8' })).toContain(
      'cap_setpcap,cap_checkpoint_restore=ep',
    );
    // it was everyone's (an earlier install): now root's and the group's
    expect(first.output).toContain(`which only root and the group ${CRIU_GROUP} may run`);
    expect(statSync(criu.setup)).toMatchObject({ uid: 0, gid: cracGid });
    expect(statSync(criu.setup).mode & 0o7777).toBe(0o750);
    const second = await finished(crac(['setup', '--unprivileged'], { env: { CRAC_CRIU_PATH: criu.setup } }));
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('everything is ready; nothing to do');
  });

  it('crac check names what a CRIU without them lacks, and the command that grants them', async () => {
    const bare = await finished(asUser(['check', '--json'], { CRAC_CRIU_PATH: criu.bare }));
    expect(bare.code).toBe(1);
    const [report] = bare.events as unknown as [CheckReport];
    expect(checkNamed(report, 'privileges')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`${criu.bare} lacks cap_checkpoint_restore, cap_setpcap`),
      fix: expect.stringContaining(`setcap cap_checkpoint_restore,cap_setpcap+ep ${criu.bare}`),
    });
    // CRIU's own check agrees: it will not run at all without cap_checkpoint_restore
    expect(checkNamed(report, 'criu check')).toMatchObject({ ok: false, detail: expect.stringContaining('CAP_CHECKPOINT_RESTORE') });

    const partial = await finished(asUser(['check'], { CRAC_CRIU_PATH: criu.partial }));
    expect(partial.code).toBe(1);
    expect(partial.output).toMatch(/FAIL privileges .* lacks cap_setpcap$/m);

    const granted = await finished(asUser(['check', '--json'], { CRAC_CRIU_PATH: criu.granted }));
    const [ok] = granted.events as unknown as [CheckReport];
    expect(ok.ok, granted.output).toBe(true);
    expect(checkNamed(ok, 'privileges')).toMatchObject({ ok: true, detail: expect.stringContaining(`uid ${user.uid}, unprivileged CRIU`) });
    // what it cannot do is said, as warnings
    expect(checkNamed(ok, 'pid namespaces')).toMatchObject({ ok: false, optional: true });
    expect(checkNamed(ok, 'monotonic clock')).toMatchObject({ ok: false, optional: true });
  });

  it.each(NODES)(
    'checkpoints an HTTP app on $name and restores it: the restored app answers, as the user, and its monotonic clock jumped',
    async ({ name, bin: node }) => {
      const port = await freePort();
      const image = join(home, `image-${name.replace(' ', '-')}`);
      const env = { CRAC_CRIU_PATH: criu.granted, PORT: String(port) };
      const warmup = `curl -sf --retry 30 --retry-connrefused --retry-delay 0 http://127.0.0.1:${port}/`;
      const checkpoint = await finished(asUser(['checkpoint', '--to', image, '--warmup', warmup, '--', node, 'server.cjs'], env));
      expect(checkpoint.code, checkpoint.output).toBe(0);
      expect(checkpoint.output).toMatch(/crac: checkpoint .* dumped/);
      const warm = JSON.parse(/\{"pid".*\}/.exec(checkpoint.output)?.[0] ?? '{}') as { pid: number; uid: number };
      expect(warm.uid).toBe(user.uid);
      // the image is the user's, private
      expect(lstatSync(image)).toMatchObject({ uid: user.uid, mode: expect.any(Number) });
      expect(lstatSync(image).mode & 0o777).toBe(0o700);
      // CRIU kept its kernel-probe cache in the user's own directory (no XDG_RUNTIME_DIR here)
      expect(lstatSync(`/dev/shm/crac-criu-${user.uid}/criu.kdat`).uid).toBe(user.uid);

      const gapMs = 1_500;
      await sleep(gapMs);
      const restore = asUser(['restore', image], env);
      await waitForPort(port, restore);
      const answer = await get(port);
      expect(answer).toMatchObject({ pid: warm.pid, uid: user.uid });
      // no time namespace unprivileged: the gap between checkpoint and restore shows on hrtime
      expect(answer.upMs).toBeGreaterThanOrEqual(gapMs);
      // the app may answer a moment before crac restore has printed its phase
      for (
        let tries = 0;
        tries < 100 && !/crac: restore .* pid \d+(, page files hashed alongside in [\d.]+ ms)?$/m.test(restore.output());
        tries++
      )
        await sleep(50);
      expect(restore.output()).toMatch(/crac: restore .* pid \d+(, page files hashed alongside in [\d.]+ ms)?$/m);
      expect(restore.output()).not.toContain('new pid namespace');
      const restorer = readFileSync(`/proc/${answer.pid}/status`, 'utf8');
      expect(restorer).toMatch(/^Uid:\s+(\d+)\s+\1\s+\1\s+\1$/m);
      expect(restorer).toMatch(/^CapEff:\s+0+$/m); // CRIU's capabilities stayed with CRIU

      // a second copy while the first holds the pid: refused, as only root has a pid namespace for it
      const second = await finished(asUser(['restore', image], env));
      expect(second.code).toBe(125);
      expect(second.output).toContain('[CRAC_EUNPRIVILEGED]');
      expect(second.output).toContain(`pid ${warm.pid} that the image needs is taken`);

      expect(await stopRestore(restore)).toBe(0);
    },
  );

  it("a working set as the user: CRIU's unprivileged mode has no lazy pages; recording is refused, a restore goes eager", async () => {
    const port = await freePort();
    const image = join(home, 'image-working-set');
    const env = { CRAC_CRIU_PATH: criu.granted, PORT: String(port) };
    const warmup = `curl -sf --retry 30 --retry-connrefused --retry-delay 0 http://127.0.0.1:${port}/`;
    const refused = await finished(
      asUser(['checkpoint', '--to', image, '--working-set', '--warmup', warmup, '--', process.execPath, 'server.cjs'], env),
    );
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain("[CRAC_EUNPRIVILEGED] recording a working set needs CRIU's lazy pages");
    const manifestPath = join(image, 'crac-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    expect(manifest.workingSet, 'the image is kept, without one').toBeUndefined();

    // an image that has one (the manifest is the user's to edit: the seal covers the files CRIU wrote)
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, workingSet: { pages: 1, lazyPages: 1 } }, null, 2), { mode: 0o600 });
    chownSync(manifestPath, user.uid, user.gid);
    await sleep(1_500); // the dumped app's pid must be free: no pid namespace for the user
    const restore = asUser(['restore', image], env);
    await waitForPort(port, restore);
    expect((await get(port)).uid).toBe(user.uid);
    for (
      let tries = 0;
      tries < 100 && !/crac: restore .* pid \d+(, page files hashed alongside in [\d.]+ ms)?$/m.test(restore.output());
      tries++
    )
      await sleep(50);
    expect(restore.output(), 'restored eagerly').toMatch(/crac: restore .* pid \d+(, page files hashed alongside in [\d.]+ ms)?$/m);
    expect(restore.output(), restore.output()).toContain(
      "warning: the image's working set is not used (CRIU's unprivileged mode has no lazy pages)",
    );
    expect(await stopRestore(restore)).toBe(0);
  });

  it("refuses at once what it cannot do: root's pipe, a pid namespace, a CRIU without cap_setpcap, another user's image", async () => {
    const port = await freePort();
    const image = join(home, 'image-refusals');
    const env = { CRAC_CRIU_PATH: criu.granted, PORT: String(port) };
    const warmup = `curl -sf --retry 30 --retry-connrefused --retry-delay 0 http://127.0.0.1:${port}/`;
    const checkpoint = await finished(asUser(['checkpoint', '--to', image, '--warmup', warmup, '--', process.execPath, 'server.cjs'], env));
    expect(checkpoint.code, checkpoint.output).toBe(0);

    // the harness's pipe is root's: CRIU could not reopen it for the app
    const rootsPipe = await finished(asUser(['restore', image], env, { ownPipe: false }));
    expect(rootsPipe.code).toBe(125);
    expect(rootsPipe.output).toContain(`[CRAC_EUNPRIVILEGED] fd 1 of crac restore belongs to uid 0`);
    expect(rootsPipe.output).not.toMatch(/crac: restore /);

    const namespace = await finished(asUser(['restore', '--pid-namespace', 'always', image], env));
    expect(namespace.code).toBe(125);
    expect(namespace.output).toContain('[CRAC_EUNPRIVILEGED] --pid-namespace always needs root');

    // without cap_setpcap CRIU's restorer would hang: refused before CRIU starts
    const partial = await finished(asUser(['restore', image], { ...env, CRAC_CRIU_PATH: criu.partial }));
    expect(partial.code).toBe(125);
    expect(partial.output).toContain(`[CRAC_ECRIU_CAPS] CRIU at ${criu.partial} lacks cap_setpcap`);
    expect(partial.output).not.toMatch(/crac: restore /);
    // crac-init (restorers of their own) refuses it too, rather than hang in CRIU
    const initArgs = ['--pidfile', join(home, 'init.pid'), '--', criu.partial, 'restore', '-D', image, '-d', '--unprivileged'];
    const init = await finished(
      start(SETPRIV, [...asUserIds(), seenByUser(requireNativeProgram('init')), ...initArgs], { cwd: home }),
      20_000,
    );
    expect(init.code, init.output).toBe(125);
    expect(init.output).toContain(`crac-init: error [CRAC_ECRIU_CAPS] CRIU at ${criu.partial} lacks cap_setpcap`);

    // the image rules hold for the user as for root: another user's image is refused
    const foreign = join(home, 'foreign');
    cpSync(image, foreign, { recursive: true });
    execFileSync('chown', ['-R', 'nobody:nogroup', foreign]);
    execFileSync('chmod', ['-R', 'go+rX', foreign]); // readable: refused for its owner, not for EACCES
    const refused = await finished(asUser(['restore', foreign], env));
    expect(refused.code).toBe(125);
    expect(refused.output).toMatch(/\[CRAC_EIMAGE\] .*foreign belongs to another user \(owner uid 65534 \(nobody\)/);

    // the user's own image still restores with the granted CRIU
    const restore = asUser(['restore', image], env);
    await waitForPort(port, restore);
    expect(await get(port)).toMatchObject({ uid: user.uid });
    expect(await stopRestore(restore)).toBe(0);
  });
});

/**
 * CRIU run directly by the test's user, as anyone who may execute it could: through a shell of the
 * user's, as setpriv still holds root's capabilities when it executes its program (the kernel would
 * let it run any file).
 */
function criuAsUser(binary: string, args: string[], { inGroup = true } = {}) {
  return spawnSync(SETPRIV, [...asUserIds({ inGroup }), '/bin/sh', '-c', 'exec "$@"', 'sh', binary, ...args], {
    cwd: home,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** The capability sets of a /proc/PID/status text, by line name (CapInh, CapPrm, CapEff, CapAmb). */
function capabilitySets(status: string): Record<string, bigint> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map(([, name, hex]) => [name, BigInt(`0x${hex}`)]));
}

/** The capability sets the loop reports next in `file` (emptied first by the caller), read once whole. */
async function nextReport(file: string): Promise<Record<string, bigint>> {
  for (let tries = 0; tries < 200; tries++) {
    const text = readFileSync(file, 'utf8');
    if (text.includes('CapAmb')) return capabilitySets(text);
    await sleep(50);
  }
  throw new Error(`no capabilities reported in ${file} within 10 s`);
}

describe("the grant is the group crac's", () => {
  /** cap_setpcap (8) and cap_checkpoint_restore (40): what a granted CRIU holds. */
  const GRANTED_CAPABILITIES = (1n << 8n) | (1n << 40n);

  it("an image's owner who may run a granted CRIU keeps both capabilities in what it restores, and in every program that runs", async () => {
    // the user's process: a shell that writes the capabilities of a program it executes, again and again
    const dir = join(home, 'keeps');
    mkdirSync(dir);
    const report = join(dir, 'capabilities');
    writeFileSync(report, '');
    // each report whole: written aside, then renamed over the last one
    writeFileSync(
      join(dir, 'loop.sh'),
      `while :; do grep ^Cap /proc/self/status > ${report}.new && mv ${report}.new ${report}; sleep 0.1; done\n`,
    );
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
    // in its own directory: CRIU dumps the working directory, which the user must be able to reach
    const shell = spawn(SETPRIV, [...asUserIds({ inGroup: false }), '/bin/bash', join(dir, 'loop.sh')], {
      cwd: dir,
      stdio: 'ignore',
      detached: true,
    });
    let restored: number | undefined;
    try {
      expect((await nextReport(report)).CapAmb).toBe(0n);
      const loop = shell.pid as number; // setpriv executed bash in its place
      expect(readFileSync(`/proc/${loop}/cmdline`, 'utf8')).toContain('loop.sh');

      // dump it with the CRIU everyone may run, rewrite the capabilities its image records, restore
      const image = join(dir, 'image');
      mkdirSync(image);
      chownSync(image, user.uid, user.gid);
      const dump = criuAsUser(criu.everyone, ['dump', '--unprivileged', '-t', String(loop), '-D', image, '-o', 'dump.log'], {
        inGroup: false,
      });
      expect(dump.status, `${dump.stderr}${readFileSync(join(image, 'dump.log'), 'utf8').slice(-2000)}`).toBe(0);
      // CRIU killed them: gone (reaped) before their pids can be restored
      if (shell.exitCode === null && shell.signalCode === null) await once(shell, 'exit');
      const cores = readdirSync(image).filter((name) => /^core-\d+\.img$/.test(name));
      expect(cores.length).toBeGreaterThan(0);
      for (const pid of cores.map((name) => name.slice(5, -4))) {
        for (let tries = 0; tries < 100 && existsSync(`/proc/${pid}`); tries++) await sleep(50);
        expect(existsSync(`/proc/${pid}`), `pid ${pid} of the dump still exists`).toBe(false);
      }
      for (const core of cores) setImageCapabilities(join(image, core), GRANTED_CAPABILITIES);
      const pidFile = join(image, 'restored.pid');
      const restore = criuAsUser(
        criu.everyone,
        ['restore', '--unprivileged', '-d', '-D', image, '-o', 'restore.log', '--pidfile', pidFile],
        {
          inGroup: false,
        },
      );
      expect(restore.status, `${restore.stderr}${readFileSync(join(image, 'restore.log'), 'utf8').slice(-2000)}`).toBe(0);
      restored = Number(readFileSync(pidFile, 'utf8'));

      // the restored shell holds them, and so does each program it executes: ambient capabilities survive exec
      expect(capabilitySets(readFileSync(`/proc/${restored}/status`, 'utf8'))).toMatchObject({
        CapPrm: GRANTED_CAPABILITIES,
        CapEff: GRANTED_CAPABILITIES,
        CapAmb: GRANTED_CAPABILITIES,
      });
      writeFileSync(report, '');
      expect(await nextReport(report)).toMatchObject({ CapEff: GRANTED_CAPABILITIES, CapAmb: GRANTED_CAPABILITIES });
    } finally {
      if (restored) process.kill(restored, 'SIGKILL');
      for (const pid of descendants(shell.pid as number)) process.kill(pid, 'SIGKILL');
      shell.kill('SIGKILL');
    }
  });

  it('root is warned of a CRIU granted to every user', async () => {
    const check = await finished(crac(['check', '--json'], { env: { CRAC_CRIU_PATH: criu.everyone } }));
    const [report] = check.events as unknown as [CheckReport];
    expect(checkNamed(report, 'capability grant'), check.output).toMatchObject({
      ok: false,
      optional: true,
      detail: expect.stringContaining('every user may run it'),
      fix: expect.stringContaining(`restricts it to the group ${CRIU_GROUP}`),
    });
    expect(checkNamed(report, 'privileges')?.detail).toContain('every user can checkpoint and restore too');
  });

  it("a user outside the group may not run the group's CRIU: crac check, checkpoint and restore say so, and how to join", async () => {
    const port = await freePort();
    const image = join(home, 'image-outside');
    const env = { CRAC_CRIU_PATH: criu.granted, PORT: String(port) };
    const warmup = `curl -sf --retry 30 --retry-connrefused --retry-delay 0 http://127.0.0.1:${port}/`;
    // a member makes the image
    const checkpoint = await finished(asUser(['checkpoint', '--to', image, '--warmup', warmup, '--', process.execPath, 'server.cjs'], env));
    expect(checkpoint.code, checkpoint.output).toBe(0);
    // the kernel refuses the binary itself
    const direct = criuAsUser(criu.granted, ['--version'], { inGroup: false });
    expect(direct.status, direct.stdout).toBe(126);
    expect(direct.stderr).toContain('Permission denied');

    const refusal = new RegExp(
      `\\[CRAC_EUNPRIVILEGED\\] uid ${user.uid} may not run CRIU at ${criu.granted} \\(group ${CRIU_GROUP}, mode 750\\).*usermod -aG ${CRIU_GROUP} <user>`,
    );
    const check = await finished(asUser(['check', '--json'], env, { inGroup: false }));
    const [report] = check.events as unknown as [CheckReport];
    expect(checkNamed(report, 'criu'), check.output).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`may not run CRIU at ${criu.granted}`),
      fix: `as root: usermod -aG ${CRIU_GROUP} ${USER}`,
    });

    const again = await finished(
      asUser(['checkpoint', '--to', join(home, 'image-outside-2'), '--', process.execPath, 'server.cjs'], env, { inGroup: false }),
    );
    expect(again.code).not.toBe(0);
    expect(again.output).toMatch(refusal);

    const restore = await finished(asUser(['restore', image], env, { inGroup: false }));
    expect(restore.code).toBe(125);
    expect(restore.output).toMatch(refusal);
    expect(restore.output).not.toMatch(/crac: restore /);
  });
});
