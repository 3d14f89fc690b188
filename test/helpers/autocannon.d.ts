// The part of autocannon (9.0.0, which ships no types) the suites use.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    connections?: number;
    /** Stop after this many requests. */
    amount?: number;
    /** Requests per second over all connections. */
    overallRate?: number;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
  }
  interface Result {
    '2xx': number;
    non2xx: number;
    errors: number;
    timeouts: number;
    latency: { max: number };
  }
  interface Instance extends EventEmitter, PromiseLike<Result> {}
  function autocannon(options: Options): Instance;
  export default autocannon;
}
