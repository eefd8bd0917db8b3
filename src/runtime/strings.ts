/**
 * The string arena: an append-only region at the end of the runtime buffer that holds the names of threads and
 * locks, so that any thread can name any lock in a report. Strings are never freed.
 *
 * Each string is stored as a u32 byte length followed by its UTF-8 bytes, padded to 4 bytes. A string's
 * "ref" is its byte offset within the arena; ref 0 means "no string" (the arena starts at ARENA_FIRST_REF).
 */

/** The first usable byte offset in the arena: offset 0 is reserved so that ref 0 can mean "none". */
export const ARENA_FIRST_REF = 8;
/** The longest name accepted, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;
/** The longest stored text (a trimmed stack), in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 2048;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where the arena lives in the runtime buffer and how its bump pointer is reached. */
export interface ArenaSite {
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of the arena in `buffer`. */
  readonly start: number;
  /** Int32 view and index of the bump pointer (bytes used, from the arena's start). */
  readonly words: Int32Array;
  readonly bumpIndex: number;
}

/**
 * Stores `text` in the arena and returns its ref. Grows the buffer when needed.
 * @throws RangeError when the arena is full.
 */
export function storeString(site: ArenaSite, text: string): number {
  const bytes = encoder.encode(text);
  const needed = (4 + bytes.length + 3) & ~3;
  const capacity = site.buffer.maxByteLength - site.start;
  let ref: number;
  for (;;) {
    ref = Atomics.load(site.words, site.bumpIndex);
    if (!(ref >= ARENA_FIRST_REF) || ref + needed > capacity) {
      throw new RangeError(`threadsafe: the runtime's name table is full (${capacity} bytes); use shorter or fewer names`);
    }
    if (Atomics.compareExchange(site.words, site.bumpIndex, ref, ref + needed) === ref) break;
  }
  const end = site.start + ref + needed;
  if (end > site.buffer.byteLength) {
    try {
      site.buffer.grow(Math.min(site.buffer.maxByteLength, Math.max(end, site.buffer.byteLength * 2)));
    } catch (error) {
      // Another thread may have grown it past `end` first (grow() refuses to shrink).
      if (site.buffer.byteLength < end) throw error;
    }
  }
  const view = new DataView(site.buffer, site.start + ref, needed);
  view.setUint32(0, bytes.length, true);
  new Uint8Array(site.buffer, site.start + ref + 4, bytes.length).set(bytes);
  return ref;
}

/** Reads the string stored at `ref`, or `undefined` for ref 0 or a ref that does not point into the arena. */
export function loadString(site: ArenaSite, ref: number, maxBytes = MAX_NAME_BYTES): string | undefined {
  if (ref < ARENA_FIRST_REF || ref % 4 !== 0) return undefined;
  const used = Atomics.load(site.words, site.bumpIndex);
  if (ref + 4 > used || site.start + ref + 4 > site.buffer.byteLength) return undefined;
  const length = new DataView(site.buffer, site.start + ref, 4).getUint32(0, true);
  if (length > maxBytes || ref + 4 + length > used) return undefined;
  // TextDecoder refuses views of shared memory in browsers: copy out first.
  return decoder.decode(new Uint8Array(site.buffer, site.start + ref + 4, length).slice());
}

/** The UTF-8 length of `text`. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
