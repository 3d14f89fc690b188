import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file of the installed @crac/cli (`relative` to its folder), found from this module, in src/ or bundled in dist/. */
function packageFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, relative);
    if (existsSync(file)) return file;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`@crac/cli: ${relative} is missing from the package (is it built?)`);
    dir = parent;
  }
}

/**
 * scripts/setup-criu.sh of the installed @crac/cli: it ships in the package (`files`), so that
 * `npx crac setup` can build CRIU wherever the package was installed.
 */
export function setupCriuScript(): string {
  return packageFile(join('scripts', 'setup-criu.sh'));
}

/** The preload `crac checkpoint` gives the app (`@crac/cli/register`, CommonJS build). */
export function registerPreload(): string {
  return packageFile(join('dist', 'register.cjs'));
}
