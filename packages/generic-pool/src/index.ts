/**
 * Coordinated Restore at Checkpoint for generic-pool: `cracPool(pool)`.
 *
 * @packageDocumentation
 */
export { cracPool } from './pool.js';
export type { CracPoolOptions } from './types.js';
