/**
 * What the pre-checkpoint audit finds: the open handles of the process that no resource
 * released and that would make the dump fail or the image unsafe to restore.
 */

/** The kinds of handle the audit reports. */
export type HandleKind =
  /** A TCP socket listening for connections (an HTTP server...): the port must be free at restore. */
  | 'tcp-listener'
  /** A TCP connection (to a database, a cache, another service): CRIU refuses to dump it. */
  | 'tcp-socket'
  /** A UDP socket. */
  | 'udp-socket'
  /** A unix socket listening for connections. */
  | 'unix-listener'
  /** A connected unix socket (to another process): CRIU refuses to dump it. */
  | 'unix-socket'
  /** Another kind of socket (netlink, raw...). */
  | 'other-socket'
  /** A regular file or a directory: restore fails if it changed or moved. */
  | 'file'
  /** A pipe to another process: after restore nothing is at its other end. */
  | 'pipe'
  /** A device other than the harmless ones (`/dev/null`, `/dev/urandom`...). */
  | 'device'
  /** An io_uring instance: CRIU cannot dump it. */
  | 'io_uring'
  /** An inotify instance with watches (`fs.watch`, chokidar...). */
  | 'inotify'
  /** Another anonymous inode (fanotify, timerfd, signalfd, pidfd, userfaultfd...). */
  | 'anon-inode'
  /** A child process: CRIU saves it with the app (and fails if the child holds what cannot be saved). */
  | 'child-process';

/** Where a handle was opened: the stack captured when it was. */
export interface CreationSite {
  /** `file:line:column` of the first frame outside Node's internals and `@crac/core`, if any. */
  readonly location?: string;
  /** The whole stack captured when the handle was opened. */
  readonly stack: string;
}

/** One handle the audit reports. */
export interface AuditEntry {
  readonly kind: HandleKind;
  /** The file descriptor, for handles that are one (not for child processes). */
  readonly fd?: number;
  /** The process id, for child processes. */
  readonly pid?: number;
  /** What it is, in words: `TCP socket 127.0.0.1:40112 -> 127.0.0.1:6379 (established)`. */
  readonly description: string;
  /** Where it was opened, when the audit saw it open (handles opened before `@crac/core` loaded have none). */
  readonly createdAt?: CreationSite;
  /** What takes care of it: an adapter, a hook, or an option. */
  readonly remedy: string;
  /** Whether the `close` policy can close it without breaking Node (false for libuv's own io_uring or inotify). */
  readonly closable: boolean;
}

/** How to treat handles that no resource released. */
export type UnreleasedPolicy =
  /** Refuse the checkpoint and list them (the default). */
  | 'refuse'
  /** Let them through: CRIU dumps what it can (and fails on what it cannot). */
  | 'ignore'
  /** Close them (destroy the Node handle, else close the descriptor), then checkpoint. */
  | 'close';

/**
 * The `unreleased` option of `checkpointRestore()`: one policy for every kind, or one per kind
 * with a `default` for the others. Child processes default to `ignore` (CRIU saves them with
 * the app); every other kind defaults to `refuse`.
 *
 * @example
 * ```ts
 * await checkpointRestore({ unreleased: { 'tcp-socket': 'close', file: 'ignore' } });
 * ```
 */
export type UnreleasedOption = UnreleasedPolicy | ({ default?: UnreleasedPolicy } & Partial<Record<HandleKind, UnreleasedPolicy>>);

/** When the audit runs and what it does. */
export type AuditMode =
  /** Refuse (or close, or let through) per the `unreleased` policy. Default for engines that make an image. */
  | 'enforce'
  /** Only report, in `CheckpointResult.audit`. Default for the simulate engine. */
  | 'report'
  /** Do not look. */
  | 'off';

/** What the audit found, and what was done about it. */
export interface AuditReport {
  /** Whether this platform lets the audit look (Linux `/proc`); elsewhere the lists are empty. */
  readonly supported: boolean;
  /** Every handle found that no resource released, before the policy was applied. */
  readonly entries: readonly AuditEntry[];
  /** Whether the policy was applied (`enforce`), or only reported (`report`). */
  readonly enforced: boolean;
  /** The ones the `close` policy closed (in report mode: would close). */
  readonly closed: readonly AuditEntry[];
  /** The ones let through (`ignore`). */
  readonly ignored: readonly AuditEntry[];
  /** The ones that refuse the checkpoint (in report mode: would refuse). */
  readonly refused: readonly AuditEntry[];
  /** How long the audit took, in ms. */
  readonly durationMs: number;
}
