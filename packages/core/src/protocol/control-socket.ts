import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { processTree } from './processes.js';

/**
 * The private directory (0700) holding one control socket per process that accepts
 * checkpoint requests: only its owner (and root) can ask for a checkpoint. In
 * `$CRAC_RUNTIME_DIR`, `$XDG_RUNTIME_DIR` or the temporary directory; as root, in one of the
 * first two only when root alone can change it (it and every directory above it), and never in
 * `$TMPDIR`: a user who set those for root would receive its requests.
 */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.();
  const chosen = [env.CRAC_RUNTIME_DIR, env.XDG_RUNTIME_DIR].find((dir) => dir && (uid !== 0 || rootsAlone(dir)));
  return join(chosen ?? (uid === 0 ? '/tmp' : tmpdir()), `crac-${uid ?? 'user'}`);
}

/** `dir` and every directory above it are root's and writable by nobody else (sticky ones, like /tmp, excepted). */
function rootsAlone(dir: string): boolean {
  for (let path = resolve(dir); ; path = dirname(path)) {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      return false;
    }
    const othersWrite = (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0;
    if (!stat.isDirectory() || stat.uid !== 0 || othersWrite) return false;
    if (path === dirname(path)) return true;
  }
}

/**
 * Makes sure the control directory is this user's own: created 0700 when missing, refused when
 * it is a link, belongs to someone else or others can enter it (another user who created
 * `/tmp/crac-0` first would otherwise receive root's requests, or stall them).
 * @throws {@link CracError} `CRAC_ETRIGGER` naming the directory and the fix.
 */
export function ensureControlDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = controlDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new CracError(
      ErrorCode.TRIGGER,
      `the control directory ${dir} is not private to uid ${uid} (${stat.isDirectory() ? `owner ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}` : 'not a directory'}): remove it, or set CRAC_RUNTIME_DIR to a directory of your own`,
    );
  }
  return dir;
}

/** The longest line either side of the control socket accepts (requests and replies are small). */
export const MAX_CONTROL_LINE = 64 * 1024;

/**
 * Calls `onLine` for each line received on `socket`; a line longer than `maxLength` bytes (of
 * UTF-8, as PROTOCOL.md counts it) ends the connection, and neither it nor any line after it is
 * delivered (a peer that never sends a newline cannot make this process buffer without end).
 */
export function readLines(socket: Socket, maxLength: number, onLine: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      // a line can end in the chunk that made it too long: checking only the rest let it through (found by fuzzing)
      if (Buffer.byteLength(line) > maxLength) return void socket.destroy();
      onLine(line);
    }
    // characters first: a string never has more of them than its UTF-8 has bytes
    if (buffered.length > maxLength || Buffer.byteLength(buffered) > maxLength) socket.destroy();
  });
}

/** A process: its pid as this process sees it, or `self`. */
export type ProcessRef = number | 'self';

/**
 * Process `pid` as its own pid namespace names it, `<namespace inode>-<pid there>`: copies of one
 * image restored side by side have the same pid, each in a namespace of its own, and must not
 * share a control socket (nor take the original's). Throws ENOENT when the process is gone.
 */
export function namespacedPid(pid: ProcessRef): string {
  const namespace = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1] ?? '0';
  if (pid === 'self') return `${namespace}-${process.pid}`;
  // NSpid: the pid in each namespace the process is in, outermost first
  const nspid = /^NSpid:\s*(.+)$/m
    .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    ?.trim()
    .split(/\s+/);
  return `${namespace}-${nspid?.at(-1) ?? pid}`;
}

/** The control socket of process `pid` (see {@link namespacedPid}). */
export function controlSocketPath(pid: ProcessRef, env: NodeJS.ProcessEnv = process.env): string {
  return join(controlDir(env), `${namespacedPid(pid)}.sock`);
}

/**
 * The file process `pid` writes beside its socket while it holds for a container engine's dump
 * (a `prepare` request): it holds the request's id. Removed when the hold ends.
 */
export function heldMarkerPath(pid: ProcessRef, env: NodeJS.ProcessEnv = process.env): string {
  return join(controlDir(env), `${namespacedPid(pid)}.held`);
}

/** The version of the control protocol: every request carries it; another version is refused. */
export const CONTROL_PROTOCOL = 1;

/** A request sent to a process's control socket (one JSON line). See PROTOCOL.md. */
export type ControlRequest = { protocol: typeof CONTROL_PROTOCOL; id: string } & (
  | { command: 'checkpoint'; imagesDir?: string; leaveRunning?: boolean }
  /** Release every resource, then hold for a container engine's dump (an external checkpoint). */
  | { command: 'prepare'; holdMs?: number }
  | { command: 'status' }
);

/** What the process answers (JSON lines). */
export type ControlReply =
  | { event: 'accepted'; id: string }
  /** Sent as the control socket closes for the dump: where the image goes, to look for its seal. */
  | { event: 'dumping'; id: string; imagesDir?: string }
  | { event: 'settled'; id: string; outcome?: string; error?: { code?: string; message: string } }
  | { event: 'unknown'; id: string }
  | { event: 'refused'; id: string; error: { code?: string; message: string } };

/** The longest request id accepted (the CLI's are UUIDs). */
const MAX_REQUEST_ID = 128;
/** The longest hold a `prepare` request may ask for: a day. */
const MAX_HOLD_MS = 24 * 60 * 60 * 1000;

