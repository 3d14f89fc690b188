import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The prebuilt native programs ship in one optional package per platform, as esbuild's and
 * swc's binaries do: `@crac/core-linux-x64-gnu`, an optionalDependency of @crac/core with its
 * exact version, which npm, pnpm and yarn install only where its `os`, `cpu` and `libc` match.
 * No install script, no compiler on the user's machine.
 */

/** The platforms a package of prebuilt native programs is published for. */
export const PREBUILT_PLATFORMS: readonly string[] = ['linux-x64-gnu'];

/** The package of prebuilt native programs for `platform` (`linux-x64-gnu`). */
export function prebuiltPackageName(platform: string): string {
  return `@crac/core-${platform}`;
}

/** Where a package of prebuilt native programs was found. */
export interface PrebuiltPackage {
  name: string;
  /** Its directory: the programs are at its top level. */
  dir: string;
  version: string;
}

/** What looking for the platform package found. */
export type PrebuiltLookup =
  | { found: PrebuiltPackage }
  | {
      found?: undefined;
      /** Why none is usable: `not installed`, or another version (`@crac/core-linux-x64-gnu 1.0.0 is installed, but...`). */
      reason: string;
    };

/**
 * The platforms this host could be, most likely first, without asking libc (that costs a
 * process report, about 7 ms, on every restore): the package manager installed only the one
 * whose `libc` field matches, so the first installed is the right one.
 */
function candidatePlatforms(platform: string, arch: string): string[] {
  return platform === 'linux' ? [`linux-${arch}-gnu`, `linux-${arch}-musl`] : [`${platform}-${arch}`];
}

/**
 * Looks for the package of prebuilt native programs of this host, as installed beside
 * `@crac/core` (resolved from its directory, as Node resolves its dependencies). Only the
 * version of `@crac/core` itself is accepted: the programs and the JavaScript speak one protocol.
 */
export function findPrebuiltPackage(
  coreDir: string,
  coreVersion: string,
  { platform = process.platform as string, arch = process.arch as string } = {},
): PrebuiltLookup {
  const require = createRequire(join(coreDir, 'package.json'));
  for (const candidate of candidatePlatforms(platform, arch)) {
    const name = prebuiltPackageName(candidate);
    let manifest: string;
    try {
      manifest = require.resolve(`${name}/package.json`);
    } catch {
      continue;
    }
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    if (version !== coreVersion) {
      return { reason: `${name} ${version} is installed, but @crac/core is ${coreVersion} and needs the same version` };
    }
    return { found: { name, dir: dirname(manifest), version } };
  }
  return { reason: 'not installed' };
}

/**
 * This host's platform as packages name it (`linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`).
 * Slow (a process report for the libc): for messages, not for every lookup.
 */
export function hostPlatform(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `linux-${process.arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}
