import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CracError, ErrorCode } from '../errors.js';

/** The directory of @crac/core's package.json, from the sources or from the bundled dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'native', 'build.mjs'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('@crac/core: cannot find the package directory');
    dir = parent;
  }
  return dir;
}

/**
 * The programs of @crac/core's native build, by role:
 * - `addon`: crac.node, the N-API bridge the app loads to dump itself;
 * - `guard`: crac-guard, which starts the app with io_uring disabled (Node 22+ cannot be dumped otherwise);
 * - `init`: crac-init, the restore supervisor that stays the restored app's parent.
 */
export const NATIVE_PROGRAMS = {
  addon: { file: 'crac.node', what: 'the native CRIU bridge' },
  guard: { file: 'crac-guard', what: 'the io_uring guard' },
  init: { file: 'crac-init', what: 'the restore supervisor' },
} as const;

export type NativeProgram = keyof typeof NATIVE_PROGRAMS;

/** Where the native build puts `program` (it may not be built). */
export function nativeProgramPath(program: NativeProgram): string {
  return join(packageRoot(), 'native', 'build', NATIVE_PROGRAMS[program].file);
}

/** The command that builds the native programs, as a user would type it. */
export function nativeBuildCommand(): string {
  return `node ${join(packageRoot(), 'native', 'build.mjs')}`;
}

/**
 * The path of a built native program.
 * @throws {@link CracError} `CRAC_EENGINE` when it is not built, with the command that builds it.
 */
export function requireNativeProgram(program: NativeProgram): string {
  const path = nativeProgramPath(program);
  if (!existsSync(path)) {
    throw new CracError(
      ErrorCode.ENGINE_UNAVAILABLE,
      `${NATIVE_PROGRAMS[program].what} is not built (looked for ${path}); build it with \`${nativeBuildCommand()}\` (needs a C compiler)`,
    );
  }
  return path;
}

/** The preload that makes an app accept checkpoint requests (`@crac/core/register`, CommonJS build). */
export function registerPreloadPath(): string {
  return join(packageRoot(), 'dist', 'register.cjs');
}
