import { performance } from 'node:perf_hooks';
import { compareBinaries } from './binaries.js';
import { ImageForeignError } from './errors.js';
import { compareHost, describeHost } from './host.js';
import type { Manifest } from './manifest.js';
import { type OpenImage, openImage } from './open.js';
import { type SealCheck, type VerifySealOptions, verifySeal } from './seal.js';

/** What verification found that does not refuse the image. */
export interface Verification {
  /** Differences worth saying (another kernel, another CRIU version). */
  warnings: string[];
  /** How long the verification took, in milliseconds. */
  durationMs: number;
  /** How many files were checked, and hashed. */
  seal: SealCheck;
}

/** Options of {@link verifyImage}. */
export interface VerifyOptions extends VerifySealOptions {
  /** The version of the CRIU that will restore the image: a different one is warned about. */
  criuVersion?: string;
}

/**
 * Verifies an image before anything restores it: a directory (and parents) only its owner and
 * root can write, owned by the restoring user or root (see {@link openImage}), made on a
 * compatible host with the same node binary, addons and libraries at the same paths
 * (`CRAC_EIMAGE_FOREIGN` otherwise), and every file as sealed after the dump
 * (`CRAC_EIMAGE_CORRUPT` otherwise), each read through the directory's descriptor. The cheap
 * identity checks come first, then the files are hashed.
 * @throws {@link CracError} `CRAC_EIMAGE` when the directory, a parent or the manifest is unsafe.
 * @throws {@link ImageForeignError} when the image does not belong on this host.
 * @throws {@link ImageCorruptError} when the image is unsealed, incomplete, damaged, altered or unsafe.
 */
export async function verifyImage(dir: string, manifest: Manifest, options: VerifyOptions = {}): Promise<Verification> {
  const started = performance.now();
  const image = openImage(dir);
  try {
    return await verifyAt(image, manifest, options, started);
  } finally {
    image.close();
  }
}

/**
 * {@link verifyImage} of an image already opened by {@link openImage}, against its own manifest:
 * what a restorer runs before it hands the same descriptor to CRIU. The image stays open.
 */
export async function verifyOpenImage(image: OpenImage, options: VerifyOptions = {}): Promise<Verification> {
  return verifyAt(image, image.manifest, options, performance.now());
}

async function verifyAt(image: OpenImage, manifest: Manifest, options: VerifyOptions, started: number): Promise<Verification> {
  const { dir } = image;
  const warnings: string[] = [];
  const refusals: string[] = [];
  if (manifest.host) {
    const host = compareHost(manifest.host, describeHost());
    refusals.push(...host.refusals);
    warnings.push(...host.warnings);
  }
  const differences = compareBinaries(manifest.binaries ?? []);
  if (differences.length > 0 || refusals.length > 0) {
    const lines = [
      ...differences.map((d) =>
        d.what === 'missing'
          ? `${d.path} (${d.role}) is missing on this host; the image had ${d.recorded}`
          : `${d.path} (${d.role}) is not the file the image was made with: it had ${d.recorded}; this host has ${d.found}`,
      ),
      ...refusals,
    ];
    const node = manifest.node;
    const fix =
      differences.length > 0
        ? `restore where the same build of these files is at the same paths (the image was made by node ${node.version} at ${node.execPath}), or checkpoint again with this host's files`
        : 'restore on a host with the same CPU, or checkpoint again on this one';
    throw new ImageForeignError(`${dir} was made on another host or build:\n  ${lines.join('\n  ')}\n  fix: ${fix}`, differences, refusals);
  }
  if (options.criuVersion && manifest.criu.version !== options.criuVersion) {
    warnings.push(`the image was made by CRIU ${manifest.criu.version}, this is CRIU ${options.criuVersion}`);
  }
  const seal = await verifySeal(dir, manifest, options, image.fd);
  return { warnings, durationMs: performance.now() - started, seal };
}
