import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@crac/tools/ports';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, NODES, start, stopAll, tempDir } from './helpers/harness.js';

const APP = join(FIXTURES, 'http-app.cjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
// FIXTURE_FRAMEWORK of http-app.cjs: express is Express 5, express4 Express 4 (an npm alias in package.json)
const FRAMEWORKS = ['express', 'express4', 'fastify'] as const;

beforeAll(() => assertRealCriuHost());

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
function imageDir(): string {
  const dir = tempDir('crac-http-image-');
  cleanups.push(dir.remove);
  return join(dir.path, 'image');
}

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** One request on a new connection, timed from the call to the last byte. */
function timedGet(port: number, path = '/', agent: Agent | false = false): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, ms: performance.now() - started }));
    }).on('error', reject);
  });
}

const checkpointWithWarmup = (node: string, framework: string, dir: string, port: number, requests = 3_000) =>
  crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} ${requests}`, '--', node, APP], {
    stdout: 'file',
    env: { FIXTURE_FRAMEWORK: framework, PORT: String(port) },
  });

/** Ms from `since` to the first 200 on `port` (polled every 5 ms), and that answer's body. */
async function firstOk(port: number, since: number, timeoutMs = 30_000): Promise<{ ms: number; body: Record<string, unknown> }> {
  for (;;) {
    try {
      const answer = await timedGet(port);
      if (answer.status === 200) return { ms: performance.now() - since, body: JSON.parse(answer.body) };
    } catch {
      // not listening yet
    }
    if (performance.now() - since > timeoutMs) throw new Error(`no answer on port ${port} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

describe.each(NODES)('HTTP adapters with real CRIU on $name', ({ name, bin: node }) => {
  it('restores 8 copies of one image at once, each on its own PORT with its own environment', async () => {
    const dir = imageDir();
    const checkpoint = checkpointWithWarmup(node, 'express', dir, await freePort(), 200);
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

    // one alone, for comparison
    const alonePort = await freePort();
    const aloneStarted = performance.now();
    const alone = crac(['restore', dir], { stdout: 'file', env: { PORT: String(alonePort), FIXTURE_COPY: 'alone' } });
    const single = await firstOk(alonePort, aloneStarted);
    expect(single.body).toMatchObject({ port: alonePort, copy: 'alone' });
    alone.child.kill('SIGTERM');
    expect((await alone.exited).code).toBe(0);

    const ports: number[] = [];
    while (ports.length < 8) {
      const port = await freePort();
      if (!ports.includes(port) && port !== alonePort) ports.push(port);
    }
    const started = performance.now();
    const copies = ports.map((port, i) =>
      crac(['restore', dir], { stdout: 'file', env: { PORT: String(port), FIXTURE_COPY: `copy-${i}` } }),
    );
    const answers = await Promise.all(ports.map((port) => firstOk(port, started)));
    answers.forEach(({ body }, i) => {
      expect(body, `copy ${i}: ${copies[i]?.output()}`).toMatchObject({ ok: true, port: ports[i], copy: `copy-${i}` });
    });
    const times = answers.map((answer) => answer.ms);
    console.log(
      `[${name}] first 200 of 8 restores at once: median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms; one alone ${single.ms.toFixed(0)} ms (max/alone ${(Math.max(...times) / single.ms).toFixed(1)}x)`,
    );
    for (const copy of copies) copy.child.kill('SIGTERM');
    for (const copy of copies) expect((await copy.exited).code, copy.output()).toBe(0);
  });

  describe.each(FRAMEWORKS)('%s', (framework) => {
    it('restores a warmed app that answers its first request at warm speed, then on another PORT', async () => {
      // cold: the first request of a fresh start
      const coldPort = await freePort();
      const cold = start(node, [APP], { stdout: 'pipe', env: { FIXTURE_FRAMEWORK: framework, PORT: String(coldPort) } });
      await cold.waitFor((e) => e.event === 'listening');
      const coldFirst = await timedGet(coldPort);
      expect(coldFirst.status).toBe(200);
      cold.child.kill('SIGTERM');
      await cold.exited;

      // warm: checkpointed after a few thousand requests, then restored
      const port = await freePort();
      const dir = imageDir();
      const checkpoint = checkpointWithWarmup(node, framework, dir, port);
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

      // stdout on a file: SIGTERM goes straight to crac restore, which passes it on and ends with the app
      const restore = crac(['restore', dir], { stdout: 'file', env: { PORT: String(port) } });
      const restored = await restore.waitFor((e) => e.event === 'cycle-end');
      expect(restored).toMatchObject({ outcome: 'restored', listening: [port] });
      const warmFirst = await timedGet(port);
      expect(warmFirst.status).toBe(200);
      expect(JSON.parse(warmFirst.body).served as number, 'the restored app carries on with its state').toBeGreaterThan(3_000);
      const ratio = coldFirst.ms / warmFirst.ms;
      console.log(
        `[${name} ${framework}] first request: cold start ${coldFirst.ms.toFixed(1)} ms, restored ${warmFirst.ms.toFixed(1)} ms (cold/warm ${ratio.toFixed(1)}x)`,
      );
      // loose: the restored app is not slower than a cold one (the measured ratio is printed above)
      expect(warmFirst.ms).toBeLessThan(coldFirst.ms);
      restore.child.kill('SIGTERM');
      expect((await restore.exited).code).toBe(0);

      // the same image, restored with another PORT in the environment
      const otherPort = await freePort();
      const moved = crac(['restore', dir], { stdout: 'pipe', env: { PORT: String(otherPort) } });
      expect(await moved.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'restored', listening: [otherPort] });
      expect((await timedGet(otherPort)).status).toBe(200);
      await expect(timedGet(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });

    it('restores while the port is taken: a RestoreError that says so, and the app stays up', async () => {
      const port = await freePort();
      const dir = imageDir();
      const checkpoint = checkpointWithWarmup(node, framework, dir, port, 200);
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => squatter.close(resolve)));
      // outside a pid namespace: the pid it prints is the one process.kill() finds here
      const restore = crac(['restore', dir, '--pid-namespace', 'never'], { stdout: 'pipe', env: { PORT: String(port) } });
      const failed = await restore.waitFor((e) => e.event === 'cycle-end');
      expect(failed).toMatchObject({
        error: { name: 'RestoreError', code: 'CRAC_ERESTORE', outcome: 'restored' },
        causes: [{ code: 'CRAC_ELISTEN' }],
        listening: [null],
      });
      const [cause] = failed.causes as { message: string }[];
      expect(cause?.message).toContain(`cannot listen on 127.0.0.1:${port} after the restore: the address is taken (EADDRINUSE)`);
      const running = await restore.waitFor((e) => e.event === 'still-running');
      expect(() => process.kill(running.pid as number, 0), 'the restored app is alive').not.toThrow();
    });

    it('takes a leave-running checkpoint under load: no response is cut, every request that got a connection is answered', async () => {
      const port = await freePort();
      const dir = imageDir();
      const app = crac(['checkpoint', '--to', dir, '--', node, APP], {
        stdout: 'file',
        env: { FIXTURE_FRAMEWORK: framework, PORT: String(port), FIXTURE_SLOW_MS: '20' },
      });
      const listening = await app.waitFor((e) => e.event === 'listening');

      const load = startLoad(port, 8);
      await sleep(500);
      const checkpoint = crac(['checkpoint', '--pid', String(listening.pid), '--to', dir, '--leave-running'], { stdout: 'pipe' });
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
      expect(await app.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'checkpointed', listening: [port] });
      load.checkpointed();
      await sleep(500);
      const stats = await load.stop();
      console.log(`[${name} ${framework}] leave-running checkpoint under load: ${JSON.stringify(stats)}`);

      const said = `\n${checkpoint.output()}\n${app.output()}`;
      expect(stats.cut, `responses cut mid-way${said}`).toBe(0);
      // the listener stayed bound: clients waited in its backlog (issue 16)
      expect(stats.refused, `connection attempts refused${said}`).toBe(0);
      expect(stats.lost, `requests that got a connection and no answer${said}`).toBe(0);
      expect(stats.other).toEqual([]);
      expect(stats.complete).toBeGreaterThan(100);
      expect(stats.completeAfterCheckpoint, 'served again after the checkpoint').toBeGreaterThan(0);
      app.child.kill('SIGTERM');
    });
  });
});

