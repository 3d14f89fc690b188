// Types of paths.mjs.
export declare const paths: Readonly<{
  /** The repository's root. */
  root: string;
  /** The `crac` CLI's Node part: `node paths.cli ARGS` runs `crac ARGS` (for `restore`, through Node: see `crac`). */
  cli: string;
  /** The `crac` command as installed (packages/cli/bin/crac): `crac restore` execs crac-restore without starting Node. */
  crac: string;
  /** The native build: crac.node, crac-guard, crac-init, crac-restore. */
  nativeBuild: string;
  /** Node 22 (test/'s npm package node22). */
  node22: string;
  /** Node 24 (test/'s npm package node24). */
  node24: string;
  /** CRIU: $CRAC_CRIU_PATH, else /usr/local/libexec/crac/criu. */
  criu: string;
  /** The examples' directory. */
  examples: string;
}>;
