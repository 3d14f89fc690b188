// For the tests of the C readers: compiles one of native/test/*.c with the sources it tests,
// under ASan and UBSan when the compiler has them (test files only).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/core/native. */
export const NATIVE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');

/**
 * Compiles `native/test/<test>.c` with `sources` (paths under native/src/lib) into `work`.
 * @throws when no compiler builds it, with its words.
 */
export function compileCTest(work: string, test: string, sources: string[]): { binary: string; sanitized: boolean } {
  const binary = join(work, test);
  const args = [
    join(NATIVE_DIR, 'test', `${test}.c`),
    ...sources.map((source) => join(NATIVE_DIR, 'src', 'lib', source)),
    '-I',
    join(NATIVE_DIR, 'src', 'lib'),
    '-I',
    join(NATIVE_DIR, 'build', 'include'),
  ];
  const cc = process.env.CC || 'cc';
  const sanitized = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-fsanitize=address,undefined', '-o', binary, ...args], { encoding: 'utf8' });
  if (sanitized.status === 0) return { binary, sanitized: true };
  const plain = spawnSync(cc, ['-Wall', '-Wextra', '-g', '-o', binary, ...args], { encoding: 'utf8' });
  if (plain.status !== 0) throw new Error(`cannot compile native/test/${test}.c with ${cc}: ${plain.error?.message ?? plain.stderr}`);
  return { binary, sanitized: false };
}
