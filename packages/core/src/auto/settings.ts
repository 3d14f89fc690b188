import { ErrorCode } from '../errors.js';

/**
 * The environment variable that chooses what the preload (`@crac/core/register`, which
 * `crac checkpoint` loads) takes care of without a line of code: unset or `on`, everything;
 * `off`, nothing (the explicit adapters still work); or a comma-separated list of
 * {@link AUTO_INTEGRATIONS}, e.g. `CRAC_AUTO=servers,pg`. `crac checkpoint --no-auto` sets it to `off`.
 */
export const AUTO_ENV = 'CRAC_AUTO';

/** What the zero-code path can take care of, each by the name `CRAC_AUTO` lists it with. */
export const AUTO_INTEGRATIONS = ['servers', 'pg', 'ioredis', 'generic-pool', 'mysql2', 'knex'] as const;

/** One of {@link AUTO_INTEGRATIONS}. */
export type AutoIntegration = (typeof AUTO_INTEGRATIONS)[number];

/** What `CRAC_AUTO` says: the integrations on, and the words it could not read. */
export interface AutoSettings {
  readonly enabled: ReadonlySet<AutoIntegration>;
  readonly unknown: readonly string[];
}

const ALL = ['', 'on', '1', 'true', 'all'];
const NONE = ['off', '0', 'false', 'none'];

/**
 * Reads {@link AUTO_ENV}. An unknown word is reported in `unknown` (and turns nothing on): the
 * preload warns about it with `CRAC_EINVAL` rather than refuse to start the app.
 */
export function readAutoSettings(env: NodeJS.ProcessEnv = process.env): AutoSettings {
  const value = (env[AUTO_ENV] ?? '').trim().toLowerCase();
  if (ALL.includes(value)) return { enabled: new Set(AUTO_INTEGRATIONS), unknown: [] };
  if (NONE.includes(value)) return { enabled: new Set(), unknown: [] };
  const enabled = new Set<AutoIntegration>();
  const unknown: string[] = [];
  for (const word of value.split(',').map((part) => part.trim())) {
    if (word === '') continue;
    if ((AUTO_INTEGRATIONS as readonly string[]).includes(word)) enabled.add(word as AutoIntegration);
    else unknown.push(word);
  }
  return { enabled, unknown };
}

/** The warning for words of `CRAC_AUTO` that name nothing. */
export function warnUnknownIntegrations(unknown: readonly string[]): void {
  if (unknown.length === 0) return;
  process.emitWarning(
    `@crac/core: ${AUTO_ENV} names ${unknown.map((word) => JSON.stringify(word)).join(', ')}, which is none of ` +
      `${AUTO_INTEGRATIONS.join(', ')} (or on / off); ignored`,
    { code: ErrorCode.INVALID_ARGUMENT },
  );
}
