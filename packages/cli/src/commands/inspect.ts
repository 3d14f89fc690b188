import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Manifest, Verification } from '@crac/core/image';
import { type CracError, requireNativeProgram } from '@crac/core/protocol';
import { ExitCode, formatBytes, Report } from '../output.js';

/** Options of `crac inspect`. */
export interface InspectCommandOptions {
  json?: boolean;
}

type VerificationResult = ({ ok: true } & Verification) | { ok: false; error: { code: string; message: string } };

/** What `crac-restore --inspect DIR` prints: the manifest as written and its verification, or why there is no manifest. */
type Inspection =
  | { imagesDir: string; manifest: Manifest; verification: VerificationResult }
  | { ok: false; error: { code: string; message: string } };

/**
 * `crac inspect DIR`: prints an image's manifest and whether it verifies on this host (same
 * build, every file hashed and as sealed). Exits 0 when it verifies, 1 when not or when DIR is no
 * image. The facts come from the native restorer (`crac-restore --inspect`): the program that
 * verifies an image before restoring it is the one that says whether it would.
 */
export async function inspectCommand(dir: string, options: InspectCommandOptions): Promise<number> {
  const imagesDir = resolve(dir);
  const report = new Report(options.json ?? false);
  let inspection: Inspection;
  try {
    inspection = await inspectNatively(imagesDir);
  } catch (error) {
    report.error(error as Error);
    report.finish({ ok: false }, error as Error);
    return ExitCode.FAILED;
  }
  if (!('manifest' in inspection)) {
    const failure = Object.assign(new Error(inspection.error.message), { code: inspection.error.code });
    report.error(failure);
    report.finish({ ok: false }, failure);
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

/** Runs `crac-restore --inspect DIR` and reads its one JSON document. */
async function inspectNatively(imagesDir: string): Promise<Inspection> {
  const program = requireNativeProgram('restore');
  const child = spawn(program, ['--inspect', '--', imagesDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', resolveExit);
  });
  try {
    return JSON.parse(output) as Inspection;
  } catch {
    throw Object.assign(new Error(`${program} --inspect ended with exit code ${code} and no report`), { code: 'CRAC_EIO' }) as CracError;
  }
}

function row(name: string, value: string): string {
  return `${name.padEnd(10)} ${value}\n`;
}

/** The manifest, one fact a line. */
function describe(imagesDir: string, manifest: Manifest, verification: VerificationResult): string {
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
