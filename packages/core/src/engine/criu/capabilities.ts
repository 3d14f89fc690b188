import { readFileSync } from 'node:fs';
import { CracError, ErrorCode } from '../../errors.js';
import { loadNative } from './native.js';

/**
 * A non-root user checkpoints and restores with CRIU's `--unprivileged` mode: the CRIU binary
 * carries the few capabilities it needs as file capabilities (`setcap ...+ep`), granted by root
 * once. Which ones, and why, was found by experiment on this project's hosts (README, "Without
 * root"); everything here reads or names them, `grant.ts` sets them.
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

/** Capability names by bit, as `capsh` and `getcap` print them (linux/capability.h). */
const CAPABILITY_NAMES = [
  'cap_chown',
  'cap_dac_override',
  'cap_dac_read_search',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_linux_immutable',
  'cap_net_bind_service',
  'cap_net_broadcast',
  'cap_net_admin',
  'cap_net_raw',
  'cap_ipc_lock',
  'cap_ipc_owner',
  'cap_sys_module',
  'cap_sys_rawio',
  'cap_sys_chroot',
  'cap_sys_ptrace',
  'cap_sys_pacct',
  'cap_sys_admin',
  'cap_sys_boot',
  'cap_sys_nice',
  'cap_sys_resource',
  'cap_sys_time',
  'cap_sys_tty_config',
  'cap_mknod',
  'cap_lease',
  'cap_audit_write',
  'cap_audit_control',
  'cap_setfcap',
  'cap_mac_override',
  'cap_mac_admin',
  'cap_syslog',
  'cap_wake_alarm',
  'cap_block_suspend',
  'cap_audit_read',
  'cap_perfmon',
  'cap_bpf',
  'cap_checkpoint_restore',
] as const;

/** The name of capability `bit`. */
export function capabilityName(bit: number): string {
  return CAPABILITY_NAMES[bit] ?? `cap_${bit}`;
}

// struct vfs_cap_data / vfs_ns_cap_data (linux/capability.h): a little-endian u32 magic_etc
// (revision | the effective flag), then per 32 capabilities a permitted and an inheritable u32;
// revision 3 adds the rootid.
const REVISION_MASK = 0xff000000;
const EFFECTIVE_FLAG = 0x000001;
const REVISIONS = new Map([
  [0x01000000, { words: 1, size: 12 }],
  [0x02000000, { words: 2, size: 20 }],
  [0x03000000, { words: 2, size: 24 }],
]);

/**
 * Decodes a `security.capability` value.
 * @throws {@link CracError} `CRAC_EIO` for a value no kernel writes (unknown revision, wrong size).
 */
export function decodeFileCapabilities(value: Uint8Array): FileCapabilities {
  const data = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const magic = data.length >= 4 ? data.readUInt32LE(0) : 0;
  const revision = REVISIONS.get((magic & REVISION_MASK) >>> 0);
  if (!revision || data.length !== revision.size) {
    throw new CracError(ErrorCode.IO, `unreadable file capabilities (${data.length} bytes, magic 0x${magic.toString(16)})`);
  }
  const permitted: string[] = [];
  const inheritable: string[] = [];
  for (let word = 0; word < revision.words; word++) {
    const p = data.readUInt32LE(4 + word * 8);
    const i = data.readUInt32LE(8 + word * 8);
    for (let bit = 0; bit < 32; bit++) {
      if ((p >>> bit) & 1) permitted.push(capabilityName(word * 32 + bit));
      if ((i >>> bit) & 1) inheritable.push(capabilityName(word * 32 + bit));
    }
  }
  return {
    permitted,
    inheritable,
    effective: (magic & EFFECTIVE_FLAG) !== 0,
    ...(revision.size === 24 ? { rootUid: data.readUInt32LE(20) } : {}),
  };
}

/** Reads an extended attribute: the native bridge's `readXattr` unless a test passes its own. */
export type XattrReader = (path: string, name: string) => Uint8Array | null;

/** The file capabilities of `path` (the file exec would run), or undefined when it has none. */
export function readFileCapabilities(path: string, readXattr: XattrReader = defaultReader): FileCapabilities | undefined {
  const value = readXattr(path, FILE_CAPABILITIES_XATTR);
  return value === null ? undefined : decodeFileCapabilities(value);
}

