// heavy-start: a quote API whose start does about a second of real work before it can answer.
// Run cold: `node app.js`. Checkpoint warm: see README.md.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { serverResource } from '@crac/core';
import { buildCatalog } from './src/catalog.js';
import { loadRules } from './src/rules.js';
import { compileSchemas } from './src/schemas.js';

const rules = loadRules();
const schemas = compileSchemas();
const catalog = buildCatalog();
const startupMs = performance.now();

function json(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/search') return json(response, 200, catalog.search(url.searchParams.get('q') ?? '', 10));
  if (url.pathname === '/quote') {
    const query = { sku: url.searchParams.get('sku'), qty: url.searchParams.get('qty') };
    if (!schemas.quote(query)) return json(response, 400, { errors: schemas.quote.errors });
    const product = catalog.bySku.get(query.sku);
    if (!product) return json(response, 404, { error: `no product ${query.sku}` });
    return json(response, 200, rules.price({ sku: product.sku, qty: query.qty, price: product.price }));
  }
  if (url.pathname === '/health')
    return json(response, 200, { ok: true, products: catalog.size, schemas: schemas.count, rules: rules.count, pid: process.pid });
  json(response, 404, { error: 'not found' });
});

// The listening socket cannot travel in an image: @crac/core drains and closes it before the
// checkpoint and listens again after the restore (on PORT from the restoring environment).
serverResource(server, { name: 'heavy-start http server' });

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: server.address().port, startupMs: Math.round(startupMs), pid: process.pid }));
});
