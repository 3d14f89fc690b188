// The same app started from Node's own startup snapshot: the benchmark's baseline for what V8 and
// Node offer without CRIU. The start's work runs once, when the snapshot is built
// (bundled to one CommonJS file first, as `--build-snapshot` requires):
//   node --snapshot-blob heavy.blob --build-snapshot bundle.cjs
//   PORT=3000 node --snapshot-blob heavy.blob
// A snapshot holds no open handle, so the server is created when the snapshot is deserialized
// (and node:http loaded then: Node 20 fails to load it while building a snapshot).
import { startupSnapshot } from 'node:v8';
import { buildCatalog, compileSchemas, loadRules, quoteApi } from './src/server.js';

const api = quoteApi({ rules: loadRules(), schemas: compileSchemas(), catalog: buildCatalog() });

startupSnapshot.setDeserializeMainFunction(async () => {
  const { createServer } = await import('node:http');
  const server = createServer(api);
  server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(JSON.stringify({ event: 'listening', port: server.address().port, pid: process.pid }));
  });
});
