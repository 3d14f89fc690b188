import type { SocketOwner } from '../agents/owner.js';
import type { HandleKind } from './types.js';

/** Adapters that take care of what a library holds, recognised by its frames in a creation stack. */
const BY_STACK: readonly [RegExp, string][] = [
  [/\/node_modules\/ioredis\//, '@crac/ioredis'],
  [/\/node_modules\/(pg|pg-pool)\//, '@crac/pg'],
  [/\/node_modules\/generic-pool\//, '@crac/generic-pool'],
  [/\/node_modules\/mysql2\//, '@crac/mysql2'],
  [/\/node_modules\/fastify\//, '@crac/fastify'],
  [/\/node_modules\/express\//, '@crac/express'],
];

/** Adapters recognised by the well-known port of the service a socket talks to. */
const BY_PORT: Record<number, string> = { 3306: '@crac/mysql2', 5432: '@crac/pg', 6379: '@crac/ioredis' };

/** The adapter that would release a handle, when something about it says which. */
export function adapterFor(kind: HandleKind, stack: string | undefined, remotePort?: number): string | undefined {
  for (const [pattern, adapter] of BY_STACK) if (stack && pattern.test(stack)) return adapter;
  if (remotePort !== undefined && BY_PORT[remotePort]) return BY_PORT[remotePort];
  if (kind === 'tcp-listener' || kind === 'unix-listener') return 'serverResource(server) from @crac/core, @crac/express or @crac/fastify';
  return undefined;
}

/**
 * The zero-code way to release a handle, said first: a listening server is a resource of its own,
 * and the clients of the pools an adapter knows are released, when the app runs under
 * `crac checkpoint` or with the preload, unless `CRAC_AUTO` leaves them out.
 */
export function zeroCodeFor(kind: HandleKind, adapter?: string): string | undefined {
  if (kind === 'tcp-listener' || kind === 'unix-listener') {
    return 'start the app with `crac checkpoint -- <command>` or `node --require @crac/core/register` (every server is then a resource, unless CRAC_AUTO leaves servers out)';
  }
  const clients = adapter ? ZERO_CODE_CLIENTS[adapter] : undefined;
  if (!clients) return undefined;
  return `start the app with \`crac checkpoint -- <command>\` or \`node --require @crac/cli/register\` (${clients} are then taken care of without code, unless CRAC_AUTO leaves ${adapter?.slice('@crac/'.length)} out)`;
}

/** What the zero-code path takes care of, by the adapter it hands them to. */
const ZERO_CODE_CLIENTS: Record<string, string> = {
  '@crac/pg': 'pg.Pool instances (a lone pg.Client is not: use a pool, or cracPgClient())',
  '@crac/ioredis': 'ioredis clients and clusters',
  '@crac/generic-pool': 'generic-pool pools',
  '@crac/mysql2': 'mysql2 pools (a lone connection is not: use a pool)',
};

/** What releases the sockets of each kind of keep-alive pool (instead of "close it in a hook"). */
const BY_OWNER: Record<SocketOwner, string> = {
  'http-agent':
    'pass the http.Agent / https.Agent that pooled it to releaseAgents() from @crac/core (its idle keep-alive sockets then close before a checkpoint, and it reconnects after)',
  undici:
    'pass the undici dispatcher that pooled it (Agent, Pool, Client, or the one given to setGlobalDispatcher()) to releaseAgents() from @crac/core (its idle connections then close before a checkpoint, and it reconnects after)',
  'global-agent':
    'a request of http(s).globalAgent still running: let it finish before the checkpoint (the idle ones are released on their own)',
  fetch: 'a fetch() still running: let it finish before the checkpoint (idle fetch connections are released on their own)',
};

/** The helper or the advice for a socket a keep-alive pool holds. */
export function helperFor(owner: SocketOwner | undefined): string | undefined {
  return owner ? BY_OWNER[owner] : undefined;
}
