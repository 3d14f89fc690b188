import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';

/** What of the host an image depends on, recorded at checkpoint and compared at restore. */
export interface HostRecord {
  hostname: string;
  /** `uname -r`: a different kernel usually restores fine; the restorer warns. */
  kernel: string;
  arch: string;
  /**
   * The CPU's feature flags (`flags` of /proc/cpuinfo). Node, V8 and OpenSSL choose their code
   * paths by CPU features at start-up: a restored process would die of SIGILL on a CPU that
   * lacks one of them, so the restorer refuses.
   */
  cpuFlags: string[];
}

/** The flags of the first CPU in /proc/cpuinfo (x86 `flags`, arm64 `Features`). */
export function cpuFlags(cpuinfo = readCpuinfo()): string[] {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo);
  return line ? (line[1] as string).trim().split(/\s+/).filter(Boolean).sort() : [];
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** This host, as the manifest records it. */
export function describeHost(): HostRecord {
  return { hostname: hostname(), kernel: release(), arch: process.arch, cpuFlags: cpuFlags() };
}
