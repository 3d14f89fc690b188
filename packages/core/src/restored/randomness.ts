import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { randomBytes, randomUUID } from 'node:crypto';

/** Node keeps entropy for this many `crypto.randomUUID()` calls (kBatchSize in lib/internal/crypto/random.js). */
const UUID_CACHE_SIZE = 128;
/** Threads that loaded @crac/core hear on this channel that the process was restored. */
const RESTORED_CHANNEL = '@crac/core:restored';

/**
 * Makes this thread's randomness its own again after a restore. Every copy restored from
 * one image starts with the same memory: the same OpenSSL state, the same cached UUID
 * entropy, the same Math.random state. Call `reseedOpenSsl` (the native bridge) first in
 * the main thread: OpenSSL propagates a reseed of its primary generator to every thread's.
 */
export function refreshThreadRandomness(): void {
  // The cache refills from the reseeded OpenSSL once consumed: one full batch reaches the refill.
  for (let i = 0; i < UUID_CACHE_SIZE; i++) randomUUID();
  Math.random = createRandom();
}

/** Tells the worker threads that loaded @crac/core to refresh theirs (asynchronously). */
export function notifyWorkersRestored(): void {
  const channel = new BroadcastChannel(RESTORED_CHANNEL);
  channel.postMessage('restored');
  channel.close();
}

/**
 * In a worker thread: refresh randomness when the main thread says the process was restored.
 * A worker does so when it next returns to its event loop.
 */
export function listenForRestoreInWorker(): void {
  if (isMainThread) return;
  const channel = new BroadcastChannel(RESTORED_CHANNEL);
  channel.onmessage = () => refreshThreadRandomness();
  (channel as BroadcastChannel & { unref(): void }).unref();
}

/**
 * A Math.random replacement seeded from the (reseeded) OpenSSL generator: xoshiro128**,
 * the kind of generator V8 uses, since V8 offers no way to reseed its own.
 */
export function createRandom(): () => number {
  const seed = randomBytes(16);
  let a = seed.readUInt32LE(0) | 1;
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  return function random(): number {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
