import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, lstatSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { CracError, ErrorCode } from '../../errors.js';
import { describeMode, describeOwner, directoryUnsafety, fileUnsafety } from '../../image/ownership.js';
import {
  CRIU_GROUP,
  criuCapabilityStatus,
  grantCapabilitiesCommand,
  UNPRIVILEGED_CRIU_CAPABILITIES,
  type XattrReader,
} from './capabilities.js';

/** Where root's programs are looked for. */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Options of {@link grantCriuCapabilities}. */
export interface GrantOptions {
  /** The `setcap` program; default: the first of /usr/sbin, /usr/bin, /sbin and /bin that has it. */
  setcap?: string;
  /** Reads the result back (tests); default: the native bridge. */
  readXattr?: XattrReader;
  /** Gives the binary its group and mode (tests); default: {@link restrictToCriuGroup}. */
  restrict?: (path: string) => string;
}

/** What {@link grantCriuCapabilities} did. */
export interface GrantResult {
  /** The CRIU binary, links resolved: the file that now carries the capabilities. */
  path: string;
  /** The capabilities it grants now. */
  capabilities: string[];
  /** The group that may run it now (mode 0750): {@link CRIU_GROUP}. */
  group: string;
  /** The command that was run. */
  command: string;
}

/**
 * Grants the CRIU binary at `criuPath` the file capabilities a non-root user's checkpoint and
 * restore need ({@link UNPRIVILEGED_CRIU_CAPABILITIES}), with `setcap`, as root. Whoever can
 * replace that file or rename a directory above it could swap in a program of their own that runs
 * with them: so it, and every directory up to `/`, must be root's and writable by nobody else (a
 * sticky directory like /tmp is accepted above an entry of root's). The binary becomes
 * `root:crac`, mode 0750 ({@link CRIU_GROUP}, created when missing): whoever runs it can keep both
 * capabilities in a restored process of their own, so only that group's members can. Replacing the
 * file (a new CRIU build) drops the capabilities: grant again.
 *
 * @example
 * ```ts
 * // a setup step, as root
 * const { path, group } = grantCriuCapabilities(findCriu().path);
 * console.log(`${path}: the members of ${group} checkpoint and restore without root`);
 * ```
 *
 * @throws {@link CracError} `CRAC_EUNPRIVILEGED` when not root; `CRAC_EINVAL` when the path or a
 *   parent is not root's alone; `CRAC_EENGINE` when setcap is missing or fails; `CRAC_ECRIU_CAPS`
 *   when the capabilities read back are not the ones granted.
 */
export function grantCriuCapabilities(criuPath: string, options: GrantOptions = {}): GrantResult {
  if ((process.geteuid?.() ?? 0) !== 0) {
    throw new CracError(
      ErrorCode.UNPRIVILEGED,
      `granting capabilities to ${criuPath} needs root: run \`${grantCapabilitiesCommand(criuPath)}\` as root`,
    );
  }
  if (!isAbsolute(criuPath)) throw new CracError(ErrorCode.INVALID_ARGUMENT, `${criuPath} is not an absolute path`);
  const path = realpathSync(criuPath);
  assertOnlyRootCanReplace(path);
  const setcap = options.setcap ?? findSetcap();
  // before setcap: a change of owner or group clears file capabilities
  const group = (options.restrict ?? restrictToCriuGroup)(path);
  const spec = `${UNPRIVILEGED_CRIU_CAPABILITIES.map(({ name }) => name).join(',')}+ep`;
  const run = spawnSync(setcap, [spec, path], { encoding: 'utf8' });
  if (run.status !== 0) {
    const why = run.error?.message ?? (`${run.stderr}`.trim() || `exit code ${run.status ?? run.signal}`);
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `${setcap} ${spec} ${path} failed: ${why}`);
  }
  const status = criuCapabilityStatus(path, options.readXattr);
  if (status.missing.length > 0 || !status.capabilities) {
    throw new CracError(
      ErrorCode.CRIU_CAPABILITIES,
      `${path} still lacks ${status.missing.map(({ name }) => name).join(', ')} after setcap (a file system without extended attributes, or mounted nosuid?)`,
    );
  }
  return { path, capabilities: status.capabilities.permitted, group, command: `${setcap} ${spec} ${path}` };
}

