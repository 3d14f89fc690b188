import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { Agent, get, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { freePort } from '@crac/tools/ports';
import { type RedisCluster, startRedisCluster } from '@crac/tools/services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, testDir } from './helpers/harness.js';

// https servers (express, fastify) and a real Redis Cluster (ioredis's Redis.Cluster) across real
// checkpoints and restores, on every Node of the suites (61 s for the three here).
const HTTP_APP = join(FIXTURES, 'http-app.cjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
const CLUSTER_APP = join(FIXTURES, 'cluster-app.cjs');
type Event = Record<string, unknown>;

beforeAll(() => assertRealCriuHost());

/** A throwaway self-signed certificate for 127.0.0.1 and localhost, in a directory of the running test. */
function makeCertificate(): { key: string; cert: string; fingerprint: string } {
  const dir = testDir('crac-tls-');
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      // the clients below verify the certificate against itself: it must name the address they dial
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  expect(result.status, `openssl could not make a test certificate: ${result.error?.message ?? result.stderr}`).toBe(0);
  return { key, cert, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

interface TlsAnswer {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
  /** Whether it verified against the test certificate (the only CA trusted). */
  authorized: boolean;
}

/** One https request on a new connection, trusting `ca` alone. */
function httpsGet(port: number, ca: Buffer, path = '/', agent: Agent | false = false): Promise<TlsAnswer> {
  const options: RequestOptions = { host: '127.0.0.1', port, path, ca, agent };
  return new Promise((resolve, reject) => {
    get(options, (response) => {
      const socket = response.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      const authorized = socket.authorized;
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, fingerprint, authorized }));
    }).on('error', reject);
  });
}

describe.each(NODES)('https servers with real CRIU on $name', ({ name, bin: node }) => {
  describe.each(['express', 'fastify'] as const)('%s over https', (framework) => {
    it('restores an https app that serves its certificate again, on its port and on another PORT', async () => {
      const tls = makeCertificate();
      const ca = readFileSync(tls.cert);
      const env = { FIXTURE_FRAMEWORK: framework, FIXTURE_TLS_KEY: tls.key, FIXTURE_TLS_CERT: tls.cert };
      const port = await freePort();
      const dir = imageDir();
      // the warm-up talks https (http-warmup.cjs reads FIXTURE_TLS_CERT): kept-alive TLS connections are open when the drain starts
      const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 300`, '--', node, HTTP_APP], {
        stdout: 'file',
        env: { ...env, PORT: String(port) },
      });
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
      expect(checkpoint.events().find((e) => e.event === 'listening')).toMatchObject({ tls: true, port });
      // the app read its key at start: the copies serve it from memory, the file is not needed any more
      rmSync(tls.key);

      const restore = crac(['restore', dir], { stdout: 'file', env: { PORT: String(port) } });
      expect(await restore.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'restored', listening: [port] });
      const answer = await httpsGet(port, ca);
      expect(answer).toMatchObject({ status: 200, fingerprint: tls.fingerprint, authorized: true });
      expect(JSON.parse(answer.body).served as number, 'the restored app carries on with its state').toBeGreaterThan(300);
      restore.child.kill('SIGTERM');
      expect((await restore.exited).code, restore.output()).toBe(0);

      const otherPort = await freePort();
      const moved = crac(['restore', dir], { stdout: 'file', env: { PORT: String(otherPort) } });
      expect(await moved.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'restored', listening: [otherPort] });
      expect(await httpsGet(otherPort, ca)).toMatchObject({ status: 200, fingerprint: tls.fingerprint, authorized: true });
      moved.child.kill('SIGTERM');
      expect((await moved.exited).code, moved.output()).toBe(0);
    });

    it('takes a leave-running checkpoint under https load: no response is cut, every request that got a connection is answered', async () => {
      const tls = makeCertificate();
      const ca = readFileSync(tls.cert);
      const port = await freePort();
      const dir = imageDir();
      const app = crac(['checkpoint', '--to', dir, '--', node, HTTP_APP], {
        stdout: 'file',
        env: { FIXTURE_FRAMEWORK: framework, FIXTURE_TLS_KEY: tls.key, FIXTURE_TLS_CERT: tls.cert, PORT: String(port) },
      });
      const listening = await app.waitFor((e) => e.event === 'listening');
      const load = startTlsLoad(port, ca, 4);
      await load.answered(50);
      const checkpoint = crac(['checkpoint', '--pid', String(listening.pid), '--to', dir, '--leave-running'], { stdout: 'pipe' });
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
      expect(await app.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'checkpointed', listening: [port] });
      const atCheckpoint = load.stats.complete;
      await load.answered(atCheckpoint + 50);
      const stats = await load.stop();
      console.log(`[${name} ${framework} https] leave-running checkpoint under load: ${JSON.stringify(stats)}`);
      expect(stats.cut, 'responses cut mid-way').toBe(0);
      expect(stats.lost, 'requests that got a connection and no answer').toBe(0);
      // the listener stayed bound: clients waited in its backlog (issue 16)
      expect(stats.refused, 'connection attempts refused').toBe(0);
      expect(stats.other).toEqual([]);
      expect(stats.fingerprints).toEqual([tls.fingerprint]);
      expect((await httpsGet(port, ca)).status).toBe(200);
      app.child.kill('SIGTERM');
    });
  });
});

interface TlsLoadStats {
  complete: number;
  /** Connection attempts refused (none: the listener stays bound through the checkpoint). */
  refused: number;
  /** Requests sent on a kept-alive connection just as the server closed it as idle (clients retry those). */
  retriedIdleClosed: number;
  cut: number;
  lost: number;
  other: string[];
  /** The certificates' fingerprints the server presented (full handshakes), each once. */
  fingerprints: string[];
}

/** `concurrency` https clients requesting /slow in a loop over keep-alive connections, until stopped. */
function startTlsLoad(port: number, ca: Buffer, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const stats: TlsLoadStats = { complete: 0, refused: 0, retriedIdleClosed: 0, cut: 0, lost: 0, other: [], fingerprints: [] };
  let stopping = false;
  const once = () =>
    new Promise<void>((resolve) => {
      const request = get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
        // A resumed TLS session presents no certificate (Node then reports none): the agent resumes
        // when it reconnects after the drain's Connection: close (no refusal evicts its session now).
        const socket = response.socket as TLSSocket;
        const fingerprint = socket.isSessionReused() ? undefined : socket.getPeerCertificate().fingerprint256;
        if (fingerprint !== undefined && !stats.fingerprints.includes(fingerprint)) stats.fingerprints.push(fingerprint);
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.on('error', () => {});
        response.on('close', () => {
          if (response.complete && bytes === 8192) stats.complete++;
          else stats.cut++;
          resolve();
        });
      });
      request.on('error', async (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') {
          stats.refused++;
          await sleep(5);
        } else if (request.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) {
          stats.retriedIdleClosed++;
        } else if (error.code === 'ECONNRESET' || error.message === 'socket hang up') stats.lost++;
        else stats.other.push(error.code ?? error.message);
        resolve();
      });
    });
  const clients = Array.from({ length: concurrency }, async () => {
    const deadline = Date.now() + 90_000;
    while (!stopping && Date.now() < deadline) await once();
  });
  return {
    stats,
    /** Resolves once `count` requests were answered in full (30 s at most). */
    async answered(count: number) {
      const deadline = Date.now() + 30_000;
      while (stats.complete < count && Date.now() < deadline) await sleep(20);
      expect(stats.complete, `answered requests: ${JSON.stringify(stats)}`).toBeGreaterThanOrEqual(count);
    },
    async stop() {
      stopping = true;
      await Promise.all(clients);
      agent.destroy();
      return stats;
    },
  };
}

describe.each(NODES)('Redis Cluster (ioredis Redis.Cluster) with real CRIU on $name', ({ name, bin: node }) => {
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.dispose();
  });
  const env = () => ({ FIXTURE_CLUSTER: (cluster as RedisCluster).seeds.map((s) => `${s.host}:${s.port}`).join(',') });
  const find = (events: Event[], name: string) => events.find((e) => e.event === name) as Event;

  /** The values of `keys` read from the node that holds each, without following redirections: a key on another node fails. */
  async function valuesOnTheirNodes(keys: Record<string, number>): Promise<Record<string, string | null>> {
    const values: Record<string, string | null> = {};
    for (const [key, port] of Object.entries(keys)) {
      const direct = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      try {
        values[key] = await direct.get(key);
      } finally {
        direct.disconnect();
      }
    }
    return values;
  }

  /** Checkpoints cluster-app.cjs warm (restore scenario): its image and the keys it uses, with the port of each one's node. */
  async function checkpointWarmApp(): Promise<{ dir: string; keys: Record<string, number> }> {
    const dir = imageDir();
    const checkpoint = crac(['checkpoint', '--to', dir, '--', node, CLUSTER_APP], {
      stdout: 'pipe',
      env: { ...env(), FIXTURE_SCENARIO: 'restore' },
    });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
    const warm = find(checkpoint.events(), 'warm');
    expect(warm, checkpoint.output()).toMatchObject({ warmMessage: true });
    const keys = warm.keys as Record<string, number>;
    expect(new Set(Object.values(keys)), 'the keys live on every master').toEqual(new Set(cluster?.ports));
    return { dir, keys };
  }

  /** Restores the warm app: INCR, GET and SET on every key and a message to its subscriber, with no error reaching it. */
  async function restoreAndCheck(dir: string, keys: Record<string, number>): Promise<void> {
    const restore = crac(['restore', dir], { stdout: 'pipe', env: env() });
    expect((await restore.exited).code, restore.output()).toBe(0);
    const events = restore.events();
    expect(find(events, 'checkpoint-result')).toMatchObject({ outcome: 'restored' });
    const results = find(events, 'results');
    expect(results, restore.output()).toMatchObject({
      message: true,
      status: { cluster: 'ready', subscriber: 'ready' },
      callerErrors: [],
      eventErrors: [],
    });
    for (const key of Object.keys(keys)) {
      expect((results.after as Record<string, unknown>)[key]).toEqual({ incr: 12, get: '12', set: 'restored 12' });
    }
    expect(await valuesOnTheirNodes(keys)).toEqual(Object.fromEntries(Object.keys(keys).map((key) => [key, '12'])));
  }

  it('restores an app with two cluster clients: commands on every master and the subscription work, no error reaches the app', async () => {
    const { dir, keys } = await checkpointWarmApp();
    await restoreAndCheck(dir, keys);
  });

  it('restores the app after every node of the cluster restarted while the image waited', async () => {
    const { dir, keys } = await checkpointWarmApp();
    await (cluster as RedisCluster).restart();
    // the nodes keep no data across a restart: put back what the app had written
    for (const [key, port] of Object.entries(keys)) {
      const direct = new Redis({ host: '127.0.0.1', port });
      try {
        await direct.set(key, '11');
      } finally {
        direct.disconnect();
      }
    }
    await restoreAndCheck(dir, keys);
  });

  it('takes a leave-running checkpoint while INCRs are in flight on every master and more arrive: each runs exactly once', async () => {
    const app = crac(['checkpoint', '--to', imageDir(), '--leave-running', '--', node, CLUSTER_APP], {
      stdout: 'pipe',
      env: { ...env(), FIXTURE_SCENARIO: 'inflight' },
    });
    expect((await app.exited).code, app.output()).toBe(0);
    const events = app.events();
    expect(find(events, 'checkpoint-result')).toMatchObject({ outcome: 'checkpointed' });
    const checkpointing = find(events, 'checkpointing');
    const results = find(events, 'results');
    console.log(
      `[${name} cluster] leave-running checkpoint: ${checkpointing.completed} INCRs done before it, ${results.completed}/${results.issued} at the end`,
    );
    expect(results, app.output()).toMatchObject({ callerErrors: [], eventErrors: [] });
    expect(results.completed).toBe(results.issued);
    expect(results.completed as number, 'work went on across the checkpoint').toBeGreaterThanOrEqual(
      (checkpointing.completed as number) + 200,
    );
    // counted by the servers: none lost, none run twice
    expect(results.values).toEqual(results.perKey);
  });

  it('runs an INCR held during a leave-running checkpoint in the original only: a restored copy refuses it', async () => {
    const dir = imageDir();
    const original = crac(['checkpoint', '--to', dir, '--leave-running', '--', node, CLUSTER_APP], {
      stdout: 'pipe',
      env: { ...env(), FIXTURE_SCENARIO: 'held' },
    });
    expect((await original.exited).code, original.output()).toBe(0);
    const held = find(original.events(), 'held');
    expect(held, original.output()).toMatchObject({
      outcome: 'checkpointed',
      held: { value: 1 },
      value: 1,
      callerErrors: [],
      eventErrors: [],
    });
    const copy = crac(['restore', dir], { stdout: 'pipe', env: env() });
    expect((await copy.exited).code, copy.output()).toBe(0);
    expect(find(copy.events(), 'held'), copy.output()).toMatchObject({
      outcome: 'restored',
      held: { code: 'CRAC_EHELD' },
      value: 1,
      eventErrors: [],
    });
    expect(await valuesOnTheirNodes({ [held.key as string]: held.port as number })).toEqual({ [held.key as string]: '1' });
  });
});
