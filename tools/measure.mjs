// Measures what a user feels: time from starting a process to its first successful answer,
// and the latency of the requests that follow (the benchmark, the demo). Plain Node, no dependencies.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** One GET; resolves with the status code and body, or status 0 when no connection was made. */
export function get(url, agent) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/**
 * Polls `url` from `startedAt` (a performance.now() value) until it answers 200; resolves with
 * the milliseconds that took and the answer. Rejects when `isAlive()` turns false or on timeout.
 */
export async function firstSuccess(url, startedAt, { timeoutMs = 60_000, isAlive = () => true } = {}) {
  for (;;) {
    const answer = await get(url);
    if (answer.status === 200) return { ms: performance.now() - startedAt, body: answer.body };
    if (!isAlive()) throw new Error(`the process ended before ${url} answered`);
    if (performance.now() - startedAt > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/** Latencies in ms of `count` sequential requests over one keep-alive connection. */
export async function latencies(url, count = 100) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const { status } = await get(url, agent);
    if (status !== 200) throw new Error(`request ${i + 1} to ${url} answered ${status}`);
    times.push(performance.now() - started);
  }
  agent.destroy();
  return times;
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(values) {
  return percentile(values, 50);
}
