// Types of container-timing.mjs.

/** podman's StartedAt (`2026-12-06 18:30:00.123456789 +0000 UTC`) in ms since the epoch. */
export function startedAtMs(text: string): number;
/** crac restore's phases from its log lines, in ms; undefined when absent. */
export function restorePhases(log: string): { verifyMs?: number; restoreMs?: number };
/** Where a container's time to its first 200 went. */
export interface ContainerPhases {
  /** From `podman run` to the container's process start (podman, conmon, runc). */
  containerStartMs: number;
  /** A restored container: crac restore's verify phase. */
  verifyMs?: number;
  /** A restored container: crac restore's restore phase (its supervisor and CRIU). */
  restoreMs?: number;
  /** A restored container: the rest (crac's launcher, afterRestore, the first response). */
  restMs?: number;
}
/** Starts a container (`podman run --detach`) and waits for its first 200 on `probe`. */
export function timeContainer(options: {
  name: string;
  flags: readonly string[];
  /** The image and its command. */
  image: readonly string[];
  env?: Record<string, string>;
  probe: string;
}): Promise<{ name: string; port: number; ms: number; phases: ContainerPhases }>;
