// Types of measure.mjs.
import type { Agent } from 'node:http';

/** One GET; resolves with the status code and body, or status 0 when no connection was made. */
export function get(url: string, agent?: Agent): Promise<{ status: number; body: string }>;
/** Polls `url` from `startedAt` (a performance.now() value) until it answers 200: the ms that took, and the answer. */
export function firstSuccess(
  url: string,
  startedAt: number,
  options?: { timeoutMs?: number; isAlive?: () => boolean },
): Promise<{ ms: number; body: string }>;
/** Latencies in ms of `count` (100) sequential requests over one keep-alive connection. */
export function latencies(url: string, count?: number): Promise<number[]>;
/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number;
export function median(values: readonly number[]): number;
