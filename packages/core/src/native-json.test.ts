// The native JSON reader (lib/json, which reads the manifest, the handoff's records and the digest
// cache) refuses what JSON.parse refuses, and accepts what it accepts, but for its bounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCTest } from './native-c-test.js';

const work = mkdtempSync(join(tmpdir(), 'crac-json-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** native/test/json_check.c with the reader (the sanitizers' findings are checked below). */
function build(): string {
  return compileCTest(work, 'json_check', ['json/json.c']).binary;
}

/** What the native reader says of each text. */
function nativeAnswers(texts: string[]): string[] {
  const files = texts.map((text, index) => {
    const file = join(work, `input-${index}.json`);
    writeFileSync(file, text);
    return file;
  });
  const run = spawnSync(build(), files, { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).not.toMatch(/runtime error|AddressSanitizer|LeakSanitizer/);
  return run.stdout.trim().split('\n');
}

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('the native JSON reader', () => {
  it('accepts and refuses what JSON.parse does', () => {
    const texts = [
      // numbers
      '0',
      '-0',
      '1',
      '-1',
      '10',
      '0.5',
      '-0.5',
      '1e5',
      '1E5',
      '1e+5',
      '1e-5',
      '1.5e3',
      '123456789012345678901234567890',
      '1e400',
      '01',
      '-01',
      '00',
      '1.',
      '1.e5',
      '.5',
      '-',
      '+1',
      '1e',
      '1e+',
      '1e-',
      '0x10',
      '1.5.5',
      'Infinity',
      'NaN',
      '--1',
      '1-',
      '[01]',
      '{"a":1.}',
      '[1.e5]',
      // literals, strings, containers
      'true',
      'false',
      'null',
      ' true ',
      'tru',
      'nul',
      'True',
      '"a"',
      '""',
      '"\\u0041"',
      '"\\ud83d\\ude00"',
      '"\\ud800"',
      '"\\x41"',
      '"a\tb"',
      '"\u0001"',
      '"\\"',
      '"abc',
      '[]',
      '{}',
      '[1,2]',
      '[1,]',
      '[,1]',
      '[1 2]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      '{"a":1,"a":2}',
      '[1]]',
      '',
      ' ',
      '[',
      '{"a":[{"b":null}]}',
      '\u00a0',
      '1 2',
    ];
    const answers = nativeAnswers(texts);
    texts.forEach((text, index) => {
      expect(answers[index]?.startsWith('accepted'), `${JSON.stringify(text)}: ${answers[index]}`).toBe(parses(text));
    });
  });

  it('refuses, by its bounds, nesting deeper than 32 and a number longer than 399 characters', () => {
    const [deep, shallow, long] = nativeAnswers(['['.repeat(33) + ']'.repeat(33), '['.repeat(32) + ']'.repeat(32), '1'.repeat(400)]);
    expect(deep).toMatch(/^refused: .*deep/);
    expect(shallow).toBe('accepted');
    expect(long).toMatch(/^refused: number too long/);
  });
});
