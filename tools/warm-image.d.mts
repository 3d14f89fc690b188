// Types of warm-image.mjs.
export { IMAGE_PATHS } from './rootfs.mjs';

/** Where the warm image lives inside the OCI image. */
export const WARM_IMAGE_DIR: string;
/** The build step's shell command: `crac checkpoint --to WARM_IMAGE_DIR --warmup W -- START`, nothing else. */
export function checkpointCommand(options: { warmup: string; start: readonly string[] }): string;
/** Runs the build step in a container of `image` and commits it as `name` (entrypoint `crac restore`); resolves with its output. */
export function bakeWarmImage(options: {
  image: string;
  name: string;
  env?: Record<string, string>;
  /** A shell command run inside the build container once the app started. */
  warmup: string;
  start?: readonly string[];
  /** The build step's seccomp profile: `unconfined` (default; CRIU must suspend the app's filter) or a file. */
  seccomp?: string;
  progress?: (message: string) => void;
}): Promise<string>;
/** An example's app image and its warm image `localhost/crac-node/EXAMPLE-warm:TAG`, baked with its own warm-up (demo.json). */
export function bakeExample(options: {
  example: string;
  config: { start: readonly string[]; warmup: { path: string; requests: number } };
  services: Record<string, string>;
  tag: string;
  progress?: (message: string) => void;
}): Promise<{ image: string; warmImage: string; bakeMs: number }>;
/** Commits `container` (its warm image in WARM_IMAGE_DIR) as image `name`, whose entrypoint restores it. */
export function commitWarmImage(container: string, name: string): Promise<void>;
/** Writes the restoring containers' seccomp profile (podman's default with vmsplice allowed) to `path`. */
export function writeRestoreSeccompProfile(path: string, defaults?: string): string;
/** `podman run` options of a restoring container. */
export function restoreFlags(seccompProfile: string): string[];