/**
 * Makes the CRIU binary at `path` root's and {@link CRIU_GROUP}'s, mode 0750, creating that
 * (system) group when it is missing: only root and the group's members can run it. As root.
 * Changing the group clears the file's capabilities: grant them after.
 * @returns the group's name.
 * @throws {@link CracError} `CRAC_EINVAL` when `path` is no regular file; `CRAC_EENGINE` when the
 *   group can be neither found nor created.
 */
export function restrictToCriuGroup(path: string): string {
  if (!binaryStat(path).isFile()) throw new CracError(ErrorCode.INVALID_ARGUMENT, `${path} is not a regular file`);
  const gid = groupId(CRIU_GROUP) ?? createGroup(CRIU_GROUP);
  chownSync(path, 0, gid);
  chmodSync(path, 0o750);
  return CRIU_GROUP;
}

/** The stat of the CRIU binary at `path` (links followed). @throws {@link CracError} `CRAC_EINVAL` when there is none. */
function binaryStat(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `no CRIU binary at ${path}: ${(error as Error).message}`);
  }
}

/** Who, besides root, may run a CRIU binary. */
export interface CriuRunners {
  /** Every user: others may execute it. */
  everyone: boolean;
  /** The group whose members may execute it (its name, else its id), when the group may. */
  group?: string;
}

/** Who besides root may run the CRIU binary at `path` (links followed), from its mode. @throws {@link CracError} `CRAC_EINVAL` when there is none. */
export function whoMayRunCriu(path: string): CriuRunners {
  const { mode, gid } = binaryStat(path);
  if (!(mode & 0o010)) return { everyone: Boolean(mode & 0o001) };
  const found = spawnSync(findProgram('getent', 'libc-bin'), ['group', String(gid)], { encoding: 'utf8' });
  return { everyone: Boolean(mode & 0o001), group: (found.status === 0 && found.stdout.split(':')[0]) || String(gid) };
}

/** The id of group `name` (through NSS: `getent`), or undefined when there is none. */
function groupId(name: string): number | undefined {
  const found = spawnSync(findProgram('getent', 'libc-bin'), ['group', name], { encoding: 'utf8' });
  const gid = Number(found.stdout.split(':')[2]);
  return found.status === 0 && Number.isInteger(gid) ? gid : undefined;
}

function createGroup(name: string): number {
  const groupadd = findProgram('groupadd', 'passwd (Debian, Ubuntu), shadow-utils elsewhere');
  const run = spawnSync(groupadd, ['-f', '--system', name], { encoding: 'utf8' });
  const gid = groupId(name);
  if (gid === undefined) {
    const why = run.error?.message ?? (`${run.stderr}`.trim() || `exit code ${run.status ?? run.signal}`);
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `cannot create the group ${name} for CRIU (${groupadd} -f --system ${name}): ${why}`);
  }
  return gid;
}

/**
 * The file and each directory above it: root's, writable by nobody else (sticky directories
 * above an entry of root's excepted), so that no user can swap the binary that gets the capabilities.
 */
function assertOnlyRootCanReplace(path: string): void {
  const file = lstatSync(path);
  if (!file.isFile()) throw new CracError(ErrorCode.INVALID_ARGUMENT, `${path} is not a regular file`);
  if (fileUnsafety(file, 0)) refuse(path, file, path);
  let below: Stats = file;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stat = lstatSync(dir);
    if (directoryUnsafety(stat, 0, below)) refuse(dir, stat, path);
    if (dir === '/') return;
    below = stat;
  }
}

function refuse(what: string, stat: Stats, binary: string): never {
  const where = what === binary ? what : `${what} (above ${binary})`;
  throw new CracError(
    ErrorCode.INVALID_ARGUMENT,
    `${where} is not root's alone (owner ${describeOwner(stat.uid)}, ${describeMode(stat.mode)}): another user could replace the binary that would get the capabilities; install CRIU where only root can write (the default /usr/local/libexec/crac) and grant there`,
  );
}

function findSetcap(): string {
  return findProgram('setcap', 'libcap2-bin (Debian, Ubuntu), libcap elsewhere');
}

/** Root's `program`, from the system's directories: never from PATH, which a user may have set for root (`sudo -E`). */
function findProgram(program: string, packages: string): string {
  for (const dir of SYSTEM_DIRS) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `${program} is not installed in ${SYSTEM_DIRS.join(', ')}: install ${packages}`);
}
