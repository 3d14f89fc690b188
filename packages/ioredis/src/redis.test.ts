import { Context, checkpointRestore } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { cracRedis, redisSettingsFromUrl } from './index.js';

// Real ioredis against the machine's Redis (127.0.0.1:6379), simulated checkpoints.
const URL = process.env.CRAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients: Redis[] = [];
const key = (name: string) => `crac-unit:${process.pid}:${name}`;

function client(options: RedisOptions = {}): Redis {
  const redis = new Redis(URL, options);
  clients.push(redis);
  return redis;
}

/** Connections the server sees under a client name. */
async function serverConnections(name: string): Promise<number> {
  const list = (await client().client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
});

describe('cracRedis', () => {
  it('lets pending commands finish, closes the connection, and connects again after the restore', async () => {
    const context = new Context();
    const name = `crac-unit-${process.pid}-a`;
    const redis = cracRedis(client({ connectionName: name }), { context });
    await redis.set(key('a'), '0');
    const pending = Array.from({ length: 50 }, () => redis.incr(key('a')));
    let during: { status: string; server: number } | undefined;
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          during = { status: redis.status, server: await serverConnections(name) };
        },
      }),
      context,
    });
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(during).toEqual({ status: 'end', server: 0 });
    expect(redis.status).toBe('ready');
    expect(await redis.incr(key('a'))).toBe(51);
  });

  it('holds the commands issued while checkpointing and sends them after the restore, none lost', async () => {
    const context = new Context();
    const redis = cracRedis(client(), { context });
    await redis.del(key('b'));
    let held: Promise<unknown>[] = [];
    await checkpointRestore({
      engine: createSimulateEngine({
        onCheckpoint: async () => {
          held = [redis.incr(key('b')), redis.incr(key('b')), redis.pipeline().incr(key('b')).get(key('b')).exec(), redis.get(key('b'))];
          await new Promise((resolve) => setTimeout(resolve, 50));
        },
      }),
      context,
    });
    const [a, b, pipeline, value] = await Promise.all(held);
    expect([a, b]).toEqual([1, 2]);
    expect(pipeline).toEqual([
      [null, 3],
      [null, '3'],
    ]);
    expect(value).toBe('3');
  });

  it('brings subscriptions back (subscribe and psubscribe)', async () => {
    const context = new Context();
    const subscriber = cracRedis(client(), { context });
    const received: string[] = [];
    subscriber.on('message', (channel: string, message: string) => received.push(`${channel}:${message}`));
    subscriber.on('pmessage', (pattern: string, channel: string, message: string) => received.push(`${pattern}|${channel}:${message}`));
    await subscriber.subscribe(key('news'));
    await subscriber.psubscribe(key('p.*'));
    await checkpointRestore({ engine: 'simulate', context });
    const publisher = client();
    expect(await publisher.publish(key('news'), 'hello')).toBe(1);
    expect(await publisher.publish(key('p.x'), 'world')).toBe(1);
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual([`${key('news')}:hello`, `${key('p.*')}|${key('p.x')}:world`]);
  });

  it('leaves a lazyConnect client that never connected as it is, and one the app quit', async () => {
    const context = new Context();
    const lazy = cracRedis(client({ lazyConnect: true }), { context });
    const quit = cracRedis(client(), { context });
    await quit.ping();
    await quit.quit();
    await checkpointRestore({ engine: 'simulate', context });
    expect(lazy.status).toBe('wait');
    expect(quit.status).toBe('end');
    // the lazy one still connects on its first command
    expect(await lazy.ping()).toBe('PONG');
  });

  it('re-reads REDIS_URL (fromEnv) and config() in afterRestore', async () => {
    const context = new Context();
    const redis = cracRedis(client(), { context, fromEnv: true });
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = `${URL}/3`;
    try {
      await checkpointRestore({ engine: 'simulate', context });
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
    expect(redis.options.db).toBe(3);
    await redis.set(key('db3'), 'yes');
    expect(await client({ db: 3 }).get(key('db3'))).toBe('yes');
    expect(await client({ db: 0 }).get(key('db3'))).toBeNull();

    const other = new Context();
    const configured = cracRedis(client(), { context: other, config: () => ({ db: 4 }) });
    await checkpointRestore({ engine: 'simulate', context: other });
    expect(configured.options.db).toBe(4);
  });

  it('follows a REDIS_URL that the restore changed, with no option; keeps its settings otherwise', async () => {
    const context = new Context();
    const redis = cracRedis(client(), { context });
    const saved = process.env.REDIS_URL;
    try {
      process.env.REDIS_URL = `${URL}/5`;
      await checkpointRestore({ engine: 'simulate', context });
      expect(redis.options.db, 'unchanged since the checkpoint: its own settings').toBe(0);
      const restoredElsewhere = createSimulateEngine({
        onCheckpoint: () => {
          process.env.REDIS_URL = `${URL}/6`;
        },
      });
      await checkpointRestore({ engine: restoredElsewhere, context });
      expect(redis.options.db).toBe(6);
      await redis.set(key('db6'), 'yes');
      expect(await client({ db: 6 }).get(key('db6'))).toBe('yes');

      const pinnedContext = new Context();
      const pinned = cracRedis(client(), { context: pinnedContext, fromEnv: false });
      const restoredAgain = createSimulateEngine({
        onCheckpoint: () => {
          process.env.REDIS_URL = `${URL}/7`;
        },
      });
      await checkpointRestore({ engine: restoredAgain, context: pinnedContext });
      expect(pinned.options.db, 'fromEnv: false').toBe(0);
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('registers a client once however often it is wrapped', () => {
    const context = new Context();
    const redis = client({ lazyConnect: true });
    cracRedis(redis, { context });
    cracRedis(redis, { context });
    expect(context.size).toBe(1);
    expect(() => cracRedis({} as Redis)).toThrow(/ioredis/);
  });

  it('parses redis:// and rediss:// URLs', () => {
    expect(redisSettingsFromUrl('redis://user:s%40cret@cache:6380/2')).toEqual({
      host: 'cache',
      port: 6380,
      username: 'user',
      password: 's@cret',
      db: 2,
    });
    expect(redisSettingsFromUrl('rediss://cache')).toEqual({ host: 'cache', port: 6379, tls: {} });
    expect(() => redisSettingsFromUrl('http://x')).toThrow();
  });
});
