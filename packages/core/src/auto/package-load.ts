import Module from 'node:module';
import { sep } from 'node:path';
import { ErrorCode } from '../errors.js';

/**
 * Sees `exports`, the first time a module loads, and returns what the app gets instead (or
 * `undefined` to leave them as they are).
 */
export type ExportsPatch = (exports: unknown) => unknown;

interface Watch {
  /** `/node_modules/pg/lib/index.js`: the end of the entry file's path, whichever copy of the package. */
  readonly suffix: string;
  /** The request that names it from outside: `pg`, `mysql2/promise`. */
  readonly request: string;
  /** How the package's own files name it: `./pool` or `./pool.js` end with `/pool`. */
  readonly relative: string;
  readonly patch: ExportsPatch;
}

interface LoadHook {
  readonly watches: Set<Watch>;
  /** The module records already seen by a watch: each copy of a package is patched once. */
  readonly seen: WeakMap<object, Set<Watch>>;
}

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
type ModuleInternals = {
  _load: Load;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
  _cache: Record<string, { exports: unknown } | undefined>;
};

// Keyed on globalThis: two copies of @crac/core in one process (ESM and CJS builds) wrap once.
const HOOK = Symbol.for('@crac/core:load-hook');

/**
 * Calls `patch` with the exports of a package's entry file the first time each copy of it loads,
 * whoever loads it: `require('pg')` in the app, in an ORM or a query builder, or
 * `import pg from 'pg'` in an ES module (a CommonJS package imported from ESM is loaded by
 * Node's CommonJS loader too, on Node 20, 22 and 24). What `patch` returns replaces the exports
 * for `require` (a package's own files requiring each other too), but an ES module on Node 20 and
 * 22 gets the exports as they were loaded: patch what an app imports in place. This is how the zero-code path finds the clients it knows, as OpenTelemetry's
 * instrumentations do with `require-in-the-middle`. `Module._load` is wrapped once per process; a
 * failing patch is reported as a warning and the package loads unpatched.
 *
 * @param packageName the package, `pg` or `mysql2`.
 * @param entry the file, relative to the package's folder: `lib/index.js` (the package's own
 *   files requiring it are seen too: a class the package builds on can be patched).
 * @param subpath the request that names that file when it is not the package's main: `promise` for `mysql2/promise`.
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
export function onPackageLoad(packageName: string, entry: string, patch: ExportsPatch, subpath?: string): () => void {
  const watch: Watch = {
    suffix: `${sep}node_modules${sep}${packageName}${sep}${entry.split('/').join(sep)}`,
    request: subpath ? `${packageName}/${subpath}` : packageName,
    relative: `/${entry.split('/').pop()?.replace(/\.js$/, '')}`,
    patch,
  };
  const { watches } = loadHook();
  watches.add(watch);
  return () => {
    watches.delete(watch);
  };
}

function loadHook(): LoadHook {
  const holder = globalThis as { [HOOK]?: LoadHook };
  if (holder[HOOK]) return holder[HOOK];
  const hook: LoadHook = { watches: new Set(), seen: new WeakMap() };
  holder[HOOK] = hook;
  const internals = Module as unknown as ModuleInternals;
  const original = internals._load;
  internals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean) {
    const exports = original.call(this, request, parent, isMain);
    if (hook.watches.size === 0) return exports;
    const watching = [...hook.watches].filter((watch) => names(watch, request));
    if (watching.length === 0) return exports;
    return patched(hook, watching, filenameOf(internals, request, parent, isMain), exports);
  };
  return hook;
}

/** Whether `request` may name the watched file (the resolved file name decides). */
function names(watch: Watch, request: string): boolean {
  if (request === watch.request || request.endsWith(watch.suffix)) return true;
  return request.startsWith('.') && (request.endsWith(watch.relative) || request.endsWith(`${watch.relative}.js`));
}

/** The file a request loaded (an absolute path already when ESM imports a CommonJS file). */
function filenameOf(internals: ModuleInternals, request: string, parent: unknown, isMain: boolean): string | undefined {
  if (request.startsWith(sep)) return request;
  try {
    return internals._resolveFilename(request, parent, isMain);
  } catch {
    return undefined;
  }
}

function patched(hook: LoadHook, watching: Watch[], filename: string | undefined, exports: unknown): unknown {
  const internals = Module as unknown as ModuleInternals;
  const record = filename ? internals._cache[filename] : undefined;
  // Only a complete load of the entry file itself (not a cycle's partial exports, not another file).
  if (!record || !filename || record.exports !== exports || !(record as { loaded?: boolean }).loaded) return exports;
  const seen = hook.seen.get(record) ?? new Set<Watch>();
  hook.seen.set(record, seen);
  let current = exports;
  for (const watch of watching) {
    if (seen.has(watch) || !filename.endsWith(watch.suffix)) continue;
    seen.add(watch);
    try {
      const replacement = watch.patch(current);
      if (replacement !== undefined) current = replacement;
    } catch (error) {
      process.emitWarning(`@crac/core: could not take care of ${watch.request} without code: ${(error as Error).message}`, {
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
  }
  record.exports = current;
  return current;
}
