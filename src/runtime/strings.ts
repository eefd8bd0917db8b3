/**
 * The string arena: a region at the end of the runtime buffer that holds the names of threads and objects, so that
 * any thread can name any object in a report.
 *
 * Each string is stored as a u32 byte length followed by its UTF-8 bytes, in a block of a power-of-two size class.
 * A string's "ref" is its byte offset within the arena; ref 0 means "no string" (the arena starts at
 * ARENA_FIRST_REF). Names are freed with what they name (a thread's slot, an object's record) onto a lock-free
 * free list per size class, so a program that creates and drops objects forever does not grow the arena. Longer
 * texts (stacks, for reports) are never freed; storeText in runtime.ts caps how much of the arena they may take.
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
  /** BigInt64 view and index of the first of SIZE_CLASSES free-list heads (`tag << 32 | ref`). */
  readonly wide: BigInt64Array;
  readonly freeHeads64: number;
}

/** Block sizes of the freeable size classes: 16, 32, …, 512 bytes (a name of MAX_NAME_BYTES fits the last). */
export const SIZE_CLASSES = 6;
const SMALLEST_CLASS_BYTES = 16;

/** The size class of a block of `needed` bytes, or -1 for a block too large to be freed. */
function classOf(needed: number): number {
  for (let k = 0, size = SMALLEST_CLASS_BYTES; k < SIZE_CLASSES; k++, size *= 2) if (needed <= size) return k;
  return -1;
}

/** Takes a block of size class `k` from its free list, or returns 0. */
function popFree(site: ArenaSite, k: number): number {
  const index = site.freeHeads64 + k;
  for (;;) {
    const head = Atomics.load(site.wide, index);
    const ref = Number(head & 0xffffffffn);
    if (ref === 0) return 0;
    // The link sits where the block's text would; a stale head is caught by the tag changing on every push and pop.
    const next = new DataView(site.buffer, site.start + ref + 4, 4).getUint32(0, true);
    const tag = (head >> 32n) + 1n;
    if (Atomics.compareExchange(site.wide, index, head, (tag << 32n) | BigInt(next)) === head) return ref;
  }
}

/** Gives the block of a string stored with `storeString` back to its size class. */
export function freeString(site: ArenaSite, ref: number): void {
  if (ref < ARENA_FIRST_REF) return;
  const length = new DataView(site.buffer, site.start + ref, 4).getUint32(0, true);
  const k = classOf((4 + length + 3) & ~3);
  if (k < 0) return;
  const index = site.freeHeads64 + k;
  const link = new DataView(site.buffer, site.start + ref + 4, 4);
  for (;;) {
    const head = Atomics.load(site.wide, index);
    link.setUint32(0, Number(head & 0xffffffffn), true);
    const tag = (head >> 32n) + 1n;
    if (Atomics.compareExchange(site.wide, index, head, (tag << 32n) | BigInt(ref)) === head) return;
  }
}

/**
 * Stores `text` in the arena and returns its ref. Grows the buffer when needed.
 * @throws RangeError when the arena is full.
 */
export function storeString(site: ArenaSite, text: string): number {
  const bytes = encoder.encode(text);
  const k = classOf((4 + bytes.length + 3) & ~3);
  const reused = k < 0 ? 0 : popFree(site, k);
  if (reused !== 0) {
    new Uint8Array(site.buffer, site.start + reused + 4, bytes.length).set(bytes);
    new DataView(site.buffer, site.start + reused, 4).setUint32(0, bytes.length, true);
    return reused;
  }
  const needed = k < 0 ? (4 + bytes.length + 3) & ~3 : SMALLEST_CLASS_BYTES << k;
  const capacity = site.buffer.maxByteLength - site.start;
  let ref: number;
  for (;;) {
    ref = Atomics.load(site.words, site.bumpIndex);
    if (!(ref >= ARENA_FIRST_REF) || ref + needed > capacity) {
      throw new RangeError(`threadsafe: the runtime's name table is full (${capacity} bytes); use shorter or fewer names`);
    }
    if (Atomics.compareExchange(site.words, site.bumpIndex, ref, ref + needed) === ref) break;
  }
  ensureLength(site, site.start + ref + needed);
  const view = new DataView(site.buffer, site.start + ref, needed);
  view.setUint32(0, bytes.length, true);
  new Uint8Array(site.buffer, site.start + ref + 4, bytes.length).set(bytes);
  return ref;
}

/**
 * Reserves `bytes` (a multiple of 4) of the arena for a caller that lays them out itself, zero-filled; never freed.
 * Returns the block's ref (its byte offset within the arena).
 * @throws RangeError when the arena is full.
 */
export function allocateBlock(site: ArenaSite, bytes: number): number {
  const capacity = site.buffer.maxByteLength - site.start;
  let ref: number;
  for (;;) {
    ref = Atomics.load(site.words, site.bumpIndex);
    if (!(ref >= ARENA_FIRST_REF) || ref + bytes > capacity) throw new RangeError(`threadsafe: the runtime's arena is full (${capacity} bytes)`);
    if (Atomics.compareExchange(site.words, site.bumpIndex, ref, ref + bytes) === ref) break;
  }
  ensureLength(site, site.start + ref + bytes);
  return ref;
}

function ensureLength(site: ArenaSite, end: number): void {
  if (end <= site.buffer.byteLength) return;
  try {
    site.buffer.grow(Math.min(site.buffer.maxByteLength, Math.max(end, site.buffer.byteLength * 2)));
  } catch (error) {
    // Another thread may have grown it past `end` first (grow() refuses to shrink).
    if (site.buffer.byteLength < end) throw error;
  }
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
