import { get } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect, createServer as createHttp2Server } from 'node:http2';
import { type AddressInfo, connect, createServer as createNetServer, type Server } from 'node:net';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointRestore } from '../cycle/checkpoint-restore.js';
import { createSimulateEngine } from '../engine/simulate.js';
import { getGlobalContext } from '../global-context.js';
import { hasServerResource, type ServerResource, serverResource } from '../http/server-resource.js';
import { markInternal } from '../http/watch-servers.js';
import { adoptEveryServer } from './servers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Watches for servers as the preload does, until the test ends. */
function watch(): void {
  cleanups.push(adoptEveryServer());
}

function listening<T extends Server>(server: T, port = 0): Promise<T> {
  cleanups.push(() => {
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    resourceOf(server)?.unregister();
    return new Promise((resolve) => server.close(resolve));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const resourceOf = (server: Server) =>
  (server as unknown as Record<symbol, ServerResource | undefined>)[Symbol.for('@crac/core:server-resource')];
const portOf = (server: Server) => (server.address() as AddressInfo).port;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** The body of one HTTP/2 request on `session`. */
function http2Get(session: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    session
      .request({ ':path': path })
      .setEncoding('utf8')
      .on('data', (chunk: string) => {
        body += chunk;
      })
      .on('end', () => resolve(body))
      .on('error', reject);
  });
}

/** A checkpoint of the global context whose restoring environment sets PORT to `port`. */
function cycleTo(port: number | undefined) {
  const saved = process.env.PORT;
  cleanups.push(() => {
    if (saved === undefined) delete process.env.PORT;
    else process.env.PORT = saved;
  });
  return checkpointRestore({
    context: getGlobalContext(),
    audit: 'off',
    engine: createSimulateEngine({
      onCheckpoint: () => {
        if (port !== undefined) process.env.PORT = String(port);
      },
    }),
  });
}

describe('every server is a resource (zero code)', () => {
  it('drains a plain http server and listens again on the PORT of the restoring environment', async () => {
    watch();
    const port = await freePort();
    process.env.PORT = String(port);
    const server = await listening(
      createServer((_request, response) => response.end('plain')),
      port,
    );
    expect(resourceOf(server)).toMatchObject({ automatic: true, name: 'http server' });
    const next = await freePort();
    await cycleTo(next);
    expect(portOf(server)).toBe(next);
    expect(await httpGet(next)).toBe('plain');
  });

  it('takes care of a net server: its connections are closed, it listens again on the same port', async () => {
    watch();
    // the server keeps each connection open: only the drain closes it
    const server = await listening(createNetServer((socket) => socket.write('hello\n')));
    const port = portOf(server);
    // a client that keeps its connection open: closed by the drain after its grace
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    const idle = connect(port, '127.0.0.1')
      .on('error', () => {})
      .resume();
    const closed = new Promise((resolve) => idle.once('close', resolve));
    await accepted;
    await cycleTo(undefined);
    await closed;
    expect(resourceOf(server)?.name).toBe('net server');
    expect(portOf(server)).toBe(port);
    const again = connect(port, '127.0.0.1');
    cleanups.push(() => again.destroy());
    expect(await new Promise<string>((resolve) => again.setEncoding('utf8').once('data', resolve))).toBe('hello\n');
  });

  it('drains an http2 server with GOAWAY: the stream in flight ends, then it listens again', async () => {
    watch();
    const server = await listening(
      createHttp2Server((request, response) => {
        setTimeout(() => response.end(`h2 ${request.url}`), request.url === '/slow' ? 300 : 0);
      }),
    );
    const port = portOf(server);
    expect(resourceOf(server)?.name).toBe('http2 server');
    const client = http2Connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => client.destroy());
    const slow = http2Get(client, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cycleTo(undefined);
    expect(await slow).toBe('h2 /slow');
    expect(client.closed || client.destroyed).toBe(true);
    const again = http2Connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => again.destroy());
    expect(await http2Get(again, '/again')).toBe('h2 /again');
  });

  it("gives way to the app's own registration: one resource per server, with the app's options", async () => {
    watch();
    const server = await listening(createServer((_request, response) => response.end('x')));
    const before = getGlobalContext().size;
    const automatic = resourceOf(server);
    const own = serverResource(server, { name: 'my server', portEnv: false });
    expect(own).not.toBe(automatic);
    expect(own).toMatchObject({ automatic: false, name: 'my server' });
    expect(getGlobalContext().size).toBe(before);
    // and the other way round: a server the app registered before it listens is not adopted
    const early = createServer();
    const earlyOwn = serverResource(early, { name: 'early' });
    await listening(early);
    expect(resourceOf(early)).toBe(earlyOwn);
  });

  it("leaves crac-node's own servers alone, and stops watching when told to", async () => {
    const stop = adoptEveryServer();
    const internal = await listening(markInternal(createNetServer()));
    expect(hasServerResource(internal)).toBe(false);
    stop();
    const later = await listening(createNetServer());
    expect(hasServerResource(later)).toBe(false);
  });
});
