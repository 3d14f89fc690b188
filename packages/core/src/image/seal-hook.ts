import { accessSync, closeSync, constants, fstatSync, openSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { requireNativeProgram } from '../protocol/programs.js';
import { SEAL_CONFIG_FILE } from './layout.js';
import { assertSafeImageDirFd, describeMode, describeOwner, fileUnsafety, restoringUid } from './ownership.js';
import type { StagedImageDir } from './staging.js';

/** What the native dump hands CRIU so that the image is sealed at post-dump. */
export interface SealHook {
  /** CRIU's configuration file (RPC `config_file`): names the action script. */
  configFile: string;
  /** Added to CRIU's environment, hence the script's: what to seal and where to put it. */
  env: string[];
}

/** O_PATH: the program's directory is only looked at (fstat), never read. */
const O_PATH = 0o10000000;

/**
 * Sets up the seal step of a checkpoint into `staged`: CRIU runs @crac/core's native `crac-seal`
 * (its action script, for every action; it acts at `post-dump`: every file written, the dumped
 * process still frozen, and no Node to start in that window), which seals the staged image
 * (checksums into the manifest) and puts it in place of the image directory. If that fails, CRIU
 * fails the dump and the process runs on. Nothing in the image directory is ever run: the program
 * is the package's (or its platform package's), checked like an image (it and its directories
 * owned by this user or root, writable by no one else), and CRIU reads its configuration through
 * the staging directory's descriptor.
 * @throws {@link CracError} `CRAC_EENGINE` when the program is missing, or not safe to run.
 */
export function prepareSealHook(staged: StagedImageDir): SealHook {
  const script = trustedScript(requireNativeProgram('seal'));
  writeFileSync(join(staged.via, SEAL_CONFIG_FILE), `action-script "${script}"\n`, { mode: 0o600 });
  return {
    // CRIU is another process: it reaches the staging directory through this one's descriptor
    configFile: `/proc/${process.pid}/fd/${staged.fd}/${SEAL_CONFIG_FILE}`,
    env: [
      // the staging directory through this process's descriptor: CRIU's own (CRTOOLS_IMAGE_DIR) is
      // out of reach of an unprivileged seal step (CRIU runs with file capabilities, so its /proc
      // entries are root's); this process, the dumped one, is the user's
      `CRAC_SEAL_DIR=/proc/${process.pid}/fd/${staged.fd}`,
      `CRAC_SEAL_STAGING=${staged.path}`,
      `CRAC_SEAL_TARGET=${staged.target}`,
    ],
  };
}

/**
 * The real path of the seal program, once it and its directories are known to be safe to run as
 * this user: CRIU runs it with this process's privileges, root's for a root checkpoint.
 */
function trustedScript(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (cause) {
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `cannot seal images: ${path} is missing; reinstall @crac/core`, { cause });
  }
  if (/["\\\n]/.test(real)) {
    // CRIU's configuration parser takes "quoted words" but escapes only quotes, imperfectly.
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `cannot seal images from ${JSON.stringify(real)}: install @crac/core under a path without ", \\ or a newline`,
    );
  }
  try {
    accessSync(real, constants.X_OK);
  } catch (cause) {
    // CRIU execs it: a package packed without its executable bit cannot seal
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `cannot seal images: ${real} is not executable; reinstall @crac/core`, { cause });
  }
  const uid = restoringUid();
  const fd = openSync(real, O_PATH | constants.O_NOFOLLOW);
  const dirFd = openSync(dirname(real), O_PATH | constants.O_DIRECTORY);
  try {
    const stat = fstatSync(fd);
    const unsafety = fileUnsafety(stat, uid);
    if (unsafety) {
      throw new CracError(
        ErrorCode.ENGINE_UNAVAILABLE,
        `${real} ${unsafety === 'owner' ? 'belongs to another user' : 'is writable by others'} (owner ${describeOwner(stat.uid)}, ${describeMode(stat.mode)}): CRIU would run it as you; refusing to checkpoint. Fix: install @crac/core where only you and root can write`,
      );
    }
    assertSafeImageDirFd(dirFd, dirname(real), uid, 'program');
  } finally {
    closeSync(fd);
    closeSync(dirFd);
  }
  return real;
}
