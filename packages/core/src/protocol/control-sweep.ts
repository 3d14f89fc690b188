import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { removeAside } from '../fs-aside.js';
import { controlDir } from './control-socket.js';

/** Options of {@link sweepControlDir}. */
export interface SweepOptions {
  /**
   * A socket of another pid namespace is judged only once this old (ms): until then it may be one
   * bound a moment ago that does not listen yet. Default 10 s.
   */
  minAgeMs?: number;
}

/** `<pid namespace inode>-<pid there>.sock` or `.held` (see controlSocketPath and heldMarkerPath). */
const ENTRY = /^(\d+)-(\d+)\.(sock|held)$/;

/**
 * Removes from this user's control directory the sockets and hold markers of processes that are
 * gone. An app ended by SIGKILL, by its dump or by a crash never removes its own, and they would
 * pile up (and mislead a requester once the pid is reused). Only what is this user's and named as
 * crac names them is looked at:
 * - of this pid namespace: removed when no process has that pid in it;
 * - of another (a restored copy's): a socket no process has bound (absent from /proc/net/unix,
 *   and a connection refused) once it is {@link SweepOptions.minAgeMs} old; its marker is left.
 * Run by the CLI (`crac checkpoint`), not by the app: it stays off the start-up path.
 * @returns the names removed.
 *
 * @example
 * ```ts
 * const removed = await sweepControlDir();
 * if (removed.length) console.log(`removed ${removed.length} control sockets of ended processes`);
 * ```
 */
export async function sweepControlDir(env: NodeJS.ProcessEnv = process.env, { minAgeMs = 10_000 }: SweepOptions = {}): Promise<string[]> {
  const dir = controlDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // none yet
  }
  const ownNamespace = namespaceOf('self');
  const uid = process.getuid?.();
  const bound = boundPaths();
  const removed: string[] = [];
  for (const name of names) {
    const match = ENTRY.exec(name);
    if (!match) continue;
    const [, namespace, pid, kind] = match;
    const path = join(dir, name);
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // removed meanwhile
    }
    if (stat.uid !== uid || !(kind === 'sock' ? stat.isSocket() : stat.isFile())) continue;
    const gone =
      namespace === ownNamespace
        ? namespaceOf(Number(pid)) !== ownNamespace
        : kind === 'sock' && Date.now() - stat.mtimeMs >= minAgeMs && !bound.has(path) && (await refused(path));
    if (!gone) continue;
    removeAside(path);
    removed.push(name);
  }
  return removed;
}

/** The inode of the pid namespace of `pid`, or undefined when there is no such process. */
function namespaceOf(pid: number | 'self'): string | undefined {
  try {
    return /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1];
  } catch {
    return undefined;
  }
}

/** The paths of the unix sockets bound in this network namespace (listening or not). */
function boundPaths(): Set<string> {
  const paths = new Set<string>();
  try {
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path
      const path = line.trim().split(/\s+/)[7];
      if (path) paths.add(path);
    }
  } catch {
    // no /proc/net/unix: the connection decides alone
  }
  return paths;
}

/** Whether a connection to the socket at `path` is refused: nothing listens on it. */
function refused(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
