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
