import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
