import { CracError } from '../../errors.js';
import { loadNative } from './native.js';

/**
 * A non-root user checkpoints and restores with CRIU's `--unprivileged` mode: the CRIU binary
 * carries the few capabilities it needs as file capabilities (`setcap ...+ep`), granted by root
 * once. Which ones, and why, was found by experiment on this project's hosts (README, "Without
 * root"): {@link UNPRIVILEGED_CRIU_CAPABILITIES} is that list (native/definitions.mjs writes it
 * into `crac/capabilities.h`). Decoding file capabilities and the process's own, and judging
 * them, is native (lib/criu/capabilities.c, which crac-restore checks with); `grant.ts` sets them.
 */

/** A capability that CRIU needs in its file capabilities for a non-root user, and why. */
export interface CriuCapability {
  /** The name `setcap` and `getcap` use. */
  name: string;
  /** Its number (the bit in the capability sets). */
  bit: number;
  /** What CRIU does with it. */
  why: string;
}

/** The capabilities an unprivileged CRIU needs, no more: with both, dump and restore work; without either, they fail. */
export const UNPRIVILEGED_CRIU_CAPABILITIES: readonly CriuCapability[] = [
  {
    name: 'cap_checkpoint_restore',
    bit: 40,
    why: "CRIU refuses to run without it: reading a process's /proc/PID/map_files, and restoring its pids (clone3 with set_tid)",
  },
  {
    name: 'cap_setpcap',
    bit: 8,
    why: "restore: CRIU drops from the restored process's bounding set each capability the image's lacks, and PR_CAPBSET_DROP needs it even for one that is already gone (every process here lacks cap_sys_resource); without it CRIU's restorer fails (`Unable to drop capability 24`) and the restore hangs",
  },
];

/**
 * The group that may run a CRIU granted {@link UNPRIVILEGED_CRIU_CAPABILITIES}: the grant makes the
 * binary `root:crac`, mode 0750 (`crac setup` creates the group). Restricted because whoever runs
 * that CRIU can keep both capabilities: CRIU restores the capability sets an image records (its
 * `core-*.img`, which the image's owner can rewrite) within its own permitted set, ambient ones
 * included, so a user's restored process, and every program it executes, holds them (test/unprivileged.e2e.test.ts
 * does exactly that). Membership of this group is that grant.
 */
export const CRIU_GROUP = 'crac';

/** What a file's `security.capability` attribute grants on exec. */
export interface FileCapabilities {
  /** Granted on exec (the file's permitted set), by name (`cap_40` for a number this list does not know). */
  permitted: string[];
  /** Granted on exec when the caller has them in its inheritable set. */
  inheritable: string[];
  /** The effective flag (`+e`): the permitted ones are effective at once; without it a program must raise them itself, which CRIU does not. */
  effective: boolean;
  /** Revision 3: the user namespace's root they apply to (file capabilities of a namespace's root). */
  rootUid?: number;
}

/** The extended attribute that holds file capabilities. */
export const FILE_CAPABILITIES_XATTR = 'security.capability';

/** The name of capability `bit`, as getcap and capsh print it (`cap_63` for one Linux does not name yet). */
export function capabilityName(bit: number): string {
  return loadNative().capabilityName(bit);
}

/**
 * Decodes a `security.capability` value (struct vfs_cap_data, revisions 1 to 3).
 * @throws {@link CracError} `CRAC_EIO` for a value no kernel writes (unknown revision, wrong size).
 */
