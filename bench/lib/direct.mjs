// The restore path without the `crac` CLI: crac-init running `criu restore -d` with the same
// arguments `crac restore` builds (no image verification, no pid checks). Measures the floor a
// restorer written in C would reach; not a way to restore in production.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '../../tools/lifecycle.mjs';
import { tempDir } from '../../tools/processes.mjs';

/** Starts crac-init + CRIU on `image`; `logLevel` is CRIU's -v (crac restore uses 4). `removeWork()` removes CRIU's work dir. */
export function directRestore({ init, criu, image, env, logLevel = 4 }) {
  const manifest = JSON.parse(readFileSync(join(image, 'crac-manifest.json'), 'utf8'));
  const { path: work, remove: removeWork } = tempDir('crac-direct-');
  const pidFile = join(work, 'restored.pid');
  const inherit = [];
  const mapped = new Set();
  for (const { fd, kind, target } of manifest.stdio) {
    if ((kind === 'pipe' || kind === 'file' || kind === 'socket') && !mapped.has(target)) {
      mapped.add(target);
      inherit.push('--inherit-fd', `fd[${fd}]:${target.replace(/^\//, '')}`);
    }
  }
  inherit.push('--inherit-fd', `fd[3]:${manifest.imagesDir.replace(/^\//, '')}`);
  const args = ['--pidfile', pidFile, '--', criu, 'restore', '-d', '-D', image, '-W', work, '-o', 'restore.log', `-v${logLevel}`];
  args.push('--shell-job', '--pidfile', pidFile, ...inherit);
  const dirFd = openSync(image, 'r');
  const handle = launch(init, args, { env, stdio: ['ignore', 'ignore', 'ignore', dirFd] });
  closeSync(dirFd);
  return { ...handle, removeWork };
}
