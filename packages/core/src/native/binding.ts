import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { packageRoot } from '../package-root.js';

/** Options of the native self-dump (see native/README-native.md). */
export interface NativeCheckpointOptions {
  criuPath: string;
  imagesDir: string;
  logFile: string;
  leaveRunning: boolean;
  shellJob: boolean;
  tcpClose?: boolean;
  fileLocks?: boolean;
  extUnixSk?: boolean;
  ghostLimit?: number;
  logLevel?: number;
  /** Absolute path of a CRIU configuration file (RPC `config_file`): the criu engine's seal hook. */
  configFile?: string;
}

/** The functions of native/build/crac.node. */
export interface NativeBinding {
  checkpoint(options: NativeCheckpointOptions): { result: 'restored' | 'checkpointed'; imagesDirFd: number };
  reseedRandom(): true;
  mallocTrim(): number;
  /** V8's low-memory / memory-pressure notification on the calling thread's isolate (`CRAC_ESHRINK` when unavailable). */
  v8Notify(kind: 'low-memory' | 'pressure-critical' | 'pressure-moderate' | 'pressure-none'): true;
}

/** Where the native build puts the addon and the io_uring guard. */
export function nativeBuildPaths(): { addon: string; guard: string; init: string } {
  const build = join(packageRoot(), 'native', 'build');
  return { addon: join(build, 'crac.node'), guard: join(build, 'crac-guard'), init: join(build, 'crac-init') };
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
  const { addon } = nativeBuildPaths();
  if (!existsSync(addon)) {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `the native CRIU bridge is not built (looked for ${addon}); build it with \`node ${join(packageRoot(), 'native', 'build.mjs')}\` (needs a C compiler)`,
    );
  }
  try {
    loaded = createRequire(import.meta.url)(addon) as NativeBinding;
  } catch (cause) {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `cannot load the native CRIU bridge ${addon}: ${(cause as Error).message}; rebuild it`,
      { cause },
    );
  }
  return loaded;
}
