import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** O_CLOEXEC in the octal `flags:` line of /proc/PID/fdinfo/FD. */
const O_CLOEXEC = 0o2000000;

/** One open file descriptor, as /proc shows it. */
export interface OpenFd {
  readonly fd: number;
  /** The link target: a path, `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]`... */
  readonly target: string;
  /**
   * Whether it lacks close-on-exec. libuv opens everything close-on-exec: a descriptor without it
   * (above stdio) came from the parent process (or from a native addon).
   */
  readonly inherited: boolean;
  /** The rest of /proc/PID/fdinfo/FD (`inotify wd:` lines, `tfd:` lines of an epoll...). */
  readonly info: string;
}

/**
 * Lists the open descriptors of a process (this one by default). Descriptors closed while the
 * directory is read are skipped.
 */
export function listOpenFds(pid: number | 'self' = 'self'): OpenFd[] {
  const dir = `/proc/${pid}/fd`;
  const fds: OpenFd[] = [];
  for (const name of readdirSync(dir)) {
    const fd = Number(name);
    let target: string;
    let info: string;
    try {
      target = readlinkSync(`${dir}/${name}`);
      info = readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8');
    } catch {
      continue; // closed meanwhile (the directory listing itself, for one)
    }
    const flags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    fds.push({ fd, target, inherited: fd > 2 && (flags & O_CLOEXEC) === 0, info });
  }
  return fds.sort((a, b) => a.fd - b.fd);
}

/** The descriptors registered in the epoll instances among `fds` (what some event loop watches). */
export function watchedByEpoll(fds: readonly OpenFd[]): Set<number> {
  const watched = new Set<number>();
  for (const open of fds) {
    if (open.target !== 'anon_inode:[eventpoll]') continue;
    for (const match of open.info.matchAll(/^tfd:\s*(\d+)/gm)) watched.add(Number(match[1]));
  }
  return watched;
}

/** The inode inside `socket:[123]`, `pipe:[123]`; undefined for other targets. */
export function inodeOf(target: string, type: 'socket' | 'pipe'): number | undefined {
  const match = new RegExp(`^${type}:\\[(\\d+)\\]$`).exec(target);
  return match ? Number(match[1]) : undefined;
}
