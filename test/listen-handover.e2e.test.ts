import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@crac/tools/ports';
import autocannon from 'autocannon';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, testDir } from './helpers/harness.js';

// No refused connection (issue 16): the listening socket stays bound through a leave-running
// checkpoint (held outside the image, taken back after the dump), and a restore binds the port
// before the app runs (crac-init --listen). Load from a real tool: autocannon.

const APP = join(FIXTURES, 'http-app.cjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');
const CONNECTIONS = 10;
const REQUESTS = 4_000;

beforeAll(() => assertRealCriuHost());

/** A throwaway self-signed certificate for 127.0.0.1. */
function makeCertificate(): { FIXTURE_TLS_KEY: string; FIXTURE_TLS_CERT: string } {
  const dir = testDir('crac-tls-');
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'];
  const result = spawnSync('openssl', [...args, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], {
    encoding: 'utf8',
  });
  expect(result.status, `openssl could not make a test certificate: ${result.error?.message ?? result.stderr}`).toBe(0);
  return { FIXTURE_TLS_KEY: key, FIXTURE_TLS_CERT: cert };
}

/** Whether something listens on 127.0.0.1:`port`, read from /proc/net/tcp: no connection attempt. */
function listeningOn(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // local address 0100007F:PORT, state 0A (LISTEN)
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      return local === `0100007F${hex}` && state === '0A';
    });
}

interface Attempt {
  status?: number;
  body?: string;
  error?: string;
  /** Whether the connection was established (accepted by the kernel) before `onConnected` ran. */
  connected: boolean;
}

/** One GET on a new connection; `onConnected` runs once the kernel accepted it. */
function oneRequest(port: number, onConnected: () => void): Promise<Attempt> {
  return new Promise((resolve) => {
    let connected = false;
    const request = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, connected }));
    });
    request.on('socket', (socket) =>
      socket.once('connect', () => {
        connected = true;
        onConnected();
      }),
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, connected }));
    request.end();
  });
}

describe.each(NODES)('listening sockets through checkpoint and restore with real CRIU on $name', ({ bin: node, name }) => {
  describe.each([
    ['express', false],
    ['fastify', false],
    ['express', true],
    ['fastify', true],
  ] as const)('%s (https: %s)', (framework, tls) => {
    it('takes a leave-running checkpoint under autocannon load: no connection refused, no non-2xx, every request answered but those sent after Connection: close', async () => {
      const port = await freePort();
      const env = { FIXTURE_FRAMEWORK: framework, PORT: String(port), ...(tls ? makeCertificate() : {}) };
      const dir = imageDir();
      const app = crac(['checkpoint', '--to', dir, '--', node, APP], { stdout: 'file', env });
      const listening = await app.waitFor((e) => e.event === 'listening');

      const errors: Record<string, number> = {};
      let answered = 0;
      // paced (REQUESTS at 1000/s): the load runs before, during and after the checkpoint
      const load = autocannon({
        url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
        connections: CONNECTIONS,
        amount: REQUESTS,
        overallRate: 1_000,
        timeout: 60,
      });
      load.on('response', () => answered++);
      load.on('reqError', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        errors[code] = (errors[code] ?? 0) + 1;
      });
      while (answered < 300) await sleep(10);
      const checkpoint = crac(['checkpoint', '--pid', String(listening.pid), '--to', dir, '--leave-running'], { stdout: 'pipe' });
      expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);
      const answeredByCheckpoint = answered;
      expect(await app.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'checkpointed', listening: [port] });
      const result = await load;
      console.log(
        `[${name} ${framework}${tls ? ' https' : ''}] autocannon across a leave-running checkpoint: ${JSON.stringify({ ok: result['2xx'], non2xx: result.non2xx, errors, timeouts: result.timeouts, maxLatencyMs: result.latency.max })}`,
      );

      expect(answeredByCheckpoint, 'the checkpoint ran while the load did').toBeLessThan(REQUESTS);
      expect(errors.ECONNREFUSED ?? 0, 'connection attempts refused').toBe(0);
      expect(result.non2xx).toBe(0);
      expect(result.timeouts).toBe(0);
      // What is left is autocannon's own: it writes its next request on a connection as soon as a
      // response ends, without reading that response's `Connection: close` (the drain's, on the
      // last response of each kept-alive connection); the server then closes the connection, and
      // that one request is lost: reset (http) or dropped at the TLS close (https). At most one a
      // connection; a client that honours the header never sends it.
      const lost = REQUESTS - result['2xx'];
      expect(Object.keys(errors).filter((code) => code !== 'ECONNRESET')).toEqual([]);
      expect(errors.ECONNRESET ?? 0).toBeLessThanOrEqual(lost);
      expect(lost, 'requests not answered: only those written after Connection: close').toBeLessThanOrEqual(CONNECTIONS);
      app.child.kill('SIGTERM');
    });
  });

  it('restores while a client connects: it waits for the restored app, on the same PORT and on a changed one', async () => {
    const port = await freePort();
    const dir = imageDir();
    const checkpoint = crac(['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 200`, '--', node, APP], {
      stdout: 'file',
      env: { FIXTURE_FRAMEWORK: 'express', PORT: String(port) },
    });
    expect((await checkpoint.exited).code, checkpoint.output()).toBe(0);

    for (const restorePort of [port, await freePort()]) {
      // the restored app waits at FIXTURE_GATE before its server listens: the client connects meanwhile
      const gate = join(testDir('crac-gate-'), 'open');
      const restore = crac(['restore', dir], { stdout: 'file', env: { PORT: String(restorePort), FIXTURE_GATE: gate } });
      // watched without connecting (a connection attempt before anyone bound the port is refused by definition)
      while (!listeningOn(restorePort)) {
        expect(restore.child.exitCode, restore.output()).toBeNull();
        await sleep(2);
      }
      const attempt = await oneRequest(restorePort, () => writeFileSync(gate, ''));
      expect(attempt, restore.output()).toMatchObject({ status: 200, connected: true });
      expect(JSON.parse(attempt.body ?? '{}')).toMatchObject({ ok: true, port: restorePort });
      expect(existsSync(gate)).toBe(true);
      expect(await restore.waitFor((e) => e.event === 'cycle-end')).toMatchObject({ outcome: 'restored', listening: [restorePort] });
      restore.child.kill('SIGTERM');
      expect((await restore.exited).code, restore.output()).toBe(0);
    }
  });
});
