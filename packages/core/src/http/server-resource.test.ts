import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointRestore } from '../cycle/checkpoint-restore.js';
import { Context } from '../context.js';
import type { Engine } from '../engine/engine.js';
import { createSimulateEngine } from '../engine/simulate.js';
import { CheckpointError, RestoreError } from '../errors.js';
import { serverResource } from './server-resource.js';
import { watchServers } from './watch-servers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server on 127.0.0.1, port 0; `/slow?ms=N` answers after N ms, `/hang` never does. */
async function startServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/hang') return;
    const ms = Number(url.searchParams.get('ms') ?? 0);
    setTimeout(() => response.end(`done ${url.pathname}`), ms);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, port: (server.address() as AddressInfo).port };
}

interface Answer {
  status: number;
  body: string;
  connection: string | undefined;
}

function request(port: number, path: string, agent?: Agent, host = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get({ host, port, path, agent: agent ?? false }, (response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection }));
    }).on('error', reject);
  });
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(() => agent.destroy());
  return agent;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function withEnv(name: string, value: string | undefined): void {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  cleanups.push(() => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  });
}

/**
 * An engine that, like criu, has servers hand their listening sockets over instead of closing
 * them; `during` runs where the dump would, and it reports `outcome`.
 */
function holdingEngine(during: () => Promise<void>, outcome: 'checkpointed' | 'restored' = 'checkpointed'): Engine {
  return {
    name: 'holding',
    holdsListeners: true,
    checkpoint: async () => {
      await during();
      return { outcome };
    },
  };
}

describe('serverResource with an engine that holds listeners (as criu)', () => {
  it('keeps the port bound through the checkpoint: a client connecting meanwhile waits and is answered, on the same socket', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    let waited: Promise<Answer> | undefined;
    const result = await checkpointRestore({
      context,
      audit: 'off',
      engine: holdingEngine(async () => {
        // the app holds no listener now, yet the port is bound: the connection waits in the backlog
        expect(server.listening).toBe(false);
        expect(heldInodes(port)).toHaveLength(1);
        waited = request(port, '/waited');
        await sleep(100);
      }),
    });
    expect(result.outcome).toBe('checkpointed');
    expect(await waited).toMatchObject({ status: 200, body: 'done /waited' });
    expect(server.listening).toBe(true);
    expect((server.address() as AddressInfo).port).toBe(port);
    expect(await request(port, '/again')).toMatchObject({ status: 200 });
  });

  it('gives the socket back after a failed checkpoint too', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    let waited: Promise<Answer> | undefined;
    const engine = holdingEngine(async () => {
      waited = request(port, '/waited');
      await sleep(50);
      throw new Error('the dump failed');
    });
    await expect(checkpointRestore({ context, engine, audit: 'off' })).rejects.toBeInstanceOf(CheckpointError);
    expect(await waited).toMatchObject({ status: 200, body: 'done /waited' });
    expect((server.address() as AddressInfo).port).toBe(port);
  });

  it("leaves the original's socket alone in a restored copy: the copy listens on the port the restoring environment names", async () => {
    const { server, port } = await startServer();
    const context = new Context();
    withEnv('PORT', String(port));
    serverResource(server, { context });
    const other = await freePort();
    await checkpointRestore({
      context,
      audit: 'off',
      engine: holdingEngine(async () => {
        process.env.PORT = String(other);
      }, 'restored'),
    });
    expect((server.address() as AddressInfo).port).toBe(other);
    // the original's socket is still held for the original (here: this process, until it exits)
    expect(heldInodes(port)).toHaveLength(1);
  });
});

/** Inodes of the sockets listening on 127.0.0.1:`port` (/proc/net/tcp, state 0A). */
function heldInodes(port: number): string[] {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === local && fields[3] === '0A')
    .map((fields) => fields[9] ?? '');
}

