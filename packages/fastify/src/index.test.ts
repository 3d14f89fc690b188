import dns from 'node:dns';
import { Agent, get } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointRestore, Context } from '@crac/core';
import { createSimulateEngine } from '@crac/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import cracFastifyDefault, { cracFastify } from './index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function app(context: Context, options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const fastify = Fastify();
  await fastify.register(cracFastify, { context, ...options });
  fastify.get('/', async () => ({ hello: 'world' }));
  fastify.get('/slow', async () => {
    await sleep(150);
    return { slow: true };
  });
  cleanups.push(() => fastify.close());
  return fastify;
}

function fetchJson(host: string, port: number, path = '/', agent?: Agent): Promise<{ body: unknown; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    get({ host, port, path, agent: agent ?? false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ body: JSON.parse(body), connection: response.headers.connection }));
    }).on('error', reject);
  });
}

describe('cracFastify', () => {
  it('is a fastify plugin, named and default-exported', () => {
    expect(cracFastifyDefault).toBe(cracFastify);
    expect((cracFastify as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')]).toBe('@crac/fastify');
  });

  it('drains app.server (in flight: Connection: close) and listens again, without fastify.close()', async () => {
    const context = new Context();
    const fastify = await app(context);
    const close = vi.spyOn(fastify, 'close');
    const onClose = vi.fn();
    fastify.addHook('onClose', (_instance, done) => {
      onClose();
      done();
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const slow = fetchJson('127.0.0.1', port, '/slow', agent);
    await sleep(30);
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        expect(fastify.server.listening).toBe(false);
        await expect(fetchJson('127.0.0.1', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      },
    });
    await checkpointRestore({ engine, context });
    expect(await slow).toEqual({ body: { slow: true }, connection: 'close' });
    expect(close).not.toHaveBeenCalled();
    expect(onClose).not.toHaveBeenCalled();
    expect(fastify.server.listening).toBe(true);
    expect(await fetchJson('127.0.0.1', port, '/', agent)).toEqual({ body: { hello: 'world' }, connection: 'keep-alive' });
    // and again: the cycle can be repeated
    await checkpointRestore({ engine: 'simulate', context });
    expect(await fetchJson('127.0.0.1', port)).toMatchObject({ body: { hello: 'world' } });
  });

  it('handles both bindings of localhost (127.0.0.1 and ::1)', async () => {
    // this host's resolver may know only 127.0.0.1: make localhost resolve as on most machines
    const lookup = dns.lookup;
    vi.spyOn(dns, 'lookup').mockImplementation(((hostname: string, options: unknown, callback: unknown) => {
      if (hostname === 'localhost' && typeof callback === 'function' && (options as { all?: boolean })?.all) {
        return callback(null, [
          { address: '127.0.0.1', family: 4 },
          { address: '::1', family: 6 },
        ]);
      }
      return Reflect.apply(lookup, dns, [hostname, options, callback]);
    }) as typeof dns.lookup);
    const context = new Context();
    const fastify = await app(context);
    await fastify.listen({ port: 0, host: 'localhost' });
    const addresses = fastify.addresses() as AddressInfo[];
    expect(addresses.map((address) => address.address).sort()).toEqual(['127.0.0.1', '::1']);
    expect(fastify.crac.resources.size).toBe(2);
    expect(context.size).toBe(2);
    const port = addresses[0]?.port as number;

    const servers = [...fastify.crac.resources].map((resource) => resource.server as Server);
    const engine = createSimulateEngine({
      onCheckpoint: async () => {
        expect(servers.map((server) => server.listening)).toEqual([false, false]);
        for (const host of ['127.0.0.1', '::1']) await expect(fetchJson(host, port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      },
    });
    await checkpointRestore({ engine, context });
    for (const host of ['127.0.0.1', '::1']) expect(await fetchJson(host, port)).toMatchObject({ body: { hello: 'world' } });
  });

  it('follows PORT after a restore', async () => {
    const context = new Context();
    const fastify = await app(context, { portEnv: 'CRAC_TEST_FASTIFY_PORT' });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const probe = Fastify();
    await probe.listen({ port: 0, host: '127.0.0.1' });
    const next = (probe.server.address() as AddressInfo).port;
    await probe.close();
    const engine = createSimulateEngine({
      onCheckpoint: () => {
        process.env.CRAC_TEST_FASTIFY_PORT = String(next);
      },
    });
    cleanups.push(() => delete process.env.CRAC_TEST_FASTIFY_PORT);
    await checkpointRestore({ engine, context });
    expect(await fetchJson('127.0.0.1', next)).toMatchObject({ body: { hello: 'world' } });
  });

  it('lets the app close itself: its servers leave the context', async () => {
    const context = new Context();
    const fastify = await app(context);
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect(context.size).toBe(1);
    await fastify.close();
    expect(context.size).toBe(0);
  });
});
