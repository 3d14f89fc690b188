// Micro-benchmark of creation-site tracking: what it adds to opening a file and a connection.
//   node packages/core/src/audit/creation-sites.bench.mjs            (tracking on: the default)
//   CRAC_TRACK_CREATION=0 node packages/core/src/audit/creation-sites.bench.mjs   (off)
// Loads the built package (node scripts/setup.mjs builds it).
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';

createRequire(import.meta.url)('../../dist/index.cjs');
const tracking = process.env.CRAC_TRACK_CREATION !== '0';

function timeSync(label, count, fn) {
  for (let i = 0; i < count / 10; i++) fn(); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn();
  const ns = Number(process.hrtime.bigint() - started) / count;
  console.log(`${label}: ${(ns / 1000).toFixed(2)} µs/op`);
}

timeSync('fs.openSync + closeSync', 50_000, () => closeSync(openSync('/dev/null', 'r')));

const server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const once = () =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
    });
  for (let i = 0; i < 500; i++) await once();
  const count = 5_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await once();
  console.log(`net.connect + destroy (round trip): ${(Number(process.hrtime.bigint() - started) / count / 1000).toFixed(2)} µs/op`);
  console.log(`tracking ${tracking ? 'on' : 'off'}, ${process.version}`);
  server.close();
});
