import { join } from 'node:path';
import { type Service, startPostgres, startRedis } from '@crac/tools/services';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, NODES, stopAll, tempDir } from './helpers/harness.js';

// The data adapters (@crac/pg, @crac/generic-pool, @crac/ioredis) with real CRIU, real
// PostgreSQL and real Redis: throwaway servers this file owns, stopped and started at will.
const APP = join(FIXTURES, 'data-app.cjs');
type Event = Record<string, unknown>;

let pgA: Service | undefined;
let redisA: Service | undefined;
let pgB: Service | undefined;
let redisB: Service | undefined;
const servers = () => [pgA, redisA, pgB, redisB].filter((s): s is Service => s !== undefined);

beforeAll(async () => {
  assertRealCriuHost();
  // assigned one by one: afterAll stops whatever did start, even if a later one fails
  pgA = await startPostgres();
  redisA = await startRedis();
  pgB = await startPostgres();
  redisB = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(servers().map((server) => server.dispose()));
});

const cleanups: (() => void)[] = [];
afterEach(async () => {
  stopAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
  // a test that stopped a server and failed leaves it running for the next one
  await Promise.all(servers().map((server) => (server.running ? undefined : server.restart())));
});
function imageDir(): string {
  const dir = tempDir('crac-image-');
  cleanups.push(dir.remove);
  return join(dir.path, 'image');
}

const envA = () => ({ DATABASE_URL: (pgA as Service).url, REDIS_URL: (redisA as Service).url });
const find = (events: Event[], name: string) => events.find((e) => e.event === name) as Event;

async function checkpointWarmApp(node: string, env: Record<string, string>): Promise<string> {
  const dir = imageDir();
  const checkpoint = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'pipe', env: { ...env, FIXTURE_SCENARIO: 'restore' } });
  expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
  expect(find(checkpoint.events(), 'warm'), checkpoint.output()).toBeDefined();
  return dir;
}

