/**
 * Coordinated Restore at Checkpoint for ioredis: `cracRedis(client)` for `Redis` and `Redis.Cluster`.
 *
 * @packageDocumentation
 */
export { redisSettingsFromUrl } from './env.js';
export { cracRedis } from './redis.js';
export type { CracRedisOptions } from './types.js';
