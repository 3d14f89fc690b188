import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { MAX_CONTROL_LINE, readLines } from '../control-socket.js';
import { hashBytes, Random } from './random.js';
import type { FuzzTarget } from './target.js';

/**
 * `readLines(socket, maxLength, onLine)`, the line splitter both sides of the control socket read
 * with, over a fake socket fed the input in several chunkings (whole, a byte at a time, cut at
 * random, cut inside each multibyte character and around each newline), with the real limit and
 * a small one. Whatever the chunking, it delivers exactly the lines of a reference split of the
 * whole input, none longer than the limit, and ends the connection exactly when a line (or the
 * unterminated rest) is longer than the limit, delivering nothing from that line on.
 *
 * The chunkings and the small limit derive from the input alone: a saved input replays the same.
 */
export function controlLinesTarget(): FuzzTarget {
  return {
    name: 'control_lines',
    // above the real limit, to cross it
    maxInputLength: MAX_CONTROL_LINE + 8192,
    execute(input) {
      const random = new Random(hashBytes(input));
      const limits = [MAX_CONTROL_LINE, 1 + random.below(48)];
      const allChunkings = chunkings(input, random);
      let word = '';
      for (const maxLength of limits) {
        const expected = referenceRead(input, maxLength);
        for (const chunks of allChunkings) {
          const read = readThroughFakeSocket(chunks, maxLength);
          for (const line of read.lines)
            assert.ok(Buffer.byteLength(line) <= maxLength, `a line of ${Buffer.byteLength(line)} bytes > ${maxLength} was delivered`);
          assert.deepEqual(read, expected, `${chunks.length} chunks, maxLength ${maxLength}`);
        }
        word += `${expected.ended ? 'ended' : 'open'}:${Math.min(expected.lines.length, 3)} `;
      }
      return word;
    },
  };
}

/** What a reader of the lines saw: the lines delivered, and whether it ended the connection. */
export interface LinesRead {
  lines: string[];
  ended: boolean;
}

/**
 * The lines of the whole input, split at once: every complete line up to the first one longer
 * than `maxLength` bytes (of UTF-8, as decoded), and whether the connection is to end (such a line, or an unterminated rest
 * longer than `maxLength`). Decoded as a stream decoder has once every byte arrived: an
 * incomplete character at the very end is held back, not yet replaced.
 */
export function referenceRead(input: Buffer, maxLength: number): LinesRead {
  const parts = new StringDecoder('utf8').write(input).split('\n');
  const rest = parts.pop() ?? '';
  const lines: string[] = [];
  for (const line of parts) {
    if (Buffer.byteLength(line) > maxLength) return { lines, ended: true };
    lines.push(line);
  }
  return { lines, ended: Buffer.byteLength(rest) > maxLength };
}

/** A socket as far as `readLines` uses one: it takes an encoding, emits `data`, can be destroyed (and then emits nothing). */
class FakeSocket extends EventEmitter {
  destroyed = false;
  #decoder: StringDecoder | undefined;

  setEncoding(encoding: BufferEncoding): this {
    this.#decoder = new StringDecoder(encoding);
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }

  /** A chunk from the peer: emitted as a stream does, decoded when an encoding was set, never empty. */
  receive(chunk: Buffer): void {
    if (this.destroyed) return;
    const data = this.#decoder ? this.#decoder.write(chunk) : chunk;
    if (data.length > 0) this.emit('data', data);
  }
}

function readThroughFakeSocket(chunks: readonly Buffer[], maxLength: number): LinesRead {
  const socket = new FakeSocket();
  const lines: string[] = [];
  readLines(socket as unknown as Socket, maxLength, (line) => lines.push(line));
  for (const chunk of chunks) socket.receive(chunk);
  return { lines, ended: socket.destroyed };
}

/** The input whole, a byte at a time (small inputs), cut at random, and cut inside each multibyte character and around each newline. */
function chunkings(input: Buffer, random: Random): Buffer[][] {
  const all = [[input]];
  if (input.length <= 1024) all.push(Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1)));
  all.push(
    cutAt(
      input,
      Array.from({ length: 1 + random.below(8) }, () => random.below(input.length + 1)).sort((a, b) => a - b),
    ),
  );
  const awkward: number[] = [];
  for (let i = 0; i < input.length && awkward.length < 4096; i++) {
    const byte = input[i] as number;
    if (byte === 0x0a) awkward.push(i, i + 1);
    // after a lead byte of a multibyte character, and after each of its continuation bytes
    else if (byte >= 0x80) awkward.push(i + 1);
  }
  all.push(cutAt(input, awkward));
  return all;
}

/** `input` cut at `cuts` (ascending; repeated and out-of-range cuts are skipped). */
function cutAt(input: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut <= from || cut >= input.length) continue;
    chunks.push(input.subarray(from, cut));
    from = cut;
  }
  chunks.push(input.subarray(from));
  return chunks;
}
