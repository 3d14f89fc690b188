import { resolve } from 'node:path';
import { type ImageInspection, inspectImage, type Manifest } from '@crac/core/image';
import { ExitCode, formatBytes, Report } from '../output.js';

/** Options of `crac inspect`. */
export interface InspectCommandOptions {
  json?: boolean;
}

/**
 * `crac inspect DIR`: prints an image's manifest and whether it verifies on this host (same
 * build, every file hashed and as sealed). Exits 0 when it verifies, 1 when not or when DIR is no
 * image. The facts come from the native restorer (`crac-restore --inspect`): the program that
 * verifies an image before restoring it is the one that says whether it would.
 */
export async function inspectCommand(dir: string, options: InspectCommandOptions): Promise<number> {
  const imagesDir = resolve(dir);
  const report = new Report(options.json ?? false);
  let inspection: ImageInspection;
  try {
    inspection = await inspectImage(imagesDir);
  } catch (error) {
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return ExitCode.FAILED;
  }
  const { manifest, verification } = inspection;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ imagesDir, manifest, verification })}\n`);
  } else {
    process.stdout.write(describe(imagesDir, manifest, verification));
  }
  return verification.ok ? ExitCode.OK : ExitCode.FAILED;
}

function row(name: string, value: string): string {
  return `${name.padEnd(10)} ${value}\n`;
}

/** The manifest, one fact a line. */
function describe(imagesDir: string, manifest: Manifest, verification: ImageInspection['verification']): string {
  let text = row('image', `${imagesDir} (manifest format ${manifest.format})`);
  text += row('created', `${manifest.createdAt}, pid ${manifest.pid}, ${manifest.ids.length} process and thread ids`);
  text += row('node', `${manifest.node.version} ${manifest.node.execPath}`);
  text += row('criu', `${manifest.criu.version} ${manifest.criu.path}`);
  if (manifest.host) {
    const { hostname, kernel, arch, cpuFlags } = manifest.host;
    text += row('host', `${hostname}, Linux ${kernel}, ${arch}, ${cpuFlags.length} CPU flags`);
  }
  text += row('stdio', manifest.stdio.map(({ fd, kind, target }) => `${fd}: ${kind}${target ? ` ${target}` : ''}`).join(', '));
  (manifest.binaries ?? []).forEach((binary, index) => {
    const digest = binary.sha256 ? ` sha256 ${binary.sha256.slice(0, 16)}` : '';
    text += row(index === 0 ? 'binaries' : '', `${binary.path} (${binary.role}, ${formatBytes(binary.size)}${digest})`);
  });
  if (manifest.seal) {
    const files = Object.values(manifest.seal.files);
    const total = files.reduce((sum, file) => sum + file.size, 0);
    text += row('seal', `${manifest.seal.algorithm}, ${files.length} files, ${formatBytes(total)}, sealed ${manifest.seal.sealedAt}`);
  } else {
    text += row('seal', 'none');
  }
  if (verification.ok) {
    const hashed = formatBytes(verification.seal.bytesHashed);
    text += row(
      'verified',
      `yes, on this host (${verification.seal.files} files hashed, ${hashed}, in ${verification.durationMs.toFixed(1)} ms)`,
    );
    for (const warning of verification.warnings) text += row('warning', warning);
  } else {
    text += row('verified', `NO [${verification.error.code}] ${verification.error.message}`);
  }
  return text;
}