export function decodeFileCapabilities(value: Uint8Array): FileCapabilities {
  const { rootUid, ...decoded } = loadNative().decodeFileCapabilities(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  return rootUid === undefined ? decoded : { ...decoded, rootUid };
}

/** Reads an extended attribute's raw value (null: none); tests pass their own, else the file's is read natively. */
export type XattrReader = (path: string, name: string) => Uint8Array | null;

/** The file capabilities of `path` (the file exec would run), or undefined when it has none. */
export function readFileCapabilities(path: string, readXattr?: XattrReader): FileCapabilities | undefined {
  if (readXattr) {
    const value = readXattr(path, FILE_CAPABILITIES_XATTR);
    return value === null ? undefined : decodeFileCapabilities(value);
  }
  return toFileCapabilities(loadNative().fileCapabilities(path));
}

function toFileCapabilities(decoded: FileCapabilities | null): FileCapabilities | undefined {
  if (decoded === null) return undefined;
  const { rootUid, ...rest } = decoded;
  return rootUid === undefined ? rest : { ...rest, rootUid };
}

/** Whether a CRIU binary can checkpoint and restore for a non-root user. */
export interface CriuCapabilityStatus {
  /** The CRIU binary. */
  path: string;
  /** Its file capabilities, undefined when it has none. */
  capabilities: FileCapabilities | undefined;
  /** The needed capabilities it does not grant (all of them when it grants none effective). */
  missing: CriuCapability[];
}

/** Which of {@link UNPRIVILEGED_CRIU_CAPABILITIES} the CRIU binary at `path` lacks. */
export function criuCapabilityStatus(path: string, readXattr?: XattrReader): CriuCapabilityStatus {
  const capabilities = readFileCapabilities(path, readXattr);
  // Without the effective flag CRIU runs with none of them effective: it never raises its own.
  const granted = new Set(capabilities?.effective ? capabilities.permitted : []);
  return { path, capabilities, missing: UNPRIVILEGED_CRIU_CAPABILITIES.filter(({ name }) => !granted.has(name)) };
}

/** The command, to run as root, that grants the CRIU binary at `path` what a non-root user needs. */
export function grantCapabilitiesCommand(path: string): string {
  return `setcap ${UNPRIVILEGED_CRIU_CAPABILITIES.map(({ name }) => name).join(',')}+ep ${path}`;
}

/** Who runs CRIU: an effective uid and the /proc/PID/status that lists its capabilities. */
export interface ProcessCredentials {
  euid: number;
  /** The text of a /proc/PID/status; undefined: this process's own, read natively. */
  status?: string;
}

/** This process's credentials. */
export function currentCredentials(): ProcessCredentials {
  return { euid: process.geteuid?.() ?? 0 };
}

/**
 * CRIU runs in its `--unprivileged` mode when this process is not root (its effective uid is the
 * one CRIU runs as), or is root without `cap_sys_admin`: a container's root (podman, Docker and
 * Kubernetes give none by default), where CRIU's privileged mode fails at its first kernel probe
 * (it creates a network namespace) and its unprivileged one works with the container's
 * capabilities plus `cap_checkpoint_restore` (docs/containers.md).
 */
export function criuRunsUnprivileged(self: ProcessCredentials = currentCredentials()): boolean {
  return loadNative().criuRunsUnprivileged(self.euid, self.status);
}

/** A process's effective capabilities (`CapEff` of a /proc/PID/status, this one's by default) by name; undefined when unreadable. */
export function effectiveCapabilities(status?: string): Set<string> | undefined {
  const { effective } = loadNative().processPrivileges(status);
  return effective === null ? undefined : new Set(effective);
}

/**
 * A process runs with no_new_privs (`NoNewPrivs: 1`: systemd's `NoNewPrivileges=`, a
 * container's `no-new-privileges`, `setpriv --no-new-privs`; this one's by default): exec then
 * ignores file capabilities, and an unprivileged CRIU has none.
 */
export function noNewPrivileges(status?: string): boolean {
  return loadNative().processPrivileges(status).noNewPrivs;
}

/**
 * Before an unprivileged checkpoint or restore: the CRIU binary must grant every capability CRIU
 * needs (a container's root: the process itself must hold them). Checked first because CRIU's own
 * failure is a hang, not an error, when one is missing (see {@link UNPRIVILEGED_CRIU_CAPABILITIES}).
 * @throws {@link CracError} `CRAC_ECRIU_CAPS` naming the missing ones (`missing`) and the fix.
 */
export function assertCriuCapabilities(path: string, readXattr?: XattrReader, self: ProcessCredentials = currentCredentials()): void {
  const xattr = readXattr ? readXattr(path, FILE_CAPABILITIES_XATTR) : undefined;
  const problem = loadNative().criuCapabilityProblem(path, self.euid, self.status, xattr === null ? null : xattr && Buffer.from(xattr));
  if (problem) throw Object.assign(new CracError(problem.code, problem.message), { missing: problem.missing });
}
