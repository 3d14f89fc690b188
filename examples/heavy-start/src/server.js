function json(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * The quote API over what the start prepared (rules, schemas and the catalog), as a request
 * listener for `http.createServer()`. (No `node:http` import here: Node 20 cannot load it while
 * it builds a startup snapshot, see snapshot.js.)
 */
export function quoteApi({ rules, schemas, catalog }) {
  return (request, response) => {
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
  };
}

/** Everything the start prepares (about a second of work). */
export { buildCatalog } from './catalog.js';
export { loadRules } from './rules.js';
export { compileSchemas } from './schemas.js';