describe.each(NODES)('data adapters with real CRIU on $name', ({ bin: node, id }) => {
  it('restores a warm app after its PostgreSQL and Redis were restarted: queries, commands and the subscription work, no error reaches the app', async () => {
    const dir = await checkpointWarmApp(node, envA());
    await (pgA as Service).restart();
    await (redisA as Service).restart();

    const restore = crac(['restore', dir], { stdout: 'pipe', env: envA() });
    expect((await restore.exited).code, restore.output()).toBe(0);
    const events = restore.events();
    expect(find(events, 'checkpoint-result')).toMatchObject({ outcome: 'restored' });
    expect(find(events, 'results'), restore.output()).toMatchObject({
      pgPort: pgA?.port,
      gpPort: pgA?.port,
      redisPort: redisA?.port,
      message: true,
      callerErrors: [],
      eventErrors: [],
    });
  });

  it('restores the same image against another PostgreSQL and Redis named by the restoring environment', async () => {
    const dir = await checkpointWarmApp(node, envA());
    const restore = crac(['restore', dir], {
      stdout: 'pipe',
      env: { DATABASE_URL: (pgB as Service).url, REDIS_URL: (redisB as Service).url },
    });
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(find(restore.events(), 'results'), restore.output()).toMatchObject({
      pgPort: pgB?.port,
      gpPort: pgB?.port,
      redisPort: redisB?.port,
      message: true,
      callerErrors: [],
      eventErrors: [],
    });
  });

  it('takes a leave-running checkpoint while queries are in flight and more arrive: every one completes once, with the right result', async () => {
    const table = `inflight_${id}_${Date.now()}`;
    const dir = imageDir();
    const app = crac(['checkpoint', '--to', dir, '--leave-running', '--', node, APP], {
      stdout: 'pipe',
      env: { ...envA(), FIXTURE_SCENARIO: 'inflight', FIXTURE_TABLE: table },
    });
    const exit = await app.exited;
    const events = app.events();
    expect(exit.code, app.output()).toBe(0);
    expect(find(events, 'checkpoint-result')).toMatchObject({ outcome: 'checkpointed' });
    const checkpointing = find(events, 'checkpointing');
    const results = find(events, 'results');
    expect(results, app.output()).toMatchObject({ wrong: 0, callerErrors: [], eventErrors: [] });
    // work went on across the checkpoint
    expect(results.completed as number).toBeGreaterThanOrEqual((checkpointing.completed as number) + 40);
    expect(results.completed).toBe(results.issued);
    expect(results.redisIncrs).toBe(results.issued);
    expect(results.redisValue).toBe(results.issued);
    // counted on the server: none lost, none duplicated
    const client = new pg.Client({ connectionString: (pgA as Service).url });
    await client.connect();
    try {
      const { rows } = await client.query(`select count(*)::int as n, count(distinct id)::int as d, max(id) as m from ${table}`);
      expect(rows[0]).toEqual({ n: results.issued, d: results.issued, m: results.issued });
    } finally {
      await client.end();
    }
  });

  it('runs work held during a leave-running checkpoint in the original only: a restored copy refuses it (no duplicate INCR)', async () => {
    const dir = imageDir();
    const env = { ...envA(), FIXTURE_SCENARIO: 'held', FIXTURE_TABLE: `held_${id}_${Date.now()}` };
    const original = crac(['checkpoint', '--to', dir, '--leave-running', '--', node, APP], { stdout: 'pipe', env });
    expect((await original.exited).code, original.output()).toBe(0);
    expect(find(original.events(), 'held'), original.output()).toMatchObject({ outcome: 'checkpointed', held: { value: 1 }, value: 1 });
    const copy = crac(['restore', dir], { stdout: 'pipe', env });
    expect((await copy.exited).code, copy.output()).toBe(0);
    expect(find(copy.events(), 'held'), copy.output()).toMatchObject({
      outcome: 'restored',
      held: { code: 'CRAC_EHELD' },
      value: 1,
      eventErrors: [],
    });
  });

  it('refuses a checkpoint while a borrowed connection is never returned, naming the pool and the count; the app keeps working', async () => {
    const dir = imageDir();
    const app = crac(['checkpoint', '--to', dir, '--', node, APP], {
      stdout: 'pipe',
      env: { ...envA(), FIXTURE_SCENARIO: 'stuck', FIXTURE_POOL_TIMEOUT_MS: '1500' },
    });
    await app.exited;
    const events = app.events();
    const error = find(events, 'checkpoint-error');
    expect(error, app.output()).toMatchObject({ name: 'CheckpointError', code: 'CRAC_ECHECKPOINT', causes: ['CRAC_EBORROWED'] });
    expect(error.message).toContain('app pg pool: 1 client is still borrowed after 1500 ms');
    expect(find(events, 'still-working'), app.output()).toMatchObject({
      pg: 2,
      stuck: 3,
      gp: pgA?.port,
      redis: 'PONG',
      callerErrors: [],
      eventErrors: [],
    });
  });

  it('restores with PostgreSQL down: Redis work goes on, queries fail as pg would, then succeed once PostgreSQL is back', async () => {
    const dir = await checkpointWarmApp(node, envA());
    await (pgA as Service).stop();
    const restore = crac(['restore', dir], { stdout: 'pipe', env: { ...envA(), FIXTURE_PG_DOWN: '1' } });
    expect(await restore.waitFor((e) => e.event === 'redis-ok')).toMatchObject({ redisPort: redisA?.port, message: true });
    expect(await restore.waitFor((e) => e.event === 'pg-down')).toMatchObject({ code: 'ECONNREFUSED' });
    await (pgA as Service).restart();
    await restore.waitFor((e) => e.event === 'pg-back', 60_000);
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(find(restore.events(), 'results'), restore.output()).toMatchObject({ pgPort: pgA?.port, gpPort: pgA?.port, eventErrors: [] });
  });
});
