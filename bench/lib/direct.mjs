// The restore path without the `crac` CLI: crac-init running `criu restore -d` with the same
// arguments `crac restore` builds (no image verification, no pid checks). Measures the floor a
// restorer written in C would reach; not a way to restore in production.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '../../tools/lifecycle.mjs';
import { tempDir } from '../../tools/processes.mjs';

/** Starts crac-init + CRIU on `image`; `logLevel` is CRIU's -v (crac restore uses 4). `removeWork()` removes CRIU's work dir. */
export async function directRestore({ init, criu, image, env, logLevel = 4 }) {
  // loaded when used: the benchmark imports this module before its set-up has built @crac/core
  const { IMAGES_DIR_FD, readManifest } = await import('../../packages/core/dist/image.js');
  const { restorerArguments } = await import('../../packages/core/dist/protocol.js');
  const { path: work, remove: removeWork } = tempDir('crac-direct-');
  const pidFile = join(work, 'restored.pid');
  const args = restorerArguments(readManifest(image), { criuPath: criu, imagesDir: image, workDir: work, pidFile, logLevel });
  const dirFd = openSync(image, 'r');
  const stdio = ['ignore', 'ignore', 'ignore'];
  stdio[IMAGES_DIR_FD] = dirFd;
  const handle = launch(init, args, { env, stdio });
  closeSync(dirFd);
  return { ...handle, removeWork };
}
