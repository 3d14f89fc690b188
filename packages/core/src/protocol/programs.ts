import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CracError, ErrorCode } from '../errors.js';
import { findPrebuiltPackage, hostPlatform, PREBUILT_PLATFORMS, type PrebuiltLookup, prebuiltPackageName } from './prebuilt.js';

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
 * The native programs of @crac/core, by role (prebuilt in the platform package, or built from
 * native/src by native/build.mjs):
 * - `addon`: crac.node, the N-API bridge the app loads to dump itself;
 * - `guard`: crac-guard, which starts the app with io_uring disabled (Node 22+ cannot be dumped otherwise);
 * - `init`: crac-init, the restore supervisor alone (no verification: the benchmark's floor, other restorers);
 * - `restore`: crac-restore, `crac restore` itself: verifies the image, then supervises its restore
 *   (the `crac` launcher execs it without starting Node);
 * - `seal`: crac-seal, the seal step CRIU runs at post-dump (checksums into the manifest, the image put in place).
 */
export const NATIVE_PROGRAMS = {
  addon: { file: 'crac.node', what: 'the native CRIU bridge' },
  guard: { file: 'crac-guard', what: 'the io_uring guard' },
  init: { file: 'crac-init', what: 'the restore supervisor' },
  restore: { file: 'crac-restore', what: 'the native restorer' },
  seal: { file: 'crac-seal', what: 'the seal step' },
} as const;

export type NativeProgram = keyof typeof NATIVE_PROGRAMS;

/** Where a native program was found. */
export interface NativeProgramLocation {
  path: string;
  /** `prebuilt`: from the platform package; `built`: from @crac/core's own native/build (a checkout, or a build from source). */
  source: 'prebuilt' | 'built';
}

interface NativeDirs {
  prebuilt: PrebuiltLookup;
  built: string;
  /** @crac/core's version: the platform package must have the same. */
  version: string;
}

let nativeDirs: NativeDirs | undefined;

/** Where the native programs are looked for, in order: native/build, then the platform package. Looked up once. */
function lookupNativeDirs(): NativeDirs {
  if (!nativeDirs) {
    const root = packageRoot();
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    nativeDirs = { prebuilt: findPrebuiltPackage(root, version), built: join(root, 'native', 'build'), version };
  }
  return nativeDirs;
}

/**
 * Finds `program`: in @crac/core's native/build first (a checkout's fresh build, or a build from
 * source by `crac setup` where the prebuilt one cannot be used), else in the platform package of
 * this host. An installed package has no native/build unless it was built there on purpose.
 */
export function findNativeProgram(program: NativeProgram): NativeProgramLocation | undefined {
  const { prebuilt, built } = lookupNativeDirs();
  const file = NATIVE_PROGRAMS[program].file;
  if (existsSync(join(built, file))) return { path: join(built, file), source: 'built' };
  if (prebuilt.found && existsSync(join(prebuilt.found.dir, file))) return { path: join(prebuilt.found.dir, file), source: 'prebuilt' };
  return undefined;
}

/** Where `program` is, or where it would be: the platform package when installed, else native/build. */
export function nativeProgramPath(program: NativeProgram): string {
  const found = findNativeProgram(program);
  if (found) return found.path;
  const { prebuilt, built } = lookupNativeDirs();
  return join(prebuilt.found?.dir ?? built, NATIVE_PROGRAMS[program].file);
}

/** The script that builds the native programs from source into @crac/core's native/build (plain Node, needs a C compiler). */
export function nativeBuildScript(): string {
  return join(packageRoot(), 'native', 'build.mjs');
}

/** The command that builds the native programs from source, as a user would type it. */
export function nativeBuildCommand(): string {
  return `node ${nativeBuildScript()}`;
}

/**
 * Why the native programs are missing and what fixes it, for an app that installed @crac/core
 * from a registry: the platform package to install, or the build from source.
 */
export function missingNativeAdvice(): string {
  const platform = hostPlatform();
  const fromSource = `or build them from source: \`npx crac setup\` (@crac/cli; needs a C compiler)`;
  if (!PREBUILT_PLATFORMS.includes(platform)) {
    return `no prebuilt native programs are published for ${platform} (only for ${PREBUILT_PLATFORMS.join(', ')}): build them from source with \`npx crac setup\` (@crac/cli) or \`${nativeBuildCommand()}\` (needs a C compiler)`;
  }
  const { prebuilt, version } = lookupNativeDirs();
  const name = prebuiltPackageName(platform);
  const why = prebuilt.found ? `${name} lacks them` : prebuilt.reason === 'not installed' ? `${name} is not installed` : prebuilt.reason;
  return (
    `${why} (the optional dependency of @crac/core that has them prebuilt): reinstall without omitting optional ` +
    `dependencies, or \`npm install ${name}@${version}\`; ${fromSource}`
  );
}

/**
 * The path of a native program: from @crac/core's native/build when built there, else from the
 * platform package (`@crac/core-linux-x64-gnu`).
 * @throws {@link CracError} `CRAC_EENGINE` when neither has it, naming the package and the fix.
 */
export function requireNativeProgram(program: NativeProgram): string {
  const found = findNativeProgram(program);
  if (!found) {
    const { what, file } = NATIVE_PROGRAMS[program];
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `${what} (${file}) is missing: ${missingNativeAdvice()}`);
  }
  return found.path;
}
