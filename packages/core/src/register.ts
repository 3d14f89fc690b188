/**
 * Preload entry: `node --require @crac/core/register app.js` (or `--import`) lets
 * `crac checkpoint --pid` checkpoint the app, even one that never imports @crac/core, and takes
 * care of its servers without a line of its code (see `auto/`; `CRAC_AUTO=off` turns that off).
 * `crac checkpoint -- <command>` preloads it for you.
 */
import { isMainThread } from 'node:worker_threads';
import { startZeroCode } from './auto/index.js';
import { ErrorCode } from './errors.js';
import { getGlobalContext } from './global-context.js';
import { isPackageManager, listensForRequests } from './protocol/control-socket.js';
import { CheckpointTrigger } from './protocol/trigger-server.js';

/**
 * Whether this process is the app crac-node coordinates: its main thread, not a package manager
 * (npm start, npx pass the preload on to the app they start), not a Node child of a coordinated
 * app (NODE_OPTIONS is inherited; the child is checkpointed with the app). Only there does the
 * zero-code path run (`@crac/cli/register` adds the clients to it).
 */
export const isCoordinatedApp = isMainThread && listensForRequests();

if (!isPackageManager()) {
  // Preloads run in worker threads too: the process has one trigger, in its main thread; every
  // thread starts using crac-node now (a worker then refreshes its randomness after a restore).
  if (isCoordinatedApp) {
    startZeroCode();
    new CheckpointTrigger().start().catch((error: Error) => {
      process.emitWarning(`@crac/core: the checkpoint trigger is off: ${error.message}`, { code: ErrorCode.TRIGGER });
    });
  } else {
    getGlobalContext();
  }
}