/**
 * Reads one request line; undefined when it is not a request of this protocol (an empty or
 * over-long id, a field of the wrong type, a hold longer than a day). Only the known fields are kept.
 */
export function parseControlRequest(line: string): ControlRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const request = value as Partial<ControlRequest>;
  // a request's id is never empty: a refusal of a line that is no request at all answers with id ''
  const { protocol, id } = request;
  if (protocol !== CONTROL_PROTOCOL || typeof id !== 'string' || id.length === 0 || id.length > MAX_REQUEST_ID) return undefined;
  if (request.command === 'status') return { protocol, id, command: 'status' };
  if (request.command === 'prepare') {
    const { holdMs } = request as { holdMs?: unknown };
    if (holdMs === undefined) return { protocol, id, command: 'prepare' };
    // a timer longer than 2^31 - 1 ms would fire at once (Node's setTimeout)
    if (!(typeof holdMs === 'number' && Number.isFinite(holdMs) && holdMs > 0 && holdMs <= MAX_HOLD_MS)) return undefined;
    return { protocol, id, command: 'prepare', holdMs };
  }
  if (request.command !== 'checkpoint') return undefined;
  const { imagesDir, leaveRunning } = request as { imagesDir?: unknown; leaveRunning?: unknown };
  if (imagesDir !== undefined && typeof imagesDir !== 'string') return undefined;
  if (leaveRunning !== undefined && typeof leaveRunning !== 'boolean') return undefined;
  // only the known fields go on
  return {
    protocol,
    id,
    command: 'checkpoint',
    ...(imagesDir === undefined ? {} : { imagesDir }),
    ...(leaveRunning === undefined ? {} : { leaveRunning }),
  };
}

/**
 * Set by `crac checkpoint` to its own pid in the environment of the command it starts: ancestors
 * from that pid up do not count in {@link hasCoordinatedAncestor} (a CLI run with the preload in a
 * global `NODE_OPTIONS` listens too, and the app under it must still listen).
 */
export const LAUNCHER_PID_ENV = 'CRAC_LAUNCHER_PID';

/**
 * Whether this process should listen for checkpoint requests: it is not a package manager (npm,
 * pnpm, yarn, npx, corepack: `crac checkpoint -- npm start` checkpoints the app npm starts, not
 * npm) and none of its ancestors below `crac checkpoint` listens (see {@link hasCoordinatedAncestor}).
 */
export function listensForRequests(env: NodeJS.ProcessEnv = process.env): boolean {
  return !isPackageManager() && !hasCoordinatedAncestor(env);
}

/** Script names of the package managers that start apps (`npm start`, `pnpm start`, `yarn start`, `npx app`). */
const PACKAGE_MANAGERS = new Set(['npm', 'npx', 'npm-cli', 'npx-cli', 'pnpm', 'pnpx', 'yarn', 'yarnpkg', 'corepack']);

/**
 * Whether this Node process is a package manager running a script: it inherited the preload
 * like the app it starts, and must stay out of the way (no control socket, no resources).
 */
export function isPackageManager(argv: readonly string[] = process.argv, execPath = process.execPath): boolean {
  const script = argv[1] ?? '';
  // a yarn release kept in the project (.yarn/releases/yarn-4.5.0.cjs), or a single-executable pnpm
  if (/\/\.yarn\/releases\/yarn-[^/]*\.c?js$/.test(script) || PACKAGE_MANAGERS.has(basename(execPath))) return true;
  return PACKAGE_MANAGERS.has(basename(script).replace(/\.[cm]?js$/, ''));
}

/**
 * Whether an ancestor of this process listens on a control socket: this process is then a Node
 * child of a coordinated app that inherited the preload through `NODE_OPTIONS`. It is dumped with
 * the app's tree, so it must not listen itself: a socket listening through the dump makes the image
 * unrestorable beside the running original (CRIU cannot bind its name again). The walk stops at
 * `crac checkpoint` ({@link LAUNCHER_PID_ENV}).
 */
export function hasCoordinatedAncestor(env: NodeJS.ProcessEnv = process.env): boolean {
  const launcher = Number(env[LAUNCHER_PID_ENV] ?? 0);
  let pid = process.ppid;
  for (let depth = 0; pid > 1 && pid !== launcher && depth < 64; depth++) {
    try {
      const path = controlSocketPath(pid, env);
      // a file alone may be a dead process's that had this pid
      if (existsSync(path) && listensOn(pid, path)) return true;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false; // gone, or another user's: no coordinated app of ours above
    }
  }
  return false;
}

/**
 * The process of the tree under `root` (`root` first, then its descendants, parents first) that
 * listens for checkpoint requests: the app that `crac checkpoint -- npm start` started under
 * npm and `sh`. Undefined while none does.
 */
export function findCoordinatedProcess(root: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  for (const pid of processTree(root)) {
    try {
      const path = controlSocketPath(pid, env);
      if (existsSync(path) && listensOn(pid, path)) return pid;
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

/** Whether process `pid` holds the unix socket listening on `path` (from /proc/net/unix and its descriptors). */
function listensOn(pid: number, path: string): boolean {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000: listening
    const fields = line.trim().split(/\s+/);
    if (fields[7] === path && fields[3] === '00010000') inodes.add(`socket:[${fields[6]}]`);
  }
  if (inodes.size === 0) return false;
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      return false;
    }
  });
}
