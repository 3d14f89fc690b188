import { createRequire } from 'node:module';
import { CracError, ErrorCode } from '../../errors.js';
import { requireNativeProgram } from '../../protocol/programs.js';

/** Where a CRIU restore's time went (crac restore --json's `criu`; see criuRestorePhases()). */
export interface CriuRestorePhases {
  /** From CRIU's start to its last line. */
  ms: number;
  /** In order; a phase whose first line is not in the log counts in the one before. */
  phases: { phase: 'setup' | 'fork' | 'mappings' | 'files' | 'restorer' | 'memory' | 'threads' | 'resume'; ms: number }[];
}

/** Options of the native self-dump (see native/README-native.md). */
export interface NativeCheckpointOptions {
  criuPath: string;
  imagesDir: string;
  logFile: string;
  leaveRunning: boolean;
  shellJob: boolean;
  /** Run CRIU in its `--unprivileged` mode (RPC `unprivileged`): a non-root user, with file capabilities. */
  unprivileged?: boolean;
  /** Absolute path of a CRIU configuration file (RPC `config_file`): the criu engine's seal hook. */
  configFile?: string;
  /** `NAME=value` entries added to CRIU's environment, which its action scripts inherit (the seal hook's). */
  env?: string[];
  /** How long CRIU may take to answer before it is taken for hung and stopped (default 120 000). */
  replyTimeoutMs?: number;
}

/** File capabilities as crac.node decodes them. */
export interface NativeFileCapabilities {
  permitted: string[];
  inheritable: string[];
  effective: boolean;
  rootUid?: number;
}

