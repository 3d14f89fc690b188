import type { Random } from './random.js';

/**
 * The mutations of the control-socket fuzz campaign: byte-level ones (flips, inserts, deletes,
 * splices of two inputs), ones that know UTF-8 (multibyte characters, invalid sequences) and
 * ones that know JSON (a value replaced by a huge number, a lone surrogate, a 66 000-character
 * string, 10 000 levels of nesting; `__proto__` and `constructor` members; keys spelled with
 * escapes; duplicated keys; many lines in one input).
 *
 * Inputs travel as latin1 strings, one character a byte: text operations then keep every byte,
 * invalid UTF-8 included, and `Buffer.from(text, 'latin1')` gives the bytes back.
 */

/** One mutation: `input` changed, `corpus` the other inputs to splice from. */
type Mutation = (input: string, random: Random, corpus: readonly string[]) => string;

/** The UTF-8 bytes of `text` as a latin1 string. */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Bytes that matter to JSON, to UTF-8 and to the line splitter. */
const INTERESTING_BYTES = [0x00, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x3a, 0x45, 0x5b, 0x5c, 0x5d, 0x65, 0x7b, 0x7d]
  .concat([0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xff])
  .map((byte) => String.fromCharCode(byte));

/** Multibyte characters, and sequences that are not UTF-8 (lone continuation, overlong, a surrogate, truncated). */
const UTF8_PIECES = ['é', '€', '😀', '\u2028', '\ufeff', '\u0000']
  .map(utf8)
  .concat(['\x80', '\xc0\x80', '\xed\xa0\x80', '\xf0\x9f', '\xe2\x82', '\xff', '\xf4\x90\x80\x80']);

/** Words of the control protocol and of JSON. */
const TOKENS = [
  '"protocol"',
  '"command"',
  '"id"',
  '"imagesDir"',
  '"leaveRunning"',
  '"holdMs"',
  '"event"',
  '"outcome"',
  '"error"',
  '"code"',
  '"message"',
  '"checkpoint"',
  '"prepare"',
  '"status"',
  '"accepted"',
  '"dumping"',
  '"settled"',
  '"unknown"',
  '"refused"',
  '"__proto__"',
  '"constructor"',
  '"prototype"',
  'true',
  'false',
  'null',
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '"',
  '\\',
  '\\u0000',
  '\\ud800',
  '\\udfff',
  '\\u00e9',
  '1e308',
  '-0',
  '1e999',
  '9007199254740993',
  '0.1',
  '\n',
  '\r\n',
  '\r',
  '\t',
  ' ',
].map(utf8);

/** JSON values a value is replaced with. */
const VALUES = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1e308',
  '1e309',
  '-1e309',
  '5e-324',
  '1e-400',
  '9007199254740993',
  '2147483648',
  '600000',
  '""',
  '"status"',
  '"checkpoint"',
  '"prepare"',
  '"accepted"',
  '"dumping"',
  '"settled"',
  '"unknown"',
  '"refused"',
  '"CRAC_EBUSY"',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u0000"',
  '"a\\nb"',
  '"\\u0073tatus"',
  '"/images/app"',
  '"../../etc"',
  '"__proto__"',
  '{}',
  '[]',
  '{"message":"boom"}',
  '{"code":"CRAC_ETRIGGER","message":"x"}',
  '{"code":7,"message":{}}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '[1,"a",null]',
].map(utf8);

/** Members inserted into an object: the fields of the protocol with every type, and the keys of prototype pollution. */
const MEMBERS = [
  '"__proto__":{"polluted":true}',
  '"__proto__":null',
  '"constructor":{"prototype":{"polluted":true}}',
  '"protocol":1',
  '"protocol":"1"',
  '"command":"status"',
  '"command":"checkpoint"',
  '"command":"prepare"',
  '"id":"x"',
  '"id":""',
  '"id":7',
  '"imagesDir":7',
  '"imagesDir":"/images/app"',
  '"leaveRunning":"yes"',
  '"leaveRunning":false',
  '"holdMs":-1',
  '"holdMs":1e308',
  '"holdMs":0',
  '"event":"settled"',
  '"event":"dumping"',
  '"event":7',
  '"error":{"message":"boom","code":"CRAC_EIO"}',
  '"error":"boom"',
  '"error":null',
  '"outcome":"restored"',
  '"outcome":{}',
  '"toString":1',
  '"valueOf":{}',
  '"hasOwnProperty":1',
].map(utf8);

/** The JSON tokens a value mutation replaces: strings, numbers, literals. */
const JSON_TOKEN = /"(?:[^"\\\n]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/g;
const JSON_STRING = /"(?:[^"\\\n]|\\.)*"/g;

/** A random token of `input` that `pattern` matches, or undefined. */
function pickMatch(input: string, pattern: RegExp, random: Random): { index: number; text: string } | undefined {
  const matches = [...input.matchAll(pattern)];
  if (matches.length === 0) return undefined;
  const match = random.pick(matches);
  return { index: match.index, text: match[0] };
}

const position = (input: string, random: Random): number => random.below(input.length + 1);

const insertAt = (input: string, at: number, piece: string): string => input.slice(0, at) + piece + input.slice(at);

/** A value that costs something to read: a very long string, a deep nesting, a number of 400 digits, many escapes. */
function heavyValue(random: Random): string {
  switch (random.below(5)) {
    case 0:
      return `"${'a'.repeat(66_000)}"`;
    case 1: {
      const depth = random.chance(0.1) ? 100_000 : 1 + random.below(10_000);
      return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    }
    case 2:
      return '9'.repeat(400);
    case 3:
      return `"${'\\u00e9'.repeat(1 + random.below(5_000))}"`;
    default:
      return `"${'\\ud83d'.repeat(1 + random.below(100))}"`;
  }
}

