import Module from 'node:module';
import { sep } from 'node:path';
import { ErrorCode } from '../errors.js';
import { processRecord } from '../process-record.js';

/**
 * Sees `exports`, the first time a module loads, and returns what the app gets instead (or
 * `undefined` to leave them as they are).
 */
export type ExportsPatch = (exports: unknown) => unknown;

interface Watch {
  /** `/node_modules/pg/lib/index.js`: the end of the file's path, whichever copy of the package. */
  readonly suffix: string;
  /** The package and file, for a warning. */
  readonly what: string;
  readonly patch: ExportsPatch;
}

/** The one wrapper of `Module._extensions['.js']`, process-wide, and what it watches for. */
export interface LoadHook {
  readonly watches: Set<Watch>;
}

type CompileJs = (module: { exports: unknown }, filename: string) => unknown;

/**
 * Calls `patch` with the exports of a package's file the first time each copy of it loads,
 * whoever loads it and under whatever name: `require('pg')` in the app, in an ORM or a query
 * builder, the package's own files requiring each other, an alias (`"pg8": "npm:pg@8"`), or
 * `import pg from 'pg'` in an ES module (a CommonJS package imported from ESM is compiled by
 * Node's CommonJS loader too, on Node 20, 22 and 24). What `patch` returns replaces the exports.
 * This is how the zero-code path finds the clients it knows, as OpenTelemetry's instrumentations
 * do with `require-in-the-middle`. Node's loader of `.js` files (`Module._extensions['.js']`) is
 * wrapped once per process; a failing patch is reported as a warning and the package loads unpatched.
 *
 * @param packageName the package, `pg` or `mysql2`.
 * @param entry the file, relative to the package's folder: `lib/index.js`, or a class the
 *   package builds on (`lib/pool.js`).
 * @returns a function that stops watching (what was patched stays).
 *
 * @example
 * ```ts
 * onPackageLoad('generic-pool', 'index.js', (exports) => {
 *   const pool = exports as { createPool: Function };
 *   const createPool = pool.createPool;
 *   pool.createPool = (...args: unknown[]) => adopt(createPool(...args));
 * });
 * ```
 */
export function onPackageLoad(packageName: string, entry: string, patch: ExportsPatch): () => void {
  const watch: Watch = {
    suffix: `${sep}node_modules${sep}${packageName}${sep}${entry.split('/').join(sep)}`,
    what: `${packageName}/${entry}`,
    patch,
  };
  const { watches } = loadHook();
  watches.add(watch);
  return () => {
    watches.delete(watch);
  };
}

function loadHook(): LoadHook {
  // In the process-wide record: two copies of @crac/core in one process (ESM and CJS builds) wrap once.
  const state = processRecord<{ loadHook: LoadHook }>();
  if (state.loadHook) return state.loadHook;
  const hook: LoadHook = { watches: new Set() };
  state.loadHook = hook;
  // Each file is compiled once per copy, by its extension's loader, before `require` returns it
  // and before Node 20 and 22 hand an ES module the exports: the one place every path goes through.
  const extensions = (Module as unknown as { _extensions: Record<string, CompileJs> })._extensions;
  const compile = extensions['.js'] as CompileJs;
  extensions['.js'] = function compileJs(this: unknown, module: { exports: unknown }, filename: string) {
    const result = compile.call(this, module, filename);
    for (const watch of hook.watches) if (filename.endsWith(watch.suffix)) module.exports = patched(watch, module.exports);
    return result;
  };
  return hook;
}

function patched(watch: Watch, exports: unknown): unknown {
  try {
    return watch.patch(exports) ?? exports;
  } catch (error) {
    process.emitWarning(`@crac/core: could not take care of ${watch.what} without code: ${(error as Error).message}`, {
      code: ErrorCode.INVALID_ARGUMENT,
    });
    return exports;
  }
}
