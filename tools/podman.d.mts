// Types of podman.mjs.

/** podman's global options here: `--runtime runc --runtime-flag criu=CRIU` (CRIU 4.2 for runc). */
export function globalFlags(criu?: string): string[];
/** The environment podman runs in: CRIU 4.2's directory first on PATH (podman checks for a `criu` of at least 3.11 there). */
export function podmanEnv(): NodeJS.ProcessEnv;
/** `podman run` options every container here takes: rlimits within the hard limits, the host's network. */
export const RUN_FLAGS: readonly string[];
/** The capabilities CRIU needs on top of podman's defaults: CHECKPOINT_RESTORE. */
export const CRIU_CAPABILITIES: readonly string[];
/** `--cap-add X` for each capability. */
export function capabilityFlags(capabilities?: readonly string[]): string[];
/** What is missing here for the container suites (podman, runc, CRIU 4.2, root); empty when nothing. */
export function missingForContainers(): string[];
/** Throws naming what is missing for the container suites. */
export function assertContainerHost(): void;
/** Runs `podman GLOBAL ARGS` to its end; rejects on a non-zero exit unless `check` is false; `env` adds to its environment. */
export function podman(
  args: readonly string[],
  options?: { check?: boolean; input?: string; env?: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }>;
/** Whether the image (or container) exists. */
export function exists(name: string, kind?: 'image' | 'container'): Promise<boolean>;
/** Removes containers by name, running or not. */
export function removeContainers(names: readonly string[]): Promise<void>;
/** podman's default seccomp profile (containers-common). */
export const DEFAULT_SECCOMP_PROFILE: string;
