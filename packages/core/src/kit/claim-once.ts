const CLAIMS = Symbol.for('@crac/core/claims');

interface Claimed {
  [CLAIMS]?: Map<string, unknown>;
}

/**
 * Remembers that an adapter took charge of `target`, so that wrapping the same pool or client
 * twice does not register it twice. Returns what the first claim stored, or `undefined` (and
 * stores `value`) when `target` was not claimed under `tag` yet. Kept on the object itself
 * under a global symbol, so two copies of @crac/core in one process agree.
 *
 * @example
 * ```ts
 * const previous = claimOnce(pool, '@crac/pg', state);
 * if (previous) return pool; // already wrapped
 * ```
 */
export function claimOnce<T>(target: object, tag: string, value: T): T | undefined {
  const holder = target as Claimed;
  let claims = holder[CLAIMS];
  if (!claims) {
    claims = new Map();
    Object.defineProperty(holder, CLAIMS, { value: claims, enumerable: false, configurable: true });
  }
  if (claims.has(tag)) return claims.get(tag) as T;
  claims.set(tag, value);
  return undefined;
}

/**
 * The claim the zero-code path puts on a client before it hands it to its adapter: an adapter
 * called on it later learns that the client was taken care of without code (and warns that its
 * options come too late).
 */
export const ZERO_CODE_CLAIM = '@crac/auto';

/** Whether `target` was claimed under `tag`, or under any tag when `tag` is not given. */
export function isClaimed(target: object, tag?: string): boolean {
  const claims = (target as Claimed)[CLAIMS];
  if (!claims) return false;
  return tag === undefined ? claims.size > 0 : claims.has(tag);
}
