import { spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CracError, ErrorCode } from '../../errors.js';

/** Where `crac setup` builds CRIU when no usable one is installed (@crac/cli's scripts/setup-criu.sh). */
export const DEFAULT_CRIU_PATH = '/usr/local/libexec/crac/criu';
/** The environment variable naming another CRIU binary. */
export const CRIU_PATH_ENV = 'CRAC_CRIU_PATH';
/** Oldest CRIU that dumps TCP sockets on Linux 6.16+. */
export const MIN_CRIU_VERSION = [4, 2] as const;

/** A usable CRIU binary. */
export interface CriuBinary {
  /** Absolute: CRIU is always run by the path chosen here, never looked up again. */
  path: string;
  version: string;
  /** Where it was found: `CRAC_CRIU_PATH`, the default path, or `criu` on PATH. */
  from: 'env' | 'default' | 'path';
}

/** The fix when no usable CRIU is found, for an app that installed the packages. */
export const CRIU_FIX = `install CRIU 4.2 or newer with \`npx crac setup\` (as root; the command of @crac/cli), or set ${CRIU_PATH_ENV} to one`;

/** What running `path --version` says: a usable CRIU, or why not. */
function probe(path: string, from: CriuBinary['from']): CriuBinary | string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `no executable CRIU at ${path}`;
  }
  const run = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const version = /Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(run.stdout ?? '');
  if (!version) return `${path} --version did not print a CRIU version`;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  const text = version.slice(1).filter(Boolean).join('.');
  if (major < MIN_CRIU_VERSION[0] || (major === MIN_CRIU_VERSION[0] && minor < MIN_CRIU_VERSION[1])) {
    return `CRIU ${text} at ${path} is too old (4.2 or newer is needed)`;
  }
  return { path, version: text, from };
}

/**
 * Where a distribution installs CRIU, also when PATH lacks them: a user's PATH on Debian has no
 * sbin directory, root's has.
 */
export const SBIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** `criu` in each directory of PATH then the sbin directories, absolute, each file once (/sbin and /usr/sbin are often one). */
function criuOnPath(pathVariable: string | undefined, sbinDirs: readonly string[]): string[] {
  const found = new Map<string, string>();
  for (const dir of [...(pathVariable ?? '').split(':'), ...sbinDirs]) {
    // relative PATH entries would make the choice depend on the working directory
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, 'criu');
    try {
      const real = realpathSync(candidate);
      if (!found.has(real)) found.set(real, candidate);
    } catch {
      // none there
    }
  }
  return [...found.values()];
}

/**
 * Finds the CRIU binary crac-node uses, 4.2 or newer: `CRAC_CRIU_PATH` when it is set (and
 * nothing else then), else {@link DEFAULT_CRIU_PATH}, else `criu` on PATH or in an sbin
 * directory (a distribution's package). An older CRIU is
 * passed over (Debian 12's 3.17 fails on new kernels; 4.1 cannot dump TCP sockets on 6.16+).
 * @throws {@link CracError} `CRAC_EENGINE` saying what was found, and the fix ({@link CRIU_FIX}).
 */
export function findCriu(
  env: NodeJS.ProcessEnv = process.env,
  { defaultPath = DEFAULT_CRIU_PATH, sbinDirs = SBIN_DIRS }: { defaultPath?: string; sbinDirs?: readonly string[] } = {},
): CriuBinary {
  const configured = env[CRIU_PATH_ENV];
  const candidates: [string, CriuBinary['from']][] = configured
    ? [[configured, 'env']]
    : [[defaultPath, 'default'], ...criuOnPath(env.PATH, sbinDirs).map((path): [string, CriuBinary['from']] => [path, 'path'])];
  const refused: string[] = [];
  for (const [path, from] of candidates) {
    const found = probe(path, from);
    if (typeof found !== 'string') return found;
    // the default path missing is said once below, not as a reason
    if (!(from === 'default' && found.startsWith('no executable'))) refused.push(found);
  }
  const what = configured
    ? refused.join('; ')
    : `no CRIU 4.2 or newer at ${defaultPath} or on PATH${refused.length > 0 ? ` (${refused.join('; ')})` : ''}`;
  throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `${what}: ${CRIU_FIX}`);
}

/** The environment variable that bounds how long a dump may wait for CRIU's answer, in ms. */
export const CRIU_TIMEOUT_ENV = 'CRAC_CRIU_TIMEOUT_MS';

/**
 * How long a dump waits for CRIU's answer before it stops CRIU and fails (the app is given back
 * what it released and runs on): `CRAC_CRIU_TIMEOUT_MS`, else the native default (120 s).
 * @throws {@link CracError} `CRAC_EINVAL` for a value that is not a positive whole number of ms.
 */
export function criuTimeoutMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[CRIU_TIMEOUT_ENV];
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0 || ms > 86_400_000) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `${CRIU_TIMEOUT_ENV}=${value} is not a positive number of milliseconds`);
  }
  return ms;
}
