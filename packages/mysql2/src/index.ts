/**
 * Coordinated Restore at Checkpoint for mysql2: `cracMysql(pool)` for a pool of the callback API
 * (`mysql2`) or the promise API (`mysql2/promise`).
 *
 * @packageDocumentation
 */
export { mysqlSettingsFromEnv, mysqlSettingsFromUrl } from './env.js';
export { cracMysql } from './pool.js';
export type { CracMysqlOptions, MysqlSettings, OnBorrowedTimeout } from './types.js';
