import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, get, type Server } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointRestore, Context } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import express5, { type Express } from 'express';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CracExpressMiddleware, cracExpress } from './index.js';

// Both majors the peer range covers: Express 4 (app._router) is installed under the alias express4.
const require = createRequire(import.meta.url);
const EXPRESSES = [
  { name: `Express ${require('express/package.json').version}`, express: express5 },
  { name: `Express ${require('express4/package.json').version}`, express: require('express4') as typeof express5 },
];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let tls: { key: Buffer; cert: Buffer };
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'crac-express-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function app(express: typeof express5, context: Context): { app: Express; crac: CracExpressMiddleware } {
  const crac = cracExpress({ context });
  cleanups.push(() => crac.dispose());
  const app = express();
  app.use(crac);
  app.get('/', (_req, res) => {
    res.send('hello');
  });
  app.get('/slow', (_req, res) => {
    setTimeout(() => res.send('slow'), 150);
  });
  return { app, crac };
}

function listening(server: Server): Promise<number> {
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return new Promise((resolve) => {
    if (server.listening) resolve((server.address() as AddressInfo).port);
    else server.once('listening', () => resolve((server.address() as AddressInfo).port));
  });
}

function fetchText(port: number, path = '/', agent?: Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ body, connection: response.headers.connection }));
    }).on('error', reject);
  });
}

/** Runs a simulated cycle, checking that the server is closed in the middle of it. */
async function cycle(context: Context, server: Server, port: number): Promise<void> {
  const engine = createSimulateEngine({
    onCheckpoint: async () => {
      expect(server.listening).toBe(false);
      await expect(fetchText(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    },
  });
  await checkpointRestore({ engine, context });
  expect(server.listening).toBe(true);
}

describe.each(EXPRESSES)('cracExpress with $name', ({ express }) => {
  it('finds the server of app.listen() before any request, drains it and listens again', async () => {
    const context = new Context();
    const { app: application, crac } = app(express, context);
    const server = application.listen(0, '127.0.0.1');
    const port = await listening(server);
    expect(context.size).toBe(1);
    expect([...crac.resources].map((resource) => resource.server)).toEqual([server]);
    await cycle(context, server, port);
    expect(await fetchText(port)).toMatchObject({ body: 'hello' });
  });

  it('finds http.createServer(app).listen(), and an in-flight request ends with Connection: close', async () => {
    const context = new Context();
    const { app: application } = app(express, context);
    const server = createServer(application).listen(0, '127.0.0.1');
    const port = await listening(server);
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const slow = fetchText(port, '/slow', agent);
    await sleep(30);
    await cycle(context, server, port);
    expect(await slow).toEqual({ body: 'slow', connection: 'close' });
    expect(await fetchText(port, '/', agent)).toEqual({ body: 'hello', connection: 'keep-alive' });
  });

  it('finds https.createServer(options, app).listen()', async () => {
    const context = new Context();
    const { app: application } = app(express, context);
    const server = createHttpsServer(tls, application).listen(0, '127.0.0.1');
    const port = await listening(server as unknown as Server);
    expect(context.size).toBe(1);
    await checkpointRestore({ engine: 'simulate', context });
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('hello');
  });

  it('finds the app when the middleware sits in a router', async () => {
    const context = new Context();
    const crac = cracExpress({ context });
    cleanups.push(() => crac.dispose());
    const application = express();
    const router = express.Router();
    router.use(crac);
    application.use('/api', router);
    const server = application.listen(0, '127.0.0.1');
    await listening(server);
    expect(context.size).toBe(1);
  });

  it('finds at its first request a server that listened before the middleware was added', async () => {
    const context = new Context();
    const application = express();
    const server = application.listen(0, '127.0.0.1');
    const port = await listening(server);
    const crac = cracExpress({ context });
    cleanups.push(() => crac.dispose());
    application.use(crac);
    application.get('/', (_req, res) => {
      res.send('late');
    });
    expect(context.size).toBe(0);
    expect(await fetchText(port)).toMatchObject({ body: 'late' });
    expect(context.size).toBe(1);
    await cycle(context, server, port);
  });

  it('leaves alone the servers of other apps, and registers a server once', async () => {
    const context = new Context();
    const { app: application } = app(express, context);
    const other = express().listen(0, '127.0.0.1');
    await listening(other);
    const server = application.listen(0, '127.0.0.1');
    const port = await listening(server);
    await fetchText(port);
    await fetchText(port);
    expect(context.size).toBe(1);
  });
});
