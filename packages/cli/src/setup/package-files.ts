import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * scripts/setup-criu.sh of the installed @crac/cli: it ships in the package (`files`), so that
 * `npx crac setup` can build CRIU wherever the package was installed. Found from this module,
 * in src/ or bundled in dist/.
 */
export function setupCriuScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const script = join(dir, 'scripts', 'setup-criu.sh');
    if (existsSync(script)) return script;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('@crac/cli: scripts/setup-criu.sh is missing from the package');
    dir = parent;
  }
}
