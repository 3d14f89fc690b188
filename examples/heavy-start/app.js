// heavy-start: a quote API whose start does about a second of real work before it can answer.
// Run cold: `node app.js`. Checkpoint warm: see README.md.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { serverResource } from '@crac/core';
import { buildCatalog, compileSchemas, loadRules, quoteApi } from './src/server.js';

const server = createServer(quoteApi({ rules: loadRules(), schemas: compileSchemas(), catalog: buildCatalog() }));
const startupMs = performance.now();

// The listening socket cannot travel in an image: @crac/core drains and closes it before the
// checkpoint and listens again after the restore (on PORT from the restoring environment).
serverResource(server, { name: 'heavy-start http server' });

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: server.address().port, startupMs: Math.round(startupMs), pid: process.pid }));
});
