// Database clients with no line of crac code, with real CRIU: an app with a pg.Pool, an ioredis
// client, a generic-pool of pg clients, a mysql2 pool and knex (CommonJS and ES module) is checkpointed
// under `crac checkpoint` and restored with another environment, which each client follows.
import { join } from 'node:path';
import { freePort, waitForPort } from '@crac/tools/ports';
import { type RedisCluster, startRedisCluster } from '@crac/tools/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES } from './helpers/harness.js';
import { type MariaDb, startMariaDb } from './helpers/mariadb.js';

const APPS = join(FIXTURES, 'zero-code');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
const PG_URL = process.env.CRAC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CRAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// The MariaDB the app starts with, and the one its restored copy is told to use.
let first: MariaDb;
let second: MariaDb;

beforeAll(async () => {
  assertRealCriuHost();
  [first, second] = await Promise.all([startMariaDb(), startMariaDb()]);
}, 120_000);
afterAll(() => Promise.all([first?.stop(), second?.stop()]), 60_000);

/** The environment that names the app's servers; `restored` names other ones. */
function servers(restored: boolean): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: restored ? PG_URL.replace(/\/postgres$/, '/template1') : PG_URL,
    REDIS_URL,
    MYSQL_URL: `${(restored ? second : first).url}mysql`,
  };
}

async function getJson(port: number): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe.each(NODES)('database clients with no crac code, real CRIU on $name', (node) => {
  it.each([
    ['CommonJS', 'clients-app.cjs', 'clients (cjs)'],
    ['an ES module', 'clients-app.mjs', 'clients (esm)'],
  ])(
    '%s: pg, ioredis, generic-pool and mysql2 let go before the checkpoint, follow the restoring environment after',
    async (_kind, app, framework) => {
      const dir = imageDir();
      const port = await freePort();
      const made = crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 100`, '--', node.bin, app], {
        cwd: APPS,
        stdout: 'file',
        env: { PORT: String(port), ...servers(false) },
      });
      expect((await made.exited).code, made.output()).toBe(0);
      expect(made.output()).toMatch(/crac: checkpoint .*dumped/);

      const other = await freePort();
      const copy = crac(['restore', dir], { stdout: 'file', env: { PORT: String(other), ...servers(true) } });
      await waitForPort(other, copy);
      // PostgreSQL's other database and the other MariaDB: each pool connected again, with the restoring environment
      expect(await getJson(other)).toMatchObject({
        framework,
        port: String(other),
        pg: 'template1',
        redis: true,
        generic: 2,
        mysql: 3,
        mysqlPort: second.port,
      });
    },
  );
});

describe('a Redis Cluster client with no crac code, real CRIU', () => {
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 120_000);
  afterAll(() => cluster?.dispose(), 60_000);

  it('is let go of before the checkpoint and connects again after it, its counts intact', async () => {
    const dir = imageDir();
    const port = await freePort();
    const env = { FIXTURE_CLUSTER: (cluster as RedisCluster).seeds.map((s) => `${s.host}:${s.port}`).join(','), FIXTURE_RUN: String(port) };
    const made = crac(
      ['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 50`, '--', 'node', 'cluster-app.cjs'],
      {
        cwd: APPS,
        stdout: 'file',
        env: { PORT: String(port), ...env },
      },
    );
    expect((await made.exited).code, made.output()).toBe(0);
    const other = await freePort();
    const copy = crac(['restore', dir], { stdout: 'file', env: { PORT: String(other), ...env } });
    await waitForPort(other, copy);
    // the warm-up's 50 and its first request made every count 51 before the checkpoint
    const answer = await getJson(other);
    expect(answer).toMatchObject({ framework: 'cluster', port: String(other) });
    expect(new Set(answer.counts as number[]).size, JSON.stringify(answer)).toBe(1);
    expect((answer.counts as number[])[0]).toBeGreaterThan(50);
  });
});

describe('what CRAC_AUTO leaves out', () => {
  it('is refused by the audit, which points at the zero-code way first', async () => {
    const port = await freePort();
    const made = crac(
      ['checkpoint', '--to', imageDir(), '--warmup', `${process.execPath} ${WARMUP} ${port} 10`, '--', 'node', 'clients-app.cjs'],
      {
        cwd: APPS,
        stdout: 'file',
        env: { PORT: String(port), CRAC_AUTO: 'servers', ...servers(false) },
      },
    );
    expect((await made.exited).code, made.output()).toBe(1);
    expect(made.output()).toMatch(/CRAC_ECHECKPOINT.*open handles that no resource released/);
    expect(made.output()).toMatch(
      /-> 127\.0\.0\.1:5432 .*start the app with `crac checkpoint -- <command>`.*pg\.Pool instances .*unless CRAC_AUTO leaves pg out/,
    );
    expect(made.output()).toMatch(/-> 127\.0\.0\.1:6379 .*ioredis clients and clusters/);
    expect(made.output()).toContain(`-> 127.0.0.1:${first.port}`);
    expect(made.output()).toContain('no image was made; stopping the app');
  });
});