interface LoadStats {
  /** Requests answered in full. */
  complete: number;
  /** Requests answered in full after the checkpoint's cycle ended. */
  completeAfterCheckpoint: number;
  /** Connection attempts refused (none: the listener stays bound through the checkpoint). */
  refused: number;
  /** Requests sent on a kept-alive connection just as the server closed it as idle: reset before reaching the app (the keep-alive race every HTTP/1.1 server has; clients retry them, and this one's next request takes a new connection). */
  retriedIdleClosed: number;
  /** Responses that began and did not end. */
  cut: number;
  /** Requests on a new connection that were reset before any answer. */
  lost: number;
  /** Anything else, by error code. */
  other: string[];
}

/** `concurrency` clients requesting /slow in a loop over keep-alive connections, until stopped. */
function startLoad(port: number, concurrency: number): { checkpointed(): void; stop(): Promise<LoadStats> } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const stats: LoadStats = { complete: 0, completeAfterCheckpoint: 0, refused: 0, retriedIdleClosed: 0, cut: 0, lost: 0, other: [] };
  let stopping = false;
  let checkpointed = false;
  const once = () =>
    new Promise<void>((resolve) => {
      const request = get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.on('error', () => {});
        response.on('close', () => {
          if (response.complete && bytes === 8192) {
            stats.complete++;
            if (checkpointed) stats.completeAfterCheckpoint++;
          } else stats.cut++;
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
    const deadline = Date.now() + 60_000;
    while (!stopping && Date.now() < deadline) await once();
  });
  return {
    /** From now on, completions count as after the checkpoint. */
    checkpointed() {
      checkpointed = true;
    },
    async stop() {
      stopping = true;
      await Promise.all(clients);
      agent.destroy();
      return stats;
    },
  };
}
