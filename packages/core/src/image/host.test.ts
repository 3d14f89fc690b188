import { describe, expect, it } from 'vitest';
import { compareHost, cpuFlags, type HostRecord } from './host.js';

const host = (flags: string[], kernel = '6.18.0'): HostRecord => ({ hostname: 'h', kernel, arch: 'x64', cpuFlags: flags });

describe('host', () => {
  it('reads the CPU flags of /proc/cpuinfo (x86 and arm64)', () => {
    expect(cpuFlags('processor\t: 0\nflags\t\t: sse2 avx2 fpu\nbugs\t: x\n')).toEqual(['avx2', 'fpu', 'sse2']);
    expect(cpuFlags('Features\t: fp asimd aes\n')).toEqual(['aes', 'asimd', 'fp']);
    expect(cpuFlags('')).toEqual([]);
  });

  it('refuses CPU features this host lacks, warns about another kernel, accepts more features', () => {
    expect(compareHost(host(['avx2', 'avx512f']), host(['avx2']))).toEqual({
      refusals: [expect.stringContaining('lacks features the checkpointed CPU had (avx512f)')],
      warnings: [],
    });
    expect(compareHost(host(['avx2'], '6.1.0'), host(['avx2', 'sha_ni']))).toEqual({
      refusals: [],
      warnings: ['the image was made on kernel 6.1.0, this is 6.18.0'],
    });
    expect(compareHost({ ...host([]), arch: 'arm64' }, host([])).refusals).toEqual(['the image is for arm64, this host is x64']);
  });
});
