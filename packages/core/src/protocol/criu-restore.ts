import { IMAGES_DIR_FD, RESTORE_LOG } from '../image/layout.js';
import type { Manifest } from '../image/manifest.js';

/** Where a restore writes what is not the image's (CRIU's log, the restored pid). */
export interface RestoreWorkspace {
  /** The image directory, as the restorer opened it on {@link IMAGES_DIR_FD}. */
  imagesDir: string;
  /** A private directory for CRIU's log. */
  workDir: string;
  /** Where CRIU writes the restored process's pid. */
  pidFile: string;
  /** CRIU's log level (`-v`). Default 4: what explains a failure. */
  logLevel?: number;
}

/**
 * The `criu restore` arguments for an image: detached (the restorer stays the parent), the app's
 * stdio pointed at the restorer's own (`--inherit-fd` of each pipe, file or socket it had; a
 * terminal needs only `--shell-job`), and the image directory it held open during the dump
 * remapped to the restorer's {@link IMAGES_DIR_FD}.
 */
export function criuRestoreArguments(manifest: Manifest, workspace: RestoreWorkspace): string[] {
  const { imagesDir, workDir, pidFile, logLevel = 4 } = workspace;
  const args = ['restore', '-d', '-D', imagesDir, '-W', workDir, '-o', RESTORE_LOG, `-v${logLevel}`, '--shell-job', '--pidfile', pidFile];
  const mapped = new Set<string>();
  for (const { fd, kind, target } of manifest.stdio) {
    if ((kind === 'pipe' || kind === 'file' || kind === 'socket') && !mapped.has(target)) {
      mapped.add(target);
      args.push('--inherit-fd', `fd[${fd}]:${withoutLeadingSlash(target)}`);
    }
  }
  args.push('--inherit-fd', `fd[${IMAGES_DIR_FD}]:${withoutLeadingSlash(manifest.imagesDir)}`);
  return args;
}

/** CRIU names inherited files by path without the leading slash. */
function withoutLeadingSlash(path: string): string {
  return path.replace(/^\//, '');
}
