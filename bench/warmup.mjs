#!/usr/bin/env node
// Warms an app up: waits until URL answers, then sends COUNT requests over keep-alive
// connections, CONCURRENCY at a time. Usage: node warmup.mjs URL [COUNT=2000] [CONCURRENCY=8]
// Exits non-zero if the app never answers or a request fails: `crac checkpoint --warmup` then
// makes no image.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, count = '2000', concurrency = '8'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node warmup.mjs URL [COUNT] [CONCURRENCY]');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });

function get() {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
      })
      .on('error', reject);
  });
}

const deadline = Date.now() + 30_000;
for (;;) {
  try {
    await get();
    break;
  } catch (error) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 30 s: ${error.message}`);
    await sleep(20);
  }
}
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next++ < Number(count)) await get();
  }),
);
agent.destroy();
console.error(`warmup: ${count} requests to ${url}`);