function defaultReader(path: string, name: string): Uint8Array | null {
  return loadNative().readXattr(path, name);
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

/**
 * CRIU runs in its `--unprivileged` mode when this process is not root (its effective uid is the
 * one CRIU runs as), or is root without `cap_sys_admin`: a container's root (podman, Docker and
 * Kubernetes give none by default), where CRIU's privileged mode fails at its first kernel probe
 * (it creates a network namespace) and its unprivileged one works with the container's
 * capabilities plus `cap_checkpoint_restore` (docs/containers.md).
 */
export function criuRunsUnprivileged(self: ProcessCredentials = currentCredentials()): boolean {
  if (self.euid !== 0) return true;
  const effective = effectiveCapabilities(self.status);
  return effective !== undefined && !effective.has('cap_sys_admin');
}

/** Who runs CRIU: an effective uid and the /proc/PID/status that lists its capabilities. */
export interface ProcessCredentials {
  euid: number;
  status: string;
}

/** This process's credentials. */
export function currentCredentials(): ProcessCredentials {
  return { euid: process.geteuid?.() ?? 0, status: readProcSelfStatus() };
}

/** This process's effective capabilities (`CapEff` of /proc/self/status) by name; undefined when unreadable. */
export function effectiveCapabilities(status = readProcSelfStatus()): Set<string> | undefined {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) return undefined;
  const bits = BigInt(`0x${hex}`);
  const names = new Set<string>();
  for (let bit = 0; bit < 64; bit++) if ((bits >> BigInt(bit)) & 1n) names.add(capabilityName(bit));
  return names;
}

/**
 * This process runs with no_new_privs (`NoNewPrivs: 1`: systemd's `NoNewPrivileges=`, a
 * container's `no-new-privileges`, `setpriv --no-new-privs`): exec then ignores file
 * capabilities, and an unprivileged CRIU has none.
 */
export function noNewPrivileges(status = readProcSelfStatus()): boolean {
  return /^NoNewPrivs:\s*1$/m.test(status);
}

function readProcSelfStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Before an unprivileged checkpoint or restore: the CRIU binary must grant every capability CRIU
 * needs. Checked first because CRIU's own failure is a hang, not an error, when one is missing
 * (see {@link UNPRIVILEGED_CRIU_CAPABILITIES}).
 * @throws {@link CracError} `CRAC_ECRIU_CAPS` naming the missing ones and the command that grants them.
 */
export function assertCriuCapabilities(path: string, readXattr?: XattrReader, self: ProcessCredentials = currentCredentials()): void {
  if (self.euid === 0) {
    // a container's root: CRIU runs with root's own capabilities (exec keeps them), not its file's
    const effective = effectiveCapabilities(self.status) ?? new Set<string>();
    const names = UNPRIVILEGED_CRIU_CAPABILITIES.filter(({ name }) => !effective.has(name)).map(({ name }) => name);
    if (names.length === 0) return;
    throw Object.assign(
      new CracError(
        ErrorCode.CRIU_CAPABILITIES,
        `this process is root without cap_sys_admin (a container's root) and lacks ${names.join(' and ')}, which CRIU's checkpoint and restore need: give the container ${names.map((name) => `--cap-add ${name.slice(4).toUpperCase()}`).join(' ')} (Kubernetes: securityContext.capabilities.add), see docs/containers.md`,
      ),
      { missing: names },
    );
  }
  if (noNewPrivileges(self.status)) {
    throw Object.assign(
      new CracError(
        ErrorCode.CRIU_CAPABILITIES,
        `this process runs with no_new_privs, so CRIU at ${path} would run without its file capabilities: checkpoint and restore as a non-root user outside no_new_privs (systemd NoNewPrivileges=, a container's no-new-privileges), or as root`,
      ),
      { missing: UNPRIVILEGED_CRIU_CAPABILITIES.map(({ name }) => name) },
    );
  }
  const { missing } = criuCapabilityStatus(path, readXattr);
  if (missing.length === 0) return;
  const names = missing.map(({ name }) => name);
  throw Object.assign(
    new CracError(
      ErrorCode.CRIU_CAPABILITIES,
      `CRIU at ${path} lacks ${names.join(' and ')}, which a non-root user's checkpoint and restore need: as root, run \`${grantCapabilitiesCommand(path)}\` (or \`crac check --grant-capabilities\`)`,
    ),
    { missing: names },
  );
}