/** The functions of native/build/crac.node. */
export interface NativeBinding {
  checkpoint(options: NativeCheckpointOptions): { result: 'restored' | 'checkpointed'; imagesDirFd: number };
  reseedRandom(): true;
  mallocTrim(): number;
  /** V8's low-memory / memory-pressure notification on the calling thread's isolate (`CRAC_ESHRINK` when unavailable). */
  v8Notify(kind: 'low-memory' | 'pressure-critical' | 'pressure-moderate' | 'pressure-none'): true;
  /** Points descriptor `fd` (above 2) at /dev/null, keeping its number (dup3): the audit's `close` for raw descriptors. */
  neutralizeFd(fd: number): true;
  /** Catches these signals in C until {@link NativeBinding.releaseSignals} (the stop signals, from just before a dump until the cycle settles). */
  holdSignals(signals: number[]): true;
  /** The held signals caught so far. */
  caughtSignals(): number[];
  /** The held signals caught so far, forgotten; they stay held. */
  takeCaughtSignals(): number[];
  /** The held signals whose last one was sent with `sigqueue()` and this value (a restorer's token), since {@link NativeBinding.holdSignals}. */
  caughtWithToken(token: number): number[];
  /**
   * Puts the previous handlers back, but for `defaulted` (Node gave those back to the default
   * action as their last listener went); returns the signals caught since the last take.
   */
  releaseSignals(defaulted?: number[]): number[];
  /**
   * Hands these listening sockets to a holder process outside the dumped tree, which keeps them
   * bound until {@link NativeBinding.reclaimListeners} or this process ends; returns its token.
   */
  holdListeners(fds: number[]): string;
  /** Takes the sockets back from the holder of `token` (only this process can): new descriptors, in order. */
  reclaimListeners(token: string): number[];
  /** A checkpoint's target is absent, or a directory of this user's holding only an image (`CRAC_EIMAGE` when not). */
  assertReplaceable(target: string): true;
  /** The text of the manifest of the image in `dir`, read and checked by the native reader (`CRAC_EIMAGE` when refused). */
  readManifest(dir: string): string;
  /**
   * The first CRIU 4.2+ of a search: `configured` alone when set, else `defaultPath`, then `criu`
   * in each absolute directory of `path` and `sbinDirs` (`CRAC_EENGINE` saying what was found).
   */
  findCriu(search: { configured?: string; defaultPath: string; path?: string; sbinDirs: string[] }): {
    path: string;
    version: string;
    from: 'env' | 'default' | 'path';
  };
  /** Why a file of `owner` and `mode` is unsafe for `uid` to restore (null: it is not). */
  fileUnsafety(owner: number, mode: number, uid: number): 'owner' | 'writable' | null;
  /** The same for a directory; `belowOwner`: the owner of its entry on the way to the image. */
  directoryUnsafety(owner: number, mode: number, uid: number, belowOwner?: number): 'owner' | 'writable' | null;
  /** `uid 1001 (alice)`. */
  describeOwner(uid: number): string;
  /** The directory open on `fd` and its parents checked for `uid` (`CRAC_EIMAGE`, `CRAC_EENGINE` for a program's, when refused). */
  assertSafeDirectory(fd: number, dir: string, uid: number, use: 'restore' | 'checkpoint' | 'program' | 'environment'): true;
  /** The image directory opened (not through a link) and checked, as crac restore does: its descriptor. */
  openImageDir(dir: string, uid: number): number;
  /** CRIU's own `Error (...)` lines of the log at `path` (none when it cannot be read). */
  criuErrorLines(path: string): string[];
  criuRestorePhases(path: string): CriuRestorePhases;
  /** A `security.capability` value decoded (`CRAC_EIO` for one no kernel writes). */
  decodeFileCapabilities(value: Buffer): NativeFileCapabilities;
  /** The file capabilities of `path` (following links), null when it has none. */
  fileCapabilities(path: string): NativeFileCapabilities | null;
  /** The name of capability `bit` (`cap_63` for one Linux does not name yet). */
  capabilityName(bit: number): string;
  /** What a /proc/PID/status says (this process's when `status` is undefined): CapEff by name (null: unreadable), NoNewPrivs. */
  processPrivileges(status?: string): { effective: string[] | null; noNewPrivs: boolean };
  /** Whether CRIU runs `--unprivileged` for a process of `euid` with that status. */
  criuRunsUnprivileged(euid: number, status?: string): boolean;
  /** Why CRIU at `path` cannot run unprivileged (null: it can); `xattr` undefined: the file's own, null: none. */
  criuCapabilityProblem(
    path: string,
    euid: number,
    status?: string,
    xattr?: Buffer | null,
  ): { code: string; message: string; missing: string[] } | null;
}

let loaded: NativeBinding | undefined;

/**
 * Loads the native bridge on first use, so that importing @crac/core never needs it.
 * @throws {@link CracError} `CRAC_EENGINE` saying what was tried and how to build it.
 */
export function loadNative(): NativeBinding {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `the native CRIU bridge needs Linux (this is ${process.platform}); use the simulate engine`,
    );
  }
  const addon = requireNativeProgram('addon');
  try {
    loaded = withCracErrors(createRequire(import.meta.url)(addon) as NativeBinding);
  } catch (cause) {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `cannot load the native CRIU bridge ${addon}: ${(cause as Error).message}; rebuild it`,
      { cause },
    );
  }
  return loaded;
}

/**
 * The addon throws plain `Error`s with a `code` (C has no classes): make them {@link CracError}s,
 * keeping the details it attached (`criuErrors`, `errno`, `syscall`...).
 */
function withCracErrors(binding: NativeBinding): NativeBinding {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(binding) as [string, (...args: unknown[]) => unknown][]) {
    wrapped[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (error) {
        throw asCracError(error);
      }
    };
  }
  return wrapped as unknown as NativeBinding;
}

function asCracError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof CracError) return error;
  const { code } = error as { code?: unknown };
  if (typeof code !== 'string' || !code.startsWith('CRAC_')) return error;
  const converted = new CracError(code, error.message, { cause: error });
  for (const [key, value] of Object.entries(error)) if (key !== 'code') Object.assign(converted, { [key]: value });
  return converted;
}
