// The restore path without the `crac` CLI: crac-init running `criu restore -d` with the same
// arguments `crac restore` builds (no image verification, no pid checks). Measures the floor a
// restorer written in C would reach; not a way to restore in production.
import { closeSync, openSync } from 'node:fs';
import { launch } from '../../tools/lifecycle.mjs';
import { tempDir } from '../../tools/processes.mjs';

/** Starts crac-init + CRIU on `image` (CRIU: `criu`). `removeWork()` removes CRIU's work dir. */
export async function directRestore({ init, criu, image, env }) {
  // loaded when used: the benchmark imports this module before its set-up has built @crac/core
  const { IMAGES_DIR_FD } = await import('../../packages/core/dist/image.js');
  const { restorerArguments } = await import('../../packages/core/dist/protocol.js');
  const { path: work, remove: removeWork } = tempDir('crac-direct-');
  const args = withCriu(criu, () => restorerArguments(image, { workDir: work }));
  const dirFd = openSync(image, 'r');
  const stdio = ['ignore', 'ignore', 'ignore'];
  stdio[IMAGES_DIR_FD] = dirFd;
  const handle = launch(init, args, { env, stdio });
  closeSync(dirFd);
  return { ...handle, removeWork };
}

/** Runs `build` with CRAC_CRIU_PATH naming `criu` (the restorer finds CRIU as crac restore does). */
export function withCriu(criu, build) {
  const saved = process.env.CRAC_CRIU_PATH;
  process.env.CRAC_CRIU_PATH = criu;
  try {
    return build();
  } finally {
    if (saved === undefined) delete process.env.CRAC_CRIU_PATH;
    else process.env.CRAC_CRIU_PATH = saved;
  }
}
