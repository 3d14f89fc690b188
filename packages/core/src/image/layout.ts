import { constants } from 'node:fs';

/**
 * The layout of an image directory: every name crac-node gives a file in it, and the descriptor
 * through which a restored process sees it. One definition for the engine that writes an image,
 * the seal, the verification and the restorer.
 */

/** crac-node's own record of the image: identity of the host, binaries and stdio, then the seal. */
export const MANIFEST_FILE = 'crac-manifest.json';

/** CRIU's log of the dump, written into the image directory. */
export const DUMP_LOG = 'dump.log';

/** CRIU's log of a restore (written into the restorer's work directory, never the image). */
export const RESTORE_LOG = 'restore.log';

/** The CRIU configuration file that names the seal step, written in the staged image (see seal-hook.ts). */
export const SEAL_CONFIG_FILE = 'crac-seal.conf';

/**
 * Files of an image directory that are not sealed: the manifest itself, CRIU's logs, and the
 * statistics CRIU writes after the post-dump hook (`stats-dump`) and at each restore
 * (`stats-restore`). CRIU never reads them to restore. Anything else is sealed, or refused.
 */
export const UNSEALED_FILES: ReadonlySet<string> = new Set([MANIFEST_FILE, DUMP_LOG, RESTORE_LOG, 'stats-dump', 'stats-restore']);

/**
 * An empty file the dumped process holds open (read-only) through the dump: the restorer hands
 * the restored copy its environment by putting a descriptor of its own in that one's place
 * (`--inherit-fd`). Restored without that (a plain `criu restore`), the copy reads the empty
 * file and keeps the image's environment. See PROTOCOL.md, "Restore handoff".
 */
export const HANDOFF_FILE = 'crac-handoff';

/**
 * Empty files the dumped process holds open (read-only) through the dump, one per listening
 * socket its servers handed over (`crac-listen-0`, `crac-listen-1`...): a restorer that bound the
 * port first puts its listening socket in the descriptor's place (crac restore, or crac-init `--listen`), and the
 * restored server listens on it. Restored without that, the copy finds the empty file and listens
 * itself. See PROTOCOL.md, "Listening sockets".
 */
export const LISTEN_SLOT_PREFIX = 'crac-listen-';

/** The name of the `index`th listen slot. */
export function listenSlotFile(index: number): string {
  return `${LISTEN_SLOT_PREFIX}${index}`;
}

/** CRIU cannot start a restore without these (and may crash instead of saying so). */
export const REQUIRED_CRIU_FILES = ['inventory.img', 'pstree.img'] as const;

/**
 * The restorer's descriptor on which CRIU finds the image directory. The dumped process held the
 * directory open during the dump; the restore remaps that descriptor to this one
 * (`--inherit-fd`), so the copy never refers to a path that may have moved.
 */
export const IMAGES_DIR_FD = 3;

/**
 * The restorer's descriptor on which the restored process finds its restoring environment: CRIU
 * puts it in place of the descriptor the process held on {@link HANDOFF_FILE} (`--inherit-fd`).
 */
export const HANDOFF_FD = 4;

/** The flags an image directory is opened with: a directory, and not through a symbolic link. */
export const IMAGE_DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
