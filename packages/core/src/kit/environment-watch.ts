/**
 * Which of some environment variables the restoring environment changed: an adapter takes a
 * snapshot when it releases its connections, and after the restore follows the variables that
 * changed (a copy restored with another `DATABASE_URL` talks to that database), and only those
 * (settings the app gave explicitly stay when the environment says nothing new).
 *
 * @example
 * ```ts
 * const watch = watchEnvironment(['REDIS_URL']);
 * // beforeCheckpoint
 * watch.snapshot();
 * // afterRestore (process.env is the restorer's by then)
 * if (watch.changed().length > 0) client.options = settingsFrom(process.env.REDIS_URL);
 * ```
 */
export interface EnvironmentWatch {
  /** Records the variables' current values. */
  snapshot(): void;
  /** The variables whose value differs from the snapshot (set, removed or changed); none before a snapshot. */
  changed(): string[];
}

/** Watches `names` in `env` (default `process.env`): see {@link EnvironmentWatch}. */
export function watchEnvironment(names: readonly string[], env: NodeJS.ProcessEnv = process.env): EnvironmentWatch {
  let taken: Map<string, string | undefined> | undefined;
  return {
    snapshot() {
      taken = new Map(names.map((name) => [name, env[name]]));
    },
    changed() {
      if (!taken) return [];
      const before = taken;
      return names.filter((name) => env[name] !== before.get(name));
    },
  };
}
