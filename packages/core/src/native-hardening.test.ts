// The native programs are built with the hardening a distribution would use (native/build.mjs):
// checked by reading the built files with readelf (binutils), as a distribution's lint does.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const build = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build');
const PROGRAMS = ['crac-restore', 'crac-init', 'crac-seal', 'crac-guard', 'crac.node', 'crac-nouring.so'];

function readelf(args: string[], file: string): string {
  const run = spawnSync('readelf', ['-W', ...args, file], { encoding: 'utf8' });
  if (run.error)
    throw new Error(`readelf is needed to check the native build's hardening (Debian: apt-get install binutils): ${run.error.message}`);
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe('the native programs', () => {
  it.each(PROGRAMS)('%s: position-independent, relocations read-only at once (relro, now), no executable stack', (program) => {
    const file = join(build, program);
    expect(readelf(['-h'], file)).toMatch(/Type:\s+DYN/);
    const segments = readelf(['-l'], file);
    expect(segments).toContain('GNU_RELRO');
    expect(segments).toMatch(/GNU_STACK\s+(\S+\s+){5}RW /);
    expect(readelf(['-d'], file)).toMatch(/\(BIND_NOW\)|\(FLAGS_1\)\s+Flags: NOW/);
  });

  it.each(PROGRAMS.filter((program) => program !== 'crac-nouring.so'))('%s: stack canaries and fortified calls', (program) => {
    const symbols = readelf(['--dyn-syms'], join(build, program));
    expect(symbols).toContain('__stack_chk_fail');
    expect(symbols).toMatch(/__\w+_chk@/);
  });
});
