import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { CracError, ErrorCode } from '../../errors.js';

/** Where `scripts/setup-criu.sh` installs CRIU; never `criu` from PATH (Debian 12's 3.17 fails on new kernels). */
export const DEFAULT_CRIU_PATH = '/usr/local/libexec/crac/criu';
/** The environment variable naming another CRIU binary. */
export const CRIU_PATH_ENV = 'CRAC_CRIU_PATH';
/** Oldest CRIU that dumps TCP sockets on Linux 6.16+. */
export const MIN_CRIU_VERSION = [4, 2] as const;

/** A usable CRIU binary. */
export interface CriuBinary {
  path: string;
  version: string;
}

const HOW_TO_FIX = `install CRIU 4.2 or newer with \`bash scripts/setup-criu.sh\` (from the crac-node repository) or set ${CRIU_PATH_ENV}`;

/**
 * Finds the CRIU binary crac-node uses: `CRAC_CRIU_PATH`, else {@link DEFAULT_CRIU_PATH}.
 * @throws {@link CracError} `CRAC_EENGINE` when it is missing, not executable or too old.
 */
export function findCriu(env: NodeJS.ProcessEnv = process.env): CriuBinary {
  const path = env[CRIU_PATH_ENV] || DEFAULT_CRIU_PATH;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `no executable CRIU at ${path}: ${HOW_TO_FIX}`);
  }
  const run = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const version = /Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(run.stdout ?? '');
  if (!version) {
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `${path} --version did not print a CRIU version: ${HOW_TO_FIX}`);
  }
  const [major, minor] = [Number(version[1]), Number(version[2])];
  const text = version.slice(1).filter(Boolean).join('.');
  if (major < MIN_CRIU_VERSION[0] || (major === MIN_CRIU_VERSION[0] && minor < MIN_CRIU_VERSION[1])) {
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `CRIU ${text} at ${path} is too old (4.2 or newer is needed): ${HOW_TO_FIX}`);
  }
  return { path, version: text };
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
