import { CracError, ErrorCode } from '../errors.js';

/** What `typeof` says of a member. */
export type MemberType = 'function' | 'number' | 'string' | 'boolean' | 'object';

/**
 * Checks that `value` is the object an adapter knows: each member (a dotted path reaches into a
 * nested object) has the given `typeof`. Returns `value` as what the adapter reads of it, or
 * throws `CRAC_EINVAL` with `refusal`, which should name what the adapter takes.
 *
 * @example
 * ```ts
 * const internals = expectShape<PoolInternals>(pool, { acquire: 'function', '_config.min': 'number' }, 'cracThing() takes a thing pool');
 * ```
 */
export function expectShape<T>(value: unknown, members: Record<string, MemberType>, refusal: string): T {
  const has = (path: string, type: MemberType) => {
    let at = value;
    for (const part of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
    return typeof at === type;
  };
  if (value === null || typeof value !== 'object' || !Object.entries(members).every(([path, type]) => has(path, type))) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, refusal);
  }
  return value as T;
}
