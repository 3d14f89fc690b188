import { CracError, ErrorCode } from '../errors.js';

const PAGE = 4096;
/** pagemap_entry.flags (CRIU's images/pagemap.proto, criu/include/pagemap.h). */
const PE_LAZY = 2;
const PE_PRESENT = 4;
/** The fields of a pagemap_entry: vaddr, compat_nr_pages, in_parent, flags, nr_pages. */
const KNOWN_FIELDS = new Set([1, 2, 3, 4, 5]);

/**
 * The pages a lazy-pages server served on a fault, by process (the image's pid): the `#PF at 0x...`
 * lines of its log at -v4, such as `(00.048309) uffd: 11627-8: #PF at 0x7f911729d000`.
 */
export function parseFaultLog(text: string): Map<number, Set<number>> {
  const faults = new Map<number, Set<number>>();
  for (const match of text.matchAll(/uffd: (\d+)-\d+: #PF at 0x([0-9a-f]+)/g)) {
    const pid = Number(match[1]);
    const address = Number.parseInt(match[2] as string, 16);
    if (!Number.isSafeInteger(address)) continue;
    const pages = faults.get(pid) ?? new Set<number>();
    faults.set(pid, pages);
    pages.add(address - (address % PAGE));
  }
  return faults;
}

/**
 * A pagemap (`pagemap-<pid>.img`) whose lazy pages in `pages` are made eager: CRIU's restore reads
 * them with the process, and leaves the others to its lazy-pages server. Entries are split, never
 * merged or reordered, so the image's pages file is read in the same order.
 * @param pages - page-aligned addresses, as {@link parseFaultLog} gives them; others are ignored.
 * @example
 * ```ts
 * const { image, eagerPages } = markWorkingSet(readFileSync('pagemap-42.img'), parseFaultLog(log).get(42) ?? new Set());
 * ```
 * @throws {@link CracError} `CRAC_EIMAGE` when the pagemap is not one CRIU 4 writes.
 */
export function markWorkingSet(pagemap: Buffer, pages: ReadonlySet<number>): { image: Buffer; eagerPages: number; lazyPages: number } {
  const records = readRecords(pagemap);
  const out: Buffer[] = [pagemap.subarray(0, 8)];
  let eagerPages = 0;
  let lazyPages = 0;
  records.forEach((record, index) => {
    if (index === 0) {
      out.push(frame(record)); // pagemap_head
      return;
    }
    const entry = decodeEntry(record);
    const flags = entry.get(4) ?? PE_PRESENT;
    if (!(flags & PE_LAZY)) {
      out.push(frame(record));
      return;
    }
    const vaddr = entry.get(1) as number;
    const count = entry.get(5) ?? (entry.get(2) as number);
    if (!touches(pages, vaddr, count)) {
      lazyPages += count;
      out.push(frame(record)); // as it was, byte for byte
      return;
    }
    let runStart = 0;
    for (let page = 1; page <= count; page++) {
      const eager = pages.has(vaddr + (page - 1) * PAGE);
      const ends = page === count || pages.has(vaddr + page * PAGE) !== eager;
      if (!ends) continue;
      const length = page - runStart;
      if (eager) eagerPages += length;
      else lazyPages += length;
      out.push(frame(encodeEntry(entry, vaddr + runStart * PAGE, length, eager ? flags & ~PE_LAZY : flags)));
      runStart = page;
    }
  });
  return { image: Buffer.concat(out), eagerPages, lazyPages };
}

function touches(pages: ReadonlySet<number>, vaddr: number, count: number): boolean {
  if (pages.size < count) {
    for (const page of pages) if (page >= vaddr && page < vaddr + count * PAGE) return true;
    return false;
  }
  for (let page = 0; page < count; page++) if (pages.has(vaddr + page * PAGE)) return true;
  return false;
}

function damaged(why: string): CracError {
  return new CracError(ErrorCode.IMAGE, `the pagemap is damaged: ${why}`);
}

/** The protobuf messages after the 8-byte magic, each behind its u32 length. */
function readRecords(image: Buffer): Buffer[] {
  if (image.length < 8) throw damaged('shorter than its header');
  const records: Buffer[] = [];
  for (let at = 8; at < image.length; ) {
    if (at + 4 > image.length) throw damaged(`a record's length is cut at byte ${at}`);
    const length = image.readUInt32LE(at);
    if (at + 4 + length > image.length) throw damaged(`a record of ${length} bytes is cut at byte ${at}`);
    records.push(image.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (records.length === 0) throw damaged('no pagemap_head');
  return records;
}

function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(message.length);
  return Buffer.concat([length, message]);
}

/** A pagemap_entry's fields by number; every one a varint. */
function decodeEntry(message: Buffer): Map<number, number> {
  const fields = new Map<number, number>();
  for (let at = 0; at < message.length; ) {
    const [key, afterKey] = readVarint(message, at);
    const field = Math.floor(key / 8);
    // checked before the value is read: a field of another wire type is not a varint to read
    if (key % 8 !== 0) throw damaged(`field ${field} is not a varint`);
    if (!KNOWN_FIELDS.has(field)) throw damaged(`unknown field ${field} in an entry`);
    const [value, afterValue] = readVarint(message, afterKey);
    fields.set(field, value);
    at = afterValue;
  }
  const vaddr = fields.get(1);
  const count = fields.get(5) ?? fields.get(2);
  if (vaddr === undefined || fields.get(2) === undefined) throw damaged('an entry without its address or page count');
  if (vaddr % PAGE !== 0) throw damaged(`an entry at 0x${vaddr.toString(16)}, not a page's start`);
  if (!count) throw damaged(`an entry of no pages at 0x${vaddr.toString(16)}`);
  return fields;
}

/** The entry with another address, page count and flags; compat_nr_pages kept at 0 when it was (CRIU 4 writes nr_pages). */
function encodeEntry(entry: Map<number, number>, vaddr: number, count: number, flags: number): Buffer {
  const fields = new Map(entry);
  fields.set(1, vaddr);
  fields.set(4, flags);
  if (entry.has(5)) fields.set(5, count);
  if (!entry.has(5) || entry.get(2) !== 0) fields.set(2, count);
  const bytes: number[] = [];
  for (const field of [...fields.keys()].sort((a, b) => a - b)) {
    writeVarint(bytes, field * 8);
    writeVarint(bytes, fields.get(field) as number);
  }
  return Buffer.from(bytes);
}

function readVarint(buffer: Buffer, start: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let at = start; at < buffer.length && at < start + 10; at++) {
    const byte = buffer[at] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw damaged('a number beyond 2^53');
      return [value, at + 1];
    }
  }
  throw damaged(`a varint cut or longer than 10 bytes at byte ${start}`);
}

function writeVarint(out: number[], value: number): void {
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}
