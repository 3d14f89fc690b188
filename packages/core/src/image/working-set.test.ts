import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CracError } from '../errors.js';
import { markWorkingSet, parseFaultLog } from './working-set.js';

const PAGE = 4096;
const LAZY = 6; // PE_LAZY | PE_PRESENT
const PRESENT = 4;
const MAGIC = Buffer.from('1943565425400856', 'hex');

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A protobuf message of varint fields, in the order given. */
function message(fields: [number, number][]): Buffer {
  return Buffer.from(fields.flatMap(([field, value]) => [...varint(field * 8), ...varint(value)]));
}

function framed(messages: Buffer[]): Buffer {
  return Buffer.concat([
    MAGIC,
    ...messages.flatMap((m) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(m.length);
      return [length, m];
    }),
  ]);
}

/** An entry as CRIU 4.2 writes it: vaddr, compat_nr_pages 0, flags, nr_pages. */
const entry = (vaddr: number, pages: number, flags = LAZY) =>
  message([
    [1, vaddr],
    [2, 0],
    [4, flags],
    [5, pages],
  ]);
const head = message([[1, 1]]);

/** The entries of a pagemap, as [vaddr, pages, flags]. */
function entries(image: Buffer): [number, number, number][] {
  const out: [number, number, number][] = [];
  let at = 8;
  let first = true;
  while (at < image.length) {
    const length = image.readUInt32LE(at);
    const body = image.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (first) {
      first = false;
      continue;
    }
    const fields = new Map<number, number>();
    for (let i = 0; i < body.length; ) {
      let key = 0;
      let scale = 1;
      for (;;) {
        const byte = body[i++] as number;
        key += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte < 0x80) break;
      }
      let value = 0;
      scale = 1;
      for (;;) {
        const byte = body[i++] as number;
        value += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte < 0x80) break;
      }
      fields.set(key / 8, value);
    }
    out.push([fields.get(1) as number, fields.get(5) ?? (fields.get(2) as number), fields.get(4) as number]);
  }
  return out;
}

const BASE = 0x7f91_1729_d000; // above 2^32: the varints are wider than 32 bits
const pagemap = framed([head, entry(0x40_0000, 2, PRESENT), entry(BASE, 8), entry(BASE + 64 * PAGE, 3)]);

describe('markWorkingSet', () => {
  it('splits a lazy entry around the pages in the set, in order, the set eager', () => {
    const set = new Set([BASE + 2 * PAGE, BASE + 3 * PAGE, BASE + 7 * PAGE]);
    const { image, eagerPages, lazyPages } = markWorkingSet(pagemap, set);
    expect(entries(image)).toEqual([
      [0x40_0000, 2, PRESENT],
      [BASE, 2, LAZY],
      [BASE + 2 * PAGE, 2, PRESENT],
      [BASE + 4 * PAGE, 3, LAZY],
      [BASE + 7 * PAGE, 1, PRESENT],
      [BASE + 64 * PAGE, 3, LAZY],
    ]);
    expect({ eagerPages, lazyPages }).toEqual({ eagerPages: 3, lazyPages: 8 });
  });

  it('makes a whole entry eager, from its first page', () => {
    const set = new Set([BASE + 64 * PAGE, BASE + 65 * PAGE, BASE + 66 * PAGE, BASE]);
    expect(entries(markWorkingSet(pagemap, set).image)).toEqual([
      [0x40_0000, 2, PRESENT],
      [BASE, 1, PRESENT],
      [BASE + PAGE, 7, LAZY],
      [BASE + 64 * PAGE, 3, PRESENT],
    ]);
  });

  it('leaves the image as it was, byte for byte, when no lazy page is in the set (non-lazy ones and strays ignored)', () => {
    const strays = new Set([0x40_0000, BASE - PAGE, BASE + 8 * PAGE, BASE + 67 * PAGE]);
    const { image, eagerPages, lazyPages } = markWorkingSet(pagemap, strays);
    expect(image.equals(pagemap)).toBe(true);
    expect({ eagerPages, lazyPages }).toEqual({ eagerPages: 0, lazyPages: 11 });
  });

  it('gives an image back byte for byte with an empty set', () => {
    const { image, eagerPages, lazyPages } = markWorkingSet(pagemap, new Set());
    expect(image.equals(pagemap)).toBe(true);
    expect({ eagerPages, lazyPages }).toEqual({ eagerPages: 0, lazyPages: 11 });
  });

  it('never merges entries, even adjacent runs of the same flags', () => {
    const adjacent = framed([head, entry(BASE, 2), entry(BASE + 2 * PAGE, 2)]);
    expect(entries(markWorkingSet(adjacent, new Set([BASE + PAGE, BASE + 2 * PAGE])).image)).toEqual([
      [BASE, 1, LAZY],
      [BASE + PAGE, 1, PRESENT],
      [BASE + 2 * PAGE, 1, PRESENT],
      [BASE + 3 * PAGE, 1, LAZY],
    ]);
    const all = new Set([BASE, BASE + PAGE, BASE + 2 * PAGE, BASE + 3 * PAGE]);
    expect(entries(markWorkingSet(adjacent, all).image)).toEqual([
      [BASE, 2, PRESENT],
      [BASE + 2 * PAGE, 2, PRESENT],
    ]);
  });

  it('is idempotent: marking the marked image again gives the same bytes', () => {
    const set = new Set([BASE + PAGE, BASE + 65 * PAGE]);
    const once = markWorkingSet(pagemap, set).image;
    const twice = markWorkingSet(once, set);
    expect(twice.image.equals(once)).toBe(true);
    expect(twice.eagerPages).toBe(0);
  });

  it('keeps compat_nr_pages in step when an entry has no nr_pages (older images)', () => {
    const old = framed([
      head,
      message([
        [1, BASE],
        [2, 4],
        [4, LAZY],
      ]),
    ]);
    expect(entries(markWorkingSet(old, new Set([BASE + PAGE])).image)).toEqual([
      [BASE, 1, LAZY],
      [BASE + PAGE, 1, PRESENT],
      [BASE + 2 * PAGE, 2, LAZY],
    ]);
  });

  it.each([
    ['shorter than its header', Buffer.alloc(4)],
    ['no pagemap_head', MAGIC],
    ['a cut length', Buffer.concat([MAGIC, Buffer.from([1, 0])])],
    ['a cut record', framed([head, entry(BASE, 1)]).subarray(0, -2)],
    [
      'an unknown field',
      framed([
        head,
        message([
          [1, BASE],
          [2, 1],
          [9, 1],
        ]),
      ]),
    ],
    ['a field of another wire type', framed([head, Buffer.from([0x0a, 0x01, 0x00])])],
    ['an entry of no pages', framed([head, entry(BASE, 0)])],
    ['an address not at a page start', framed([head, entry(BASE + 12, 1)])],
    ['no address', framed([head, message([[2, 1]])])],
    [
      'an address beyond 2^53',
      framed([
        head,
        message([
          [1, 2 ** 53],
          [2, 1],
        ]),
      ]),
    ],
    ['a varint of 11 bytes', framed([head, Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])])],
  ])('refuses a pagemap with %s (CRAC_EIMAGE)', (_what, image) => {
    expect(() => markWorkingSet(image, new Set([BASE]))).toThrow(CracError);
    try {
      markWorkingSet(image, new Set([BASE]));
    } catch (error) {
      expect((error as CracError).code).toBe('CRAC_EIMAGE');
    }
  });
});

