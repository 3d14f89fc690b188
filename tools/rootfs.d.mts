// Types of rootfs.mjs.

/** Where things are inside the image. */
export const IMAGE_PATHS: Readonly<{ app: string; crac: string; node: string; warmup: string; criu: string }>;
/**
 * Builds (or finds, by the hash of its content) the image of an example on a Node binary: node,
 * CRIU 4.2, a shell and their libraries, the packed @crac packages and the app installed with npm,
 * `podman import`ed. Resolves with the image's name.
 */
export function buildAppImage(options?: { example?: string; node?: string; progress?: (message: string) => void }): Promise<string>;
/** SHA-256 over files and directories (node_modules left out; a package directory by what it packs). */
export function contentHash(entries: readonly string[]): string;
