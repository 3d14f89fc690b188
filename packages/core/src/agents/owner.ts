import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { ownedByUndici } from './undici.js';

/** What pooled an outgoing socket, for the audit to name what releases it. */
export type SocketOwner =
  /** An `http.Agent` / `https.Agent` the app made: `releaseAgents(agent)`. */
  | 'http-agent'
  /** `http.globalAgent` or `https.globalAgent`: its idle sockets are released by the built-in resource, so this one is busy. */
  | 'global-agent'
  /** An undici dispatcher of npm's `undici` (the app's own, or the one it gave `setGlobalDispatcher()`): `releaseAgents(dispatcher)`. */
  | 'undici'
  /** The undici bundled in Node, behind `fetch`: its default dispatcher is renewed by the built-in resource, so this is a fetch still running. */
  | 'fetch';

/** Frames of the undici bundled in Node (`fetch`), and of npm's. */
const BUNDLED_UNDICI = /node:internal\/deps\/undici\//;
const NPM_UNDICI = /\/node_modules\/undici\//;

/**
 * Which keep-alive pool a socket belongs to, if any: an http Agent installs its `agentRemove`
 * listener on every socket it pools (Node 20 to 24), undici marks its sockets with their Client
 * once connected. `stack` (where the socket connected) tells the bundled undici of `fetch` from
 * npm's, and names undici for a socket still connecting.
 */
export function socketOwner(socket: Socket, stack: string | undefined): SocketOwner | undefined {
  // Connected by npm's undici, even under fetch(): a dispatcher of the app's (setGlobalDispatcher,
  // or undici's own at import). undici marks a socket once connected: one still connecting is known by its stack.
  if (stack && NPM_UNDICI.test(stack)) return 'undici';
  if (stack && BUNDLED_UNDICI.test(stack)) return 'fetch';
  if (ownedByUndici(socket)) return 'undici';
  if (socket.listenerCount('agentRemove') === 0) return undefined;
  return [http.globalAgent, https.globalAgent].some((agent) => pooledBy(agent, socket)) ? 'global-agent' : 'http-agent';
}

function pooledBy(agent: http.Agent, socket: Socket): boolean {
  const lists = [agent.sockets, agent.freeSockets] as Record<string, Socket[] | undefined>[];
  return lists.some((byName) => Object.values(byName).some((list) => list?.includes(socket)));
}
