// What a user sees right after a process starts: when the first request succeeds, and how long
// each of the next ones takes, stamped with the time since start. Plain Node, no dependencies.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { firstSuccess, get } from '../../tools/measure.mjs';

/**
 * Polls `url` from `startedAt` (a performance.now() value) until it answers 200, then sends
 * `count` sequential requests over one keep-alive connection. Resolves with the first success
 * (ms since start, body) and every request as `{ atMs, ms }` (sent at, ms since start; latency).
 */
export async function timeline(url, startedAt, { count = 100, isAlive } = {}) {
  const first = await firstSuccess(url, startedAt, { isAlive });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const requests = [];
  try {
    for (let i = 0; i < count; i++) {
      const sent = performance.now();
      const { status } = await get(url, agent);
      if (status !== 200) throw new Error(`request ${i + 1} to ${url} answered ${status}`);
      requests.push({ atMs: sent - startedAt, ms: performance.now() - sent });
    }
  } finally {
    agent.destroy();
  }
  return { firstMs: first.ms, body: first.body, requests };
}

/** Steady-state latency: `count` more requests on a warm process (p50/p99 reference). */
export async function steadyLatencies(url, count = 300) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  try {
    for (let i = 0; i < count; i++) {
      const sent = performance.now();
      await get(url, agent);
      times.push(performance.now() - sent);
    }
  } finally {
    agent.destroy();
  }
  return times;
}
