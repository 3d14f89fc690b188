import { spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, realpathSync, type Stats } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { CracError, ErrorCode } from '../../errors.js';
import { describeMode, describeOwner, directoryUnsafety, fileUnsafety } from '../../image/ownership.js';
import { criuCapabilityStatus, grantCapabilitiesCommand, UNPRIVILEGED_CRIU_CAPABILITIES, type XattrReader } from './capabilities.js';

/** Options of {@link grantCriuCapabilities}. */
export interface GrantOptions {
  /** The `setcap` program; default: the first of /usr/sbin, /sbin and PATH that has it. */
  setcap?: string;
  /** Reads the result back (tests); default: the native bridge. */
  readXattr?: XattrReader;
}

/** What {@link grantCriuCapabilities} did. */
export interface GrantResult {
  /** The CRIU binary, links resolved: the file that now carries the capabilities. */
  path: string;
  /** The capabilities it grants now. */
  capabilities: string[];
  /** The command that was run. */
  command: string;
}

/**
 * Grants the CRIU binary at `criuPath` the file capabilities a non-root user's checkpoint and
 * restore need ({@link UNPRIVILEGED_CRIU_CAPABILITIES}), with `setcap`, as root. Whoever can
 * replace that file or rename a directory above it could swap in a program of their own that runs
 * with them: so it, and every directory up to `/`, must be root's and writable by nobody else (a
 * sticky directory like /tmp is accepted above an entry of root's). Every user who can execute it
 * can then checkpoint and restore their own processes; restrict who can execute it (a group,
 * mode 0750) to narrow that. Replacing the file (a new CRIU build) drops the capabilities: grant again.
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
  return { path, capabilities: status.capabilities.permitted, command: `${setcap} ${spec} ${path}` };
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
  const dirs = ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(delimiter).filter(isAbsolute)];
  for (const dir of dirs) {
    const candidate = join(dir, 'setcap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  throw new CracError(
    ErrorCode.ENGINE_UNAVAILABLE,
    'setcap is not installed: apt-get install libcap2-bin (Debian, Ubuntu), or libcap elsewhere',
  );
}