describe('markWorkingSet on a pagemap of CRIU 4.2.1 (its first 20 entries)', () => {
  const real = readFileSync(new URL('./fixtures/pagemap-real.img', import.meta.url));

  it('reads it, and gives it back byte for byte with no page to mark', () => {
    const { image, eagerPages, lazyPages } = markWorkingSet(real, new Set());
    expect(image.equals(real)).toBe(true);
    expect(eagerPages).toBe(0);
    expect(lazyPages).toBeGreaterThan(0);
  });

  it('splits a lazy entry at its first page', () => {
    const lazy = entries(real).find(([, pages, flags]) => flags === LAZY && pages > 1);
    expect(lazy).toBeDefined();
    const [vaddr, pages] = lazy as [number, number, number];
    const marked = entries(markWorkingSet(real, new Set([vaddr])).image);
    expect(marked.length).toBe(entries(real).length + 1);
    expect(marked).toContainEqual([vaddr, 1, PRESENT]);
    expect(marked).toContainEqual([vaddr + PAGE, pages - 1, LAZY]);
  });
});

describe('parseFaultLog', () => {
  it("takes the #PF lines of each process, page-aligned, and nothing else of the server's log", () => {
    const log = [
      '(00.000000) CRIU run id = efcb9c8e',
      '(00.030745) uffd: 11627-8: Found 149188 pages to be handled by UFFD',
      '(00.048309) uffd: 11627-8: #PF at 0x7f911729d000',
      '(00.048540) uffd: 11627-8: #PF at 0x7f9116d3d123',
      '(00.078997) uffd: 11627-8: zero page at 0x1d362ca3a000',
      '(00.079100) uffd: 11630-9: #PF at 0x55d0c0001000',
      '(00.079200) uffd: 11627-8: #PF at 0x7f911729d000',
      '(00.375000) uffd: 11627-8: UFFD transferred pages: (149188/149188)',
    ].join('\n');
    const faults = parseFaultLog(log);
    expect([...faults.keys()]).toEqual([11627, 11630]);
    expect([...(faults.get(11627) ?? [])]).toEqual([0x7f91_1729_d000, 0x7f91_16d3_d000]);
    expect([...(faults.get(11630) ?? [])]).toEqual([0x55d0_c000_1000]);
  });

  it('gives nothing for a log without faults', () => {
    expect(parseFaultLog('').size).toBe(0);
  });
});
