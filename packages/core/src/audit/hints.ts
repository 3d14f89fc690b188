import type { HandleKind } from './types.js';

/** Adapters that take care of what a library holds, recognised by its frames in a creation stack. */
const BY_STACK: readonly [RegExp, string][] = [
  [/\/node_modules\/ioredis\//, '@crac/ioredis'],
  [/\/node_modules\/(pg|pg-pool)\//, '@crac/pg'],
  [/\/node_modules\/generic-pool\//, '@crac/generic-pool'],
  [/\/node_modules\/fastify\//, '@crac/fastify'],
  [/\/node_modules\/express\//, '@crac/express'],
];

/** Adapters recognised by the well-known port of the service a socket talks to. */
const BY_PORT: Record<number, string> = { 5432: '@crac/pg', 6379: '@crac/ioredis' };

/** The adapter that would release a handle, when something about it says which. */
export function adapterFor(kind: HandleKind, stack: string | undefined, remotePort?: number): string | undefined {
  for (const [pattern, adapter] of BY_STACK) if (stack && pattern.test(stack)) return adapter;
  if (remotePort !== undefined && BY_PORT[remotePort]) return BY_PORT[remotePort];
  if (kind === 'tcp-listener' || kind === 'unix-listener') return '@crac/express or @crac/fastify';
  return undefined;
}
