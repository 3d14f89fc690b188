/**
 * Coordinated Restore at Checkpoint for node-postgres: `cracPg(pool)` for a `pg.Pool`,
 * `cracPgClient(() => new Client())` for a lone client.
 *
 * @packageDocumentation
 */
export { cracPgClient, type PgClientHandle } from './client.js';
export { pgSettingsFromEnv } from './env.js';
export { cracPg } from './pool.js';
export type { CracPgClientOptions, CracPgOptions, OnBorrowedTimeout } from './types.js';
