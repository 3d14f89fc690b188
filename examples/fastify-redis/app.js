// fastify-redis: product prices with a Redis cache, invalidated over a pub/sub channel, and
// orders written through a generic-pool pool of dedicated Redis connections (MULTI/EXEC).
// Settings from the environment: PORT, REDIS_URL.
import { cracFastify } from '@crac/fastify';
import { cracPool } from '@crac/generic-pool';
import { cracRedis } from '@crac/ioredis';
import Fastify from 'fastify';
import { createPool } from 'generic-pool';
import Redis from 'ioredis';

const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// fromEnv: after a restore, REDIS_URL of the restoring environment applies
const cache = cracRedis(new Redis(redisUrl()), { fromEnv: true, name: 'cache' });
const subscriber = cracRedis(new Redis(redisUrl()), { fromEnv: true, name: 'price updates' });
// the factory reads REDIS_URL when it connects: after a restore, the new one
const orders = cracPool(
  createPool({ create: async () => new Redis(redisUrl()), destroy: async (client) => void (await client.quit()) }, { min: 2, max: 4 }),
  { name: 'order connections' },
);

// A price is computed once (the expensive part), cached in Redis and in memory; a message on
// the `price-updates` channel drops it from memory everywhere.
const local = new Map();
await subscriber.subscribe('price-updates');
subscriber.on('message', (_channel, id) => local.delete(id));

function computePrice(id) {
  let value = 0;
  for (let i = 1; i < 20_000; i++) value = (value + Math.sin(Number(id) * i) * 1000) % 100_000;
  return Math.round(Math.abs(value)) / 100;
}

const app = Fastify();
await app.register(cracFastify);

app.get('/prices/:id', async (request) => {
  const { id } = request.params;
  if (local.has(id)) return { id, price: local.get(id), from: 'memory' };
  const cached = await cache.get(`price:${id}`);
  const price = cached === null ? computePrice(id) : Number(cached);
  if (cached === null) await cache.set(`price:${id}`, String(price), 'EX', 600);
  local.set(id, price);
  return { id, price, from: cached === null ? 'computed' : 'redis' };
});
app.post('/prices/:id/invalidate', async (request) => {
  await cache.del(`price:${request.params.id}`);
  await cache.publish('price-updates', request.params.id);
  return { ok: true };
});
app.post('/orders', async (request, reply) => {
  const { sku, qty } = request.body ?? {};
  if (typeof sku !== 'string' || !Number.isInteger(qty)) return reply.code(400).send({ error: 'sku is a string, qty an integer' });
  const id = await orders.use(async (client) => {
    const [[, next]] = await client.multi().incr('order:id').lpush('orders', JSON.stringify({ sku, qty })).exec();
    return next;
  });
  return reply.code(201).send({ id });
});
app.get('/health', async () => ({ ok: (await cache.ping()) === 'PONG', pid: process.pid }));

const port = Number(process.env.PORT ?? 3000);
await app.listen({ port, host: '127.0.0.1' });
console.log(JSON.stringify({ event: 'listening', port, pid: process.pid }));
