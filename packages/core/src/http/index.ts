export { describe as describeAddress, ServerResource, serverResource } from './server-resource.js';
export type { DrainTimeoutAction, HttpServerLike, ListenAddress, ServerResourceOptions } from './types.js';
export { type ServerMatcher, watchServers } from './watch-servers.js';
