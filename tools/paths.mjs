// Where things are in this checkout. `paths` is the one place that says where the built
// artefacts are (the `crac` CLI, the native build): when one moves, only this object changes.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const paths = Object.freeze({
  root,
  /** The `crac` CLI's Node part: `node paths.cli ARGS` runs `crac ARGS` (for `restore`, through Node: see `crac`). */
  cli: join(root, 'packages', 'cli', 'dist', 'cli.js'),
  /** The `crac` command as installed (packages/cli/bin/crac): `crac restore` execs crac-restore without starting Node. */
  crac: join(root, 'packages', 'cli', 'bin', 'crac'),
  /** The native build: crac.node, crac-guard, crac-init, crac-restore. */
  nativeBuild: join(root, 'packages', 'core', 'native', 'build'),
  /** Node 22 (test/'s npm package node22), the previous LTS the real-CRIU runs use. */
  node22: join(root, 'test', 'node_modules', 'node22', 'bin', 'node'),
  /** Node 24 (test/'s npm package node24), the current LTS the real-CRIU runs use. */
  node24: join(root, 'test', 'node_modules', 'node24', 'bin', 'node'),
  /** CRIU: $CRAC_CRIU_PATH, else where crac setup (packages/cli/scripts/setup-criu.sh) puts it. */
  criu: process.env.CRAC_CRIU_PATH || '/usr/local/libexec/crac/criu',
  /** The examples; those with a demo.json run in the demo and the benchmark. */
  examples: join(root, 'examples'),
});