const MUTATIONS: readonly { weight: number; mutate: Mutation }[] = [
  // bytes
  {
    weight: 6,
    mutate: (input, random) => {
      if (input.length === 0) return input;
      const at = random.below(input.length);
      return input.slice(0, at) + String.fromCharCode(input.charCodeAt(at) ^ (1 << random.below(8))) + input.slice(at + 1);
    },
  },
  {
    weight: 4,
    mutate: (input, random) => {
      if (input.length === 0) return input;
      const at = random.below(input.length);
      const byte = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : String.fromCharCode(random.below(256));
      return input.slice(0, at) + byte + input.slice(at + 1);
    },
  },
  {
    weight: 4,
    mutate: (input, random) => {
      const bytes = Array.from({ length: 1 + random.below(8) }, () => String.fromCharCode(random.below(256))).join('');
      return insertAt(input, position(input, random), bytes);
    },
  },
  {
    weight: 5,
    mutate: (input, random) => {
      if (input.length === 0) return input;
      const from = random.below(input.length);
      return input.slice(0, from) + input.slice(from + 1 + random.below(Math.min(16, input.length - from)));
    },
  },
  {
    weight: 3,
    mutate: (input, random) => {
      if (input.length === 0) return input;
      const from = random.below(input.length);
      const piece = input.slice(from, from + 1 + random.below(32));
      return insertAt(input, position(input, random), piece);
    },
  },
  { weight: 2, mutate: (input, random) => input.slice(0, random.below(input.length + 1)) },
  // two inputs: the head of one, the tail of another
  {
    weight: 4,
    mutate: (input, random, corpus) => {
      const other = random.pick(corpus);
      return input.slice(0, position(input, random)) + other.slice(random.below(other.length + 1));
    },
  },
  // words, characters, line ends
  { weight: 8, mutate: (input, random) => insertAt(input, position(input, random), random.pick(TOKENS)) },
  { weight: 4, mutate: (input, random) => insertAt(input, position(input, random), random.pick(UTF8_PIECES)) },
  { weight: 2, mutate: (input, random) => insertAt(input, position(input, random), random.pick(['\n', '\r\n', '\r', '\0', '\n\n'])) },
  // many lines in one input: the input again, or another one, after a newline
  {
    weight: 2,
    mutate: (input, random, corpus) => {
      const count = 1 + random.below(random.chance(0.1) ? 200 : 4);
      const lines = Array.from({ length: count }, () => (random.chance(0.5) ? input : random.pick(corpus)));
      return [input, ...lines].join(random.chance(0.9) ? '\n' : '\r\n');
    },
  },
  // JSON: a value replaced
  {
    weight: 10,
    mutate: (input, random) => {
      const token = pickMatch(input, JSON_TOKEN, random);
      if (!token) return input;
      const value = random.chance(0.03) ? heavyValue(random) : random.pick(VALUES);
      return input.slice(0, token.index) + value + input.slice(token.index + token.text.length);
    },
  },
  // JSON: a member inserted after an opening brace (a duplicated key: the last one wins)
  {
    weight: 6,
    mutate: (input, random) => {
      const braces = [...input.matchAll(/\{/g)];
      if (braces.length === 0) return `{${random.pick(MEMBERS)}}${input}`;
      const at = (random.pick(braces).index ?? 0) + 1;
      const after = input[at] === '}' ? '' : ',';
      return insertAt(input, at, `${random.pick(MEMBERS)}${after}`);
    },
  },
  // JSON: one character of a string spelled as an escape ("\u0073tatus" is "status")
  {
    weight: 4,
    mutate: (input, random) => {
      const string = pickMatch(input, JSON_STRING, random);
      if (!string || string.text.length < 3) return input;
      const at = string.index + 1 + random.below(string.text.length - 2);
      if (input[at] === '\\') return input;
      return `${input.slice(0, at)}\\u${input.charCodeAt(at).toString(16).padStart(4, '0')}${input.slice(at + 1)}`;
    },
  },
  // JSON: the whole input nested, or given whitespace
  {
    weight: 1,
    mutate: (input, random) => {
      const depth = 1 + random.below(random.chance(0.1) ? 20_000 : 64);
      return random.chance(0.5) ? `${'['.repeat(depth)}${input}${']'.repeat(depth)}` : `${' \t\r'.repeat(depth)}${input}`;
    },
  },
];

const TOTAL_WEIGHT = MUTATIONS.reduce((sum, { weight }) => sum + weight, 0);

function pickMutation(random: Random): Mutation {
  let left = random.below(TOTAL_WEIGHT);
  for (const { weight, mutate } of MUTATIONS) {
    left -= weight;
    if (left < 0) return mutate;
  }
  return (MUTATIONS[0] as { mutate: Mutation }).mutate;
}

/**
 * A mutant of `input` (a latin1 string): 1 to 8 mutations stacked, the fewer the likelier,
 * cut to `maxLength` bytes. `corpus` is not empty.
 */
export function mutate(input: string, random: Random, corpus: readonly string[], maxLength: number): string {
  let mutant = input;
  let count = 1;
  while (count < 8 && random.chance(0.5)) count++;
  for (let i = 0; i < count; i++) mutant = pickMutation(random)(mutant, random, corpus);
  return mutant.length > maxLength ? mutant.slice(0, maxLength) : mutant;
}
