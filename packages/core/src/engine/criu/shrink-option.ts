import { CracError, ErrorCode } from '../../errors.js';

/** The environment variable that turns the shrink off (`0`) or on (`1`) when the caller says nothing. */
export const SHRINK_ENV = 'CRAC_SHRINK';

const OFF = new Set(['0', 'false', 'off', 'no']);
const ON = new Set(['1', 'true', 'on', 'yes']);

/**
 * Whether to shrink the process before the dump: the option, else `CRAC_SHRINK`, else on.
 * @throws {@link CracError} `CRAC_EINVAL` when `CRAC_SHRINK` is neither on (`1`, `true`, `on`,
 * `yes`) nor off (`0`, `false`, `off`, `no`).
 */
export function resolveShrink(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option;
  const value = env[SHRINK_ENV]?.trim().toLowerCase();
  if (value === undefined || value === '') return true;
  if (OFF.has(value)) return false;
  if (ON.has(value)) return true;
  throw new CracError(ErrorCode.INVALID_ARGUMENT, `${SHRINK_ENV}=${env[SHRINK_ENV]} is not understood: use 1 (shrink, the default) or 0`);
}