describe('serverResource', () => {
  it('lets a request in flight finish with Connection: close, closes the listener, and listens again on the same address', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    const agent = keepAliveAgent();
    const inFlight = request(port, '/slow?ms=150', agent);
    await sleep(30);
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        expect(server.listening).toBe(false);
        await expect(request(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      },
    });
    const result = await checkpointRestore({ engine, context });
    expect(result.outcome).toBe('simulated');
    expect(await inFlight).toEqual({ status: 200, body: 'done /slow', connection: 'close' });
    expect(result.timings.beforeCheckpointMs).toBeGreaterThan(80);
    expect(server.listening).toBe(true);
    expect((server.address() as AddressInfo).port).toBe(port);
    expect(await request(port, '/again', agent)).toMatchObject({ status: 200, body: 'done /again', connection: 'keep-alive' });
  });

  it('closes idle keep-alive connections at once', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    const agent = keepAliveAgent();
    expect(await request(port, '/', agent)).toMatchObject({ connection: 'keep-alive' });
    const [socket] = Object.values(agent.freeSockets).flat() as Socket[];
    expect(socket?.destroyed).toBe(false);
    const closed = new Promise<void>((resolve) => socket?.once('close', () => resolve()));
    const result = await checkpointRestore({
      engine: createSimulateEngine({ onCheckpoint: () => closed }),
      context,
    });
    expect(result.timings.beforeCheckpointMs).toBeLessThan(1_000);
  });

  it('answers a request that arrives on an open connection during the drain, with Connection: close', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    // a slow client: its request has begun (the connection is not idle) when the drain starts
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    let raw = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      raw += chunk;
    });
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.write('GET /late HTTP/1.1\r\nHost: x\r\n');
    await sleep(50);
    const cycle = checkpointRestore({ engine: 'simulate', context });
    await sleep(50);
    socket.write('\r\n');
    await cycle;
    await ended;
    expect(raw).toMatch(/^HTTP\/1.1 200 OK/);
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(raw).toMatch(/done \/late$/);
  });

  it('closes what is still running after drainTimeoutMs, and the checkpoint goes on', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context, drainTimeoutMs: 100 });
    const hanging = request(port, '/hang', keepAliveAgent());
    await sleep(30);
    let connections = -1;
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        connections = await new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count)));
      },
    });
    await checkpointRestore({ engine, context });
    expect(connections).toBe(0);
    await expect(hanging).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(server.listening).toBe(true);
  });

  it('refuses the checkpoint when told to, and the requests run on while the server listens again', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context, drainTimeoutMs: 50, onDrainTimeout: 'refuse' });
    const slow = request(port, '/slow?ms=300');
    await sleep(30);
    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    const cause = (error as CheckpointError).errors[0].cause as { code: string; message: string };
    expect(cause.code).toBe('CRAC_EDRAIN');
    expect(cause.message).toContain('1 connection(s) still busy after 50 ms');
    expect(server.listening).toBe(true);
    expect(await slow).toMatchObject({ status: 200, body: 'done /slow' });
    expect(await request(port, '/')).toMatchObject({ status: 200 });
  });

  it('listens on the port PORT names in the restoring environment', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    withEnv('PORT', String(port));
    const next = await freePort();
    const engine = createSimulateEngine({
      onCheckpoint: () => {
        process.env.PORT = String(next);
      },
    });
    await checkpointRestore({ engine, context });
    expect(server.address()).toMatchObject({ address: '127.0.0.1', port: next });
    expect(await request(next, '/')).toMatchObject({ status: 200 });
  });

  it('follows another variable when told to, and leaves alone a server that PORT did not name', async () => {
    const { server: main, port } = await startServer();
    const { server: admin, port: adminPort } = await startServer();
    const context = new Context();
    serverResource(main, { context, portEnv: 'HTTP_PORT' });
    serverResource(admin, { context });
    withEnv('HTTP_PORT', undefined);
    withEnv('PORT', String(port)); // names main's port, not admin's
    const [next, other] = [await freePort(), await freePort()];
    const engine = createSimulateEngine({
      onCheckpoint: () => {
        process.env.HTTP_PORT = String(next);
        process.env.PORT = String(other);
      },
    });
    await checkpointRestore({ engine, context });
    expect((main.address() as AddressInfo).port).toBe(next);
    expect((admin.address() as AddressInfo).port).toBe(adminPort);
  });

  it('fails the restore with CRAC_ELISTEN when the port is taken, runs on, and listens at the next cycle', async () => {
    const { server, port } = await startServer();
    const context = new Context();
    serverResource(server, { context });
    const squatter = createNetServer();
    const engine = createSimulateEngine({
      onCheckpoint: () => new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve)),
    });
    const error = await checkpointRestore({ engine, context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    expect((error as RestoreError).outcome).toBe('simulated');
    const cause = (error as RestoreError).errors[0]?.cause as { code: string; message: string; cause: { code: string } };
    expect(cause.code).toBe('CRAC_ELISTEN');
    expect(cause.cause.code).toBe('EADDRINUSE');
    expect(cause.message).toContain(`cannot listen on 127.0.0.1:${port} after the restore: the address is taken`);
    expect(server.listening).toBe(false);

    await new Promise((resolve) => squatter.close(resolve));
    await checkpointRestore({ engine: 'simulate', context });
    expect((server.address() as AddressInfo).port).toBe(port);
  });

  it('registers a server once, and unregisters it when the app closes it', async () => {
    const { server } = await startServer();
    const context = new Context();
    const resource = serverResource(server, { context });
    expect(serverResource(server, { context })).toBe(resource);
    expect(context.size).toBe(1);
    await new Promise((resolve) => server.close(resolve));
    expect(context.size).toBe(0);
    expect(serverResource(server, { context })).not.toBe(resource);
  });

  it('drains an https server whose client opened TCP and never finished the TLS handshake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // a throwaway self-signed certificate (openssl is needed: a missing one fails the test, naming it)
    const made = spawnSync(
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
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, `openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`).toBe(0);
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_, response) => response.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const { port } = server.address() as AddressInfo;
    const context = new Context();
    serverResource(server, { context, drainTimeoutMs: 3_000 });
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => {});
    cleanups.push(() => silent.destroy());
    await new Promise((resolve) => silent.once('connect', resolve));
    const closed = new Promise((resolve) => silent.once('close', resolve));
    const result = await checkpointRestore({ engine: 'simulate', context });
    expect(result.outcome).toBe('simulated');
    await closed;
    expect(server.listening).toBe(true);
  });

  it('rejects what is not a server, and bad options', () => {
    expect(() => serverResource({} as Server)).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    expect(() => serverResource(createServer(), { onDrainTimeout: 'wait' as 'close' })).toThrow(/onDrainTimeout/);
  });
});

describe('watchServers', () => {
  it('sees the servers that match when they listen, until stopped', async () => {
    const found: Server[] = [];
    const handler = () => {};
    const stop = watchServers(
      (server) => server.listeners('request').includes(handler),
      (server) => found.push(server as Server),
    );
    cleanups.push(stop);
    const mine = createServer(handler);
    const other = createServer(() => {});
    for (const server of [mine, other]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => server.close());
    }
    expect(found).toEqual([mine]);
    stop();
    const later = createServer(handler).listen(0, '127.0.0.1');
    cleanups.push(() => later.close());
    expect(found).toEqual([mine]);
  });
});
