import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Node keeps entropy for this many `crypto.randomUUID()` calls (kBatchSize in lib/internal/crypto/random.js). */
const UUID_CACHE_SIZE = 128;
/**
 * `crypto.randomInt()` reads 6 bytes a call from a cache of 6 KiB (randomCache in
 * lib/internal/crypto/random.js): this many calls over the widest range reach its refill.
 */
const RANDOM_INT_CACHE_CALLS = 1024;
const RANDOM_INT_WIDEST = 2 ** 48 - 1;
/** Threads that loaded @crac/core hear on this channel that the process was restored. */
const RESTORED_CHANNEL = '@crac/core:restored';

/**
 * Makes `random` this thread's `Math.random`, from crac-node's first use on: a generator that a
 * restore can reseed in place, so that a reference to `Math.random` kept by the app (lodash keeps
 * one) draws fresh numbers in every copy too. V8 offers no way to reseed its own.
 */
export function installRandom(random: ReseedableRandom): void {
  Math.random = random;
}

/**
 * Makes this thread's randomness its own again after a restore. Every copy restored from
 * one image starts with the same memory: the same OpenSSL state, the same cached UUID and
 * randomInt entropy, the same Math.random state. Call `reseedOpenSsl` (the native bridge) first in
 * the main thread: OpenSSL propagates a reseed of its primary generator to every thread's.
 */
export function refreshThreadRandomness(random: ReseedableRandom): void {
  // The caches refill from the reseeded OpenSSL once consumed: one full batch reaches the refill.
  for (let i = 0; i < UUID_CACHE_SIZE; i++) randomUUID();
  for (let i = 0; i < RANDOM_INT_CACHE_CALLS; i++) randomInt(0, RANDOM_INT_WIDEST);
  random.reseed();
  // the app may have put another function there since: the copies would share its state
  if (Math.random !== random) installRandom(random);
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
export function listenForRestoreInWorker(random: ReseedableRandom): void {
  if (isMainThread) return;
  const channel = new BroadcastChannel(RESTORED_CHANNEL);
  channel.onmessage = () => refreshThreadRandomness(random);
  (channel as BroadcastChannel & { unref(): void }).unref();
}

/** A `Math.random` whose state {@link ReseedableRandom.reseed} draws again from OpenSSL. */
export interface ReseedableRandom {
  (): number;
  reseed(): void;
}

/**
 * A Math.random replacement seeded from the (reseeded) OpenSSL generator: xoshiro128**,
 * the kind of generator V8 uses.
 */
export function createRandom(): ReseedableRandom {
  const state = new Uint32Array(4);
  const reseed = () => {
    const seed = randomBytes(16);
    for (let i = 0; i < 4; i++) state[i] = seed.readUInt32LE(4 * i);
    state[0] = (state[0] as number) | 1;
  };
  reseed();
  const random = function random(): number {
    let [a, b, c, d] = state as unknown as [number, number, number, number];
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    state[0] = a;
    state[1] = b;
    state[2] = c;
    state[3] = d;
    return result / 4294967296;
  };
  return Object.assign(random, { reseed });
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
