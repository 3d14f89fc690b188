import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { requireNativeProgram } from './programs.js';

/** How to restore an image with crac-init, for {@link restorerArguments}. */
export interface RestoreInvocation {
  /** A private directory for CRIU's log and the restored process's pid file (`restored.pid`). */
  workDir: string;
  /** Restore into a new pid namespace (the image's pids are taken here); root only. */
  pidNamespace?: boolean;
}

/**
 * The arguments of `crac-init` that restore the image in `imagesDir` as `crac restore` does,
 * from the restorer that owns them (`crac-restore --init-args`): crac-init's own (pid namespace,
 * the pid file, the handoff of the environment, the app's listening sockets bound first), then
 * `criu restore`'s (detached, the app's stdio pointed at the restorer's own, the image read
 * through `IMAGES_DIR_FD` (`@crac/core/image`), CRIU's `--unprivileged` mode for a non-root user). For other
 * restorers and measurements: crac-init must be started with the image directory open on
 * `IMAGES_DIR_FD` (`@crac/core/image`); nothing is verified (`crac restore` verifies first).
 * @throws {@link CracError} what `crac restore` would refuse the image or this host with
 *   (`CRAC_EIMAGE`, `CRAC_EENGINE`, `CRAC_EUNPRIVILEGED` for a pid namespace without root).
 */
export function restorerArguments(imagesDir: string, invocation: RestoreInvocation): string[] {
  const restorer = requireNativeProgram('restore');
  const args = [
    '--init-args',
    invocation.workDir,
    ...(invocation.pidNamespace ? ['--pid-namespace', 'always'] : []),
    '--',
    resolve(imagesDir),
  ];
  const run = spawnSync(restorer, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status === 0) return JSON.parse(run.stdout) as string[];
  const reported = /crac: error \[(CRAC_E\w+)\] ([\s\S]*)/.exec(run.stderr ?? '');
  if (reported?.[1] && reported[2]) throw new CracError(reported[1], reported[2].trim());
  throw new CracError(ErrorCode.IO, `${restorer} --init-args ended with ${run.status ?? run.signal}: ${run.stderr || run.error?.message}`);
}
