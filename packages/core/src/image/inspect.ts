import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { requireNativeProgram } from '../protocol/programs.js';
import type { Manifest } from './manifest.js';

/** What verification found that does not refuse the image. */
export interface Verification {
  /** Differences worth saying (another kernel, another CRIU version). */
  warnings: string[];
  /** How long the verification took, in milliseconds. */
  durationMs: number;
  /** How many files were checked and hashed (every one). */
  seal: { files: number; hashed: number; bytesHashed: number };
}

/** An error as the native restorer reports it: a `CRAC_E...` code and what is wrong, with the fix. */
export interface ReportedError {
  code: string;
  message: string;
}

/** What {@link inspectImage} found: the manifest as written, and whether the image verifies on this host. */
export interface ImageInspection {
  imagesDir: string;
  manifest: Manifest;
  verification: ({ ok: true } & Verification) | { ok: false; error: ReportedError };
}

/**
 * Reads an image's manifest and verifies the image on this host, as `crac restore` does before
 * it starts anything, and by the same program (the native restorer, `crac-restore --inspect`):
 * the directory, its parents and every file owned by the user or root and not writable by
 * others, the same host and build (node binary, addons, libraries at the same paths; CPU
 * features), and every file hashed and as sealed after the dump.
 *
 * @example
 * ```ts
 * import { inspectImage } from '@crac/core/image';
 * const { manifest, verification } = await inspectImage('/var/lib/app/image');
 * if (!verification.ok) console.error(verification.error.code, verification.error.message);
 * ```
 * @throws {@link CracError} `CRAC_EIMAGE` when `dir` holds no manifest this version can read;
 * `CRAC_EENGINE` when the native restorer is not installed; `CRAC_EINVAL` when `dir` is not a path.
 */
export async function inspectImage(dir: string): Promise<ImageInspection> {
  if (typeof dir !== 'string' || dir === '') {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `inspectImage() takes the path of an image directory, got ${JSON.stringify(dir)}`);
  }
  const imagesDir = resolve(dir);
  const program = requireNativeProgram('restore');
  const child = spawn(program, ['--inspect', '--', imagesDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', resolveExit);
  });
  let report: ImageInspection | { ok: false; error: ReportedError };
  try {
    report = JSON.parse(output) as typeof report;
  } catch {
    throw new CracError(
      ErrorCode.IO,
      `${program} --inspect ended with exit code ${code} and no report${stderr ? `: ${stderr.trim()}` : ''}`,
    );
  }
  if (!('manifest' in report)) throw new CracError(report.error.code, report.error.message);
  return report;
}

/**
 * {@link inspectImage}, for a yes or no: resolves with what the verification found, or rejects
 * with the error `crac restore` would refuse the image with (`CRAC_EIMAGE`,
 * `CRAC_EIMAGE_CORRUPT`, `CRAC_EIMAGE_FOREIGN`).
 *
 * @example
 * ```ts
 * import { verifyImage } from '@crac/core/image';
 * await verifyImage(process.env.CRAC_IMAGE ?? '/var/lib/app/image'); // before shipping it
 * ```
 */
export async function verifyImage(dir: string): Promise<Verification> {
  const { verification } = await inspectImage(dir);
  if (!verification.ok) throw new CracError(verification.error.code, verification.error.message);
  const { ok: _ok, ...found } = verification;
  return found;
}
