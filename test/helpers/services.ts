// The throwaway PostgreSQL and Redis servers live in bench/lib, shared with `pnpm demo:checkpoint`.
export { freePort, type Service, startPostgres, startRedis } from '../../bench/lib/services.mjs';
