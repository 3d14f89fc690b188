import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@crac/tools/ports';
import { type Service, startPostgres, startRedis } from '@crac/tools/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES } from './helpers/harness.js';

// The version matrix, the way opentelemetry-js-contrib's test-all-versions does it, kept small:
// for each library an adapter wraps, the lowest version of the range its package claims in
// peerDependencies, the newest, and one in between where the library changed something the
// adapter touches. Each version is an exact npm alias in test/package.json (`pg-8.0` is
// pg@8.0.3), loaded by the fixtures through FIXTURE_MODULE / FIXTURE_*_MODULE. Each entry is a
// real checkpoint and a real restore, then proof that the adapter did its work: HTTP answers on
// the restored server; queries and commands on new connections, a pool borrow and return; and
// for the data adapters a second restore of the image, where DATABASE_URL and REDIS_URL name
// other servers, which they follow (what they change in pg-pool's and ioredis's options).
//
// Every entry on every Node of the suites (20, 22, 24): an old library is the one a new Node
// breaks (pg 8.0.0-8.0.2 hang on Node 14+), and the whole matrix takes about a minute here.
const HTTP_APP = join(FIXTURES, 'http-app.cjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
const DATA_APP = join(FIXTURES, 'data-app.cjs');
interface Entry {
  /** The library as users name it. */
  library: 'express' | 'fastify' | 'pg' | 'ioredis' | 'generic-pool';
  /** The module the fixture requires: an alias of test/package.json. */
  module: string;
  /** Why this version is in the matrix. */
  why: string;
}

/** The exact version behind an alias, as installed: what the fixture must report loading. */
const installed = (module: string): string =>
  (JSON.parse(readFileSync(join(import.meta.dirname, 'node_modules', module, 'package.json'), 'utf8')) as { version: string }).version;

// @crac/express claims express >=4.17 <6, @crac/fastify fastify 5.x.
const HTTP_MATRIX: Entry[] = [
  { library: 'express', module: 'express-4.17', why: 'lowest claimed; Express 4 router (app._router, made on first use)' },
  { library: 'express', module: 'express4', why: 'newest Express 4' },
  { library: 'express', module: 'express-5.0', why: 'first Express 5: router 2, app.router getter' },
  { library: 'express', module: 'express', why: 'newest' },
  { library: 'fastify', module: 'fastify-5.0', why: 'lowest claimed' },
  { library: 'fastify', module: 'fastify', why: 'newest' },
];

// @crac/pg claims pg ^8.0.3, @crac/ioredis ioredis ^5.0.0, @crac/generic-pool generic-pool ^3.0.0.
const DATA_MATRIX: Entry[] = [
  {
    library: 'pg',
    module: 'pg-8.0',
    why: 'lowest claimed (8.0.0-8.0.2 hang on Node 14+), with the pg-pool 3.1.1 it was released with',
  },
  { library: 'pg', module: 'pg', why: 'newest (pg-pool 3.14)' },
  { library: 'ioredis', module: 'ioredis-5.0', why: 'lowest claimed (no named Redis export yet)' },
  {
    library: 'ioredis',
    module: 'ioredis-5.3',
    why: 'from 5.3.1 a closing connection keeps prevCondition (the database and subscriptions restored on reconnect) only if it was ready',
  },
  {
    library: 'ioredis',
    module: 'ioredis-5.11',
    why: 'newest; from 5.8 the handshake (CLIENT SETINFO) runs before the ready check',
  },
  { library: 'generic-pool', module: 'generic-pool-3.0', why: 'lowest claimed (no use(), DLLArray of idle resources)' },
  { library: 'generic-pool', module: 'generic-pool', why: 'newest (Deque of idle resources)' },
];

const DATA_ENV: Record<string, string> = {
  pg: 'FIXTURE_PG_MODULE',
  ioredis: 'FIXTURE_IOREDIS_MODULE',
  'generic-pool': 'FIXTURE_GENERIC_POOL_MODULE',
};

/** The matrix as test cases: each entry on each Node. */
const cases = (matrix: Entry[]) => matrix.flatMap((entry) => NODES.map((node) => ({ ...entry, version: installed(entry.module), node })));

type Event = Record<string, unknown>;
const find = (events: Event[], name: string) => events.find((e) => e.event === name);

/** GET / on a new connection, retried until the server answers (the restored app re-listens first). */
async function getJson(port: number, timeoutMs = 20_000): Promise<{ status: number; body: Record<string, unknown> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }));
        }).on('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

beforeAll(() => assertRealCriuHost());

describe.each(cases(HTTP_MATRIX))('$library $version on $node.name ($why)', ({ library, module, version, node }) => {
  it('checkpoints after a warm-up and restores on another port: the restored server answers', async () => {
    const dir = imageDir();
    const port = await freePort();
    const env = { FIXTURE_FRAMEWORK: library, FIXTURE_MODULE: module, PORT: String(port) };
    const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 50`, '--', node.bin, HTTP_APP], {
      stdout: 'pipe',
      env,
    });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
    expect(find(checkpoint.events(), 'listening'), checkpoint.output()).toMatchObject({ version });

    const restoredPort = await freePort();
    const restore = crac(['restore', dir], { stdout: 'pipe', env: { ...env, PORT: String(restoredPort), FIXTURE_COPY: 'restored' } });
    const answer = await getJson(restoredPort);
    expect(answer, restore.output()).toMatchObject({ status: 200, body: { ok: true, port: restoredPort, copy: 'restored' } });
    expect(await restore.waitFor((e) => e.event === 'cycle-end')).toMatchObject({
      outcome: 'restored',
      version,
      listening: [restoredPort],
    });
  });
});

describe('data adapters across versions', () => {
  let postgres: Service | undefined;
  let redis: Service | undefined;
  // where a second restore of each image is sent (DATABASE_URL, REDIS_URL): the adapters follow
  let otherPostgres: Service | undefined;
  let otherRedis: Service | undefined;
  beforeAll(async () => {
    // assigned one by one: afterAll stops whatever did start
    postgres = await startPostgres();
    redis = await startRedis();
    otherPostgres = await startPostgres();
    otherRedis = await startRedis();
  });
  afterAll(async () => {
    await Promise.allSettled([postgres, redis, otherPostgres, otherRedis].map((service) => service?.dispose()));
  });

  describe.each(cases(DATA_MATRIX))('$library $version on $node.name ($why)', ({ library, module, version, node }) => {
    it('checkpoints a warm app and restores it twice: queries and commands run on new connections, the subscription and a pool borrow work; then against the servers the restoring environment names', async () => {
      const dir = imageDir();
      const env = {
        DATABASE_URL: (postgres as Service).url,
        REDIS_URL: (redis as Service).url,
        FIXTURE_SCENARIO: 'restore',
        [DATA_ENV[library] as string]: module,
      };
      const checkpoint = crac(['checkpoint', '--to', dir, '--', node.bin, DATA_APP], { stdout: 'pipe', env });
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
      const key = library === 'generic-pool' ? 'genericPool' : library;
      expect(find(checkpoint.events(), 'warm'), checkpoint.output()).toMatchObject({ versions: { [key]: version } });

      const restore = crac(['restore', dir], { stdout: 'pipe', env });
      expect((await restore.exited).code, restore.output()).toBe(0);
      expect(find(restore.events(), 'checkpoint-result'), restore.output()).toMatchObject({ outcome: 'restored' });
      expect(find(restore.events(), 'results'), restore.output()).toMatchObject({
        versions: { [key]: version },
        pgPort: postgres?.port,
        gpPort: postgres?.port,
        redisPort: redis?.port,
        message: true,
        lonePort: postgres?.port,
        newConnections: { pg: true, genericPool: true, loneClient: true, redis: true },
        gpAfter: { borrowed: 0 },
        callerErrors: [],
        eventErrors: [],
      });

      // the same image, restored where DATABASE_URL and REDIS_URL name other servers
      const elsewhere = crac(['restore', dir], {
        stdout: 'pipe',
        env: { ...env, DATABASE_URL: (otherPostgres as Service).url, REDIS_URL: (otherRedis as Service).url },
      });
      expect((await elsewhere.exited).code, elsewhere.output()).toBe(0);
      expect(find(elsewhere.events(), 'results'), elsewhere.output()).toMatchObject({
        versions: { [key]: version },
        pgPort: otherPostgres?.port,
        gpPort: otherPostgres?.port,
        lonePort: otherPostgres?.port,
        redisPort: otherRedis?.port,
        message: true,
        callerErrors: [],
        eventErrors: [],
      });
    });
  });
});
