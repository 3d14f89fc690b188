import { CracError, ErrorCode } from '../../errors.js';
import { loadNative } from './native.js';

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

/**
 * Where a distribution installs CRIU, also when PATH lacks them: a user's PATH on Debian has no
 * sbin directory, root's has.
 */
export const SBIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Finds the CRIU binary crac-node uses, 4.2 or newer: `CRAC_CRIU_PATH` when it is set (and
 * nothing else then), else {@link DEFAULT_CRIU_PATH}, else `criu` on PATH or in an sbin
 * directory (a distribution's package). An older CRIU is
 * passed over (Debian 12's 3.17 fails on new kernels; 4.1 cannot dump TCP sockets on 6.16+).
 * The search is the native one (crac.node's `findCriu`, the code crac-restore runs): these
 * constants are its definitions (native/definitions.mjs writes them into `crac/criu.h`).
 * @throws {@link CracError} `CRAC_EENGINE` saying what was found, and the fix ({@link CRIU_FIX}).
 */
export function findCriu(
  env: NodeJS.ProcessEnv = process.env,
  { defaultPath = DEFAULT_CRIU_PATH, sbinDirs = SBIN_DIRS }: { defaultPath?: string; sbinDirs?: readonly string[] } = {},
): CriuBinary {
  const configured = env[CRIU_PATH_ENV] || undefined;
  return loadNative().findCriu({ configured, defaultPath, path: env.PATH, sbinDirs: [...sbinDirs] });
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
