import { CracError, ErrorCode } from '../errors.js';
import { HANDOFF_FD, IMAGES_DIR_FD, RESTORE_LOG } from '../image/layout.js';
import type { ListenerRecord, Manifest } from '../image/manifest.js';

export { HANDOFF_FD };

/**
 * Where CRIU finds the image: the directory the restorer opened, checked and verified, and handed
 * over on {@link IMAGES_DIR_FD}, never reopened by path. CRIU opens its `-D` once at start, before
 * it moves the inherited descriptors away.
 */
export const IMAGES_DIR_PATH = `/proc/self/fd/${IMAGES_DIR_FD}`;

/** How to restore an image, for {@link restorerArguments}. */
export interface RestoreInvocation {
  /** The CRIU binary. */
  criuPath: string;
  /**
   * The image directory, as the restorer opened it on {@link IMAGES_DIR_FD}. For the record only:
   * CRIU reads the image through that descriptor (`-D /proc/self/fd/3`), never by this path.
   */
  imagesDir: string;
  /** A private directory for CRIU's log. */
  workDir: string;
  /** Where CRIU writes the restored process's pid. */
  pidFile: string;
  /** Restore into a new pid namespace (the image's pids are taken here). */
  pidNamespace?: boolean;
  /**
   * A non-root restore: CRIU's `--unprivileged` mode (file capabilities on its binary; no pid
   * namespace, no time namespace).
   */
  unprivileged?: boolean;
  /** CRIU's log level (`-v`). Default 4: what explains a failure. */
  logLevel?: number;
}

/**
 * The arguments of `crac-init` that restore an image: crac-init's own (pid namespace, the pid
 * file, the handoff of the environment, the app's listening sockets bound first), then `criu restore`'s: detached (crac-init stays the
 * parent), the app's stdio pointed at the restorer's own (`--inherit-fd` of each pipe, file or
 * socket it had; a terminal needs only `--shell-job`), the image directory it held open during the
 * dump remapped to {@link IMAGES_DIR_FD}, and its handoff file to {@link HANDOFF_FD}.
 * crac-init must be started with the image directory open on {@link IMAGES_DIR_FD}: CRIU reads
 * the image through it ({@link IMAGES_DIR_PATH}).
 * @throws {@link CracError} `CRAC_EUNPRIVILEGED` for a pid namespace in an unprivileged restore
 *   (creating one needs CAP_SYS_ADMIN).
 */
export function restorerArguments(manifest: Manifest, invocation: RestoreInvocation): string[] {
  const { criuPath, workDir, pidFile, logLevel = 4 } = invocation;
  if (invocation.unprivileged && invocation.pidNamespace) {
    throw new CracError(
      ErrorCode.UNPRIVILEGED,
      'a restore into a new pid namespace needs root (CAP_SYS_ADMIN); an unprivileged restore uses the host pid namespace',
    );
  }
  const init = [...(invocation.pidNamespace ? ['--pidns'] : []), '--pidfile', pidFile];
  const criu = [
    'restore',
    '-d',
    '-D',
    IMAGES_DIR_PATH,
    '-W',
    workDir,
    '-o',
    RESTORE_LOG,
    `-v${logLevel}`,
    '--shell-job',
    '--pidfile',
    pidFile,
    ...(invocation.unprivileged ? ['--unprivileged'] : []),
  ];
  const mapped = new Set<string>();
  for (const { fd, kind, target } of manifest.stdio) {
    if ((kind === 'pipe' || kind === 'file' || kind === 'socket') && !mapped.has(target)) {
      mapped.add(target);
      criu.push('--inherit-fd', `fd[${fd}]:${withoutLeadingSlash(target)}`);
    }
  }
  criu.push('--inherit-fd', `fd[${IMAGES_DIR_FD}]:${withoutLeadingSlash(manifest.imagesDir)}`);
  if (manifest.handoff) {
    init.push('--handoff-fd', String(HANDOFF_FD));
    criu.push('--inherit-fd', `fd[${HANDOFF_FD}]:${withoutLeadingSlash(manifest.handoff)}`);
    // the restorer binds the app's ports first (the port rule needs the restoring environment: the handoff's)
    for (const listener of manifest.listeners ?? []) init.push('--listen', listenSpec(listener));
  }
  return [...init, '--', criuPath, ...criu];
}

/**
 * crac-init's `--listen` for a listening socket of the manifest (PROTOCOL.md, "Listening
 * sockets"). `env` only for a server that follows its port variable: it listened on the
 * variable's value at the checkpoint, or the variable was unset (as `ServerResource` decides).
 */
export function listenSpec(listener: ListenerRecord): string {
  const { host, port, portEnv, portEnvValue, slot } = listener;
  const follows = portEnv !== undefined && (portEnvValue === undefined || Number(portEnvValue) === port);
  const rule = follows ? [`env=${portEnv}`, ...(portEnvValue === undefined ? [] : [`was=${portEnvValue}`])] : [];
  return [`host=${host}`, `port=${port}`, ...rule, `slot=${slot}`].join(',');
}

/** CRIU names inherited files by path without the leading slash. */
function withoutLeadingSlash(path: string): string {
  return path.replace(/^\//, '');
}
