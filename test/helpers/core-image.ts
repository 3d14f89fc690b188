// Rewrites the capability sets a CRIU image records for a task, as the owner of an image could:
// a core-PID.img is a header (two magic words) and one length-prefixed protobuf `core_entry`,
// whose thread_core (5) holds the task's creds (10): cap_inh (9), cap_prm (10), cap_eff (11) and
// cap_amb (19), each two repeated uint32 words (CRIU's images/core.proto and creds.proto).
import { readFileSync, writeFileSync } from 'node:fs';

interface Field {
  num: number;
  wireType: number;
  /** The field's bytes after its key. */
  raw: Buffer;
}

const CORE_THREAD_CORE = 5;
const THREAD_CORE_CREDS = 10;
const CREDS_CAPABILITY_SETS = [9, 10, 11, 19];

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = buf[at++];
    if (byte === undefined) throw new Error('truncated varint');
    value |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [value, at];
  }
}

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  do {
    const low = Number(value & 0x7fn);
    value >>= 7n;
    bytes.push(value ? low | 0x80 : low);
  } while (value);
  return Buffer.from(bytes);
}

function parse(buf: Buffer): Field[] {
  const fields: Field[] = [];
  for (let at = 0; at < buf.length; ) {
    const [key, start] = readVarint(buf, at);
    const wireType = Number(key & 7n);
    let end = start;
    if (wireType === 0) end = readVarint(buf, start)[1];
    else if (wireType === 1) end = start + 8;
    else if (wireType === 5) end = start + 4;
    else if (wireType === 2) {
      const [length, body] = readVarint(buf, start);
      end = body + Number(length);
    } else throw new Error(`unexpected wire type ${wireType}`);
    fields.push({ num: Number(key >> 3n), wireType, raw: buf.subarray(start, end) });
    at = end;
  }
  return fields;
}

const serialize = (fields: Field[]) =>
  Buffer.concat(fields.flatMap(({ num, wireType, raw }) => [varint((BigInt(num) << 3n) | BigInt(wireType)), raw]));
const bodyOf = (field: Field) => {
  const [length, at] = readVarint(field.raw, 0);
  return field.raw.subarray(at, at + Number(length));
};
const message = (num: number, body: Buffer): Field => ({ num, wireType: 2, raw: Buffer.concat([varint(BigInt(body.length)), body]) });
/** `buf` with the embedded message `num` replaced by `edit` of it. */
const editEmbedded = (buf: Buffer, num: number, edit: (body: Buffer) => Buffer) =>
  serialize(parse(buf).map((field) => (field.num === num ? message(num, edit(bodyOf(field))) : field)));

/** Sets the inheritable, permitted, effective and ambient sets of the task in `coreImage` to `mask` (bit n: capability n). */
export function setImageCapabilities(coreImage: string, mask: bigint): void {
  const image = readFileSync(coreImage);
  const size = image.readUInt32LE(8);
  const entry = image.subarray(12, 12 + size);
  const edited = editEmbedded(entry, CORE_THREAD_CORE, (threadCore) =>
    editEmbedded(threadCore, THREAD_CORE_CREDS, (creds) => {
      const kept = parse(creds).filter(({ num }) => !CREDS_CAPABILITY_SETS.includes(num));
      const words = [mask & 0xffffffffn, mask >> 32n];
      const sets = CREDS_CAPABILITY_SETS.flatMap((num) => words.map((word) => ({ num, wireType: 0, raw: varint(word) })));
      return serialize([...kept, ...sets]);
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(edited.length);
  writeFileSync(coreImage, Buffer.concat([image.subarray(0, 8), length, edited, image.subarray(12 + size)]));
}
