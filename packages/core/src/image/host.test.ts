import { describe, expect, it } from 'vitest';
import { cpuFlags } from './host.js';

describe('host', () => {
  it('reads the CPU flags of /proc/cpuinfo (x86 and arm64)', () => {
    expect(cpuFlags('processor\t: 0\nflags\t\t: sse2 avx2 fpu\nbugs\t: x\n')).toEqual(['avx2', 'fpu', 'sse2']);
    expect(cpuFlags('Features\t: fp asimd aes\n')).toEqual(['aes', 'asimd', 'fp']);
    expect(cpuFlags('')).toEqual([]);
  });
});
