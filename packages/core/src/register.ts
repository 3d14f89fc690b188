/**
 * Preload entry: `node --require @crac/core/register app.js` (or `--import`) lets
 * `crac checkpoint --pid` checkpoint the app, even one that never imports @crac/core.
 * `crac checkpoint -- <command>` preloads it for you.
 */
import { isMainThread } from 'node:worker_threads';
import { CheckpointTrigger } from './control/trigger-server.js';

// Preloads run in worker threads too: the process has one trigger, in its main thread.
if (isMainThread) {
  new CheckpointTrigger().start().catch((error: Error) => {
    process.emitWarning(`@crac/core: the checkpoint trigger is off: ${error.message}`, { code: 'CRAC_ETRIGGER' });
  });
}
