/**
 * The data buffer of a primitive that protects a value (a Mutex's `T`): its own SharedArrayBuffer, apart from the
 * runtime buffer, laid out as
 *
 * ```
 * [ u32 data tag ][ u32 layout hash ][ the value, as its layout stores it, from DATA_OFFSET ]
 * ```
 *
 * The data tag is random and also stored in the object's record (runtime/objects.ts, O_KIND), and the layout hash is a
 * hash of the layout's description: a handle that pairs a lock with someone else's buffer, or a buffer with another
 * layout, is refused on arrival instead of reading the wrong memory.
 */

import { freshDataViews, layoutFromDescriptor } from "../layout/index.js";
import type { DataViews, Layout, LayoutDescriptor } from "../layout/layout.js";
import { requireSharedMemory } from "../platform/index.js";
import { runtime } from "../runtime/current.js";
import { allocateObject } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";

/** Byte offset of the value in a data buffer. */
export const DATA_OFFSET = 8;
const TAG_WORD = 0;
const HASH_WORD = 1;
/** Data tags are 24 bits (they share a lock-record word with the kind) and never 0. */
const TAG_LIMIT = 1 << 24;

/** Random values drawn in batches: one getRandomValues call costs 8–18 µs here, far more than the rest of a Mutex. */
const randomPool = new Uint32Array(256);
let randomLeft = 0;

/** A fresh random data tag. */
export function newDataTag(): number {
  if (randomLeft === 0) {
    crypto.getRandomValues(randomPool);
    randomLeft = randomPool.length;
  }
  return (randomPool[--randomLeft]! % (TAG_LIMIT - 1)) + 1;
}

/** A 32-bit hash of a layout's description (FNV-1a over its JSON). */
export function layoutHash(descriptor: LayoutDescriptor): number {
  const text = JSON.stringify(descriptor);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * `layoutHash(layout.describe())`, computed once per layout object: a layout never changes, and describing plus
 * JSON-encoding it on every creation cost ~5% of `new Mutex(i32, 0)`.
 */
const hashes = new WeakMap<object, number>();
function hashOf(layout: Layout<unknown>): number {
  let hash = hashes.get(layout);
  if (hash === undefined) hashes.set(layout, (hash = layoutHash(layout.describe())));
  return hash;
}

/** Allocates a data buffer for `layout`, stamped with `tag`. */
export function allocateData(layout: Layout<unknown>, tag: number): SharedArrayBuffer {
  return allocateDataViews(layout, tag).buffer;
}

/**
 * Allocates a data buffer for `layout`, stamped with `tag`, and returns the views over it (the stamp is written
 * through the `i32` view, which an i32 value then reuses: one typed array fewer per object).
 */
export function allocateDataViews(layout: Layout<unknown>, tag: number): DataViews {
  requireSharedMemory();
  const views = freshDataViews(new SharedArrayBuffer(DATA_OFFSET + Math.max(8, Math.ceil(layout.size / 8) * 8)));
  const header = views.i32;
  header[TAG_WORD] = tag;
  header[HASH_WORD] = hashOf(layout);
  return views;
}

/** Why `buffer` cannot be the data of a lock with `tag` holding `layout`, or undefined when it can. */
export function dataMismatch(buffer: SharedArrayBuffer, tag: number, layout: Layout<unknown>): string | undefined {
  if (buffer.byteLength % 8 !== 0) return `its data buffer's length (${buffer.byteLength} bytes) is not a multiple of 8`;
  if (buffer.byteLength < DATA_OFFSET + layout.size) {
    return `its data buffer (${buffer.byteLength} bytes) is too small for its layout (${layout.size} bytes)`;
  }
  const header = new Uint32Array(buffer, 0, 2);
  if (header[TAG_WORD] !== tag) return "its data buffer belongs to another lock";
  if (header[HASH_WORD] !== hashOf(layout)) return "its layout is not the layout the data was made with";
  return undefined;
}

/**
 * The layout a handle's parts (`{ data, layout }`) describe, checked against object record `id`: the data buffer must
 * be that object's and the layout the data's.
 * @throws TypeError saying what does not fit.
 */
export function checkedLayout(rt: Runtime, id: number, parts: Record<string, unknown>): Layout<unknown> {
  const { data, layout: descriptor } = parts;
  if (!(data instanceof SharedArrayBuffer)) throw new TypeError("its data is not a SharedArrayBuffer");
  const layout = layoutFromDescriptor(descriptor);
  const mismatch = dataMismatch(data, rt.objectDataTag(id), layout);
  if (mismatch) throw new TypeError(mismatch);
  return layout;
}

/**
 * The first steps of every primitive that keeps a value: a data buffer for `layout` stamped with a fresh tag, and
 * the object record of kind `kind` bound to it by that tag. The caller writes the (already checked) initial value
 * through `views` before the object is shared, and counts itself as its holder.
 * @throws RangeError when too many shared objects are alive, or the name is too long.
 */
export function allocateValueObject(
  layout: Layout<unknown>,
  kind: number,
  name: string | undefined,
  level: number | undefined,
): { rt: Runtime; id: number; views: DataViews } {
  const tag = newDataTag();
  const views = allocateDataViews(layout, tag);
  const rt = runtime();
  return { rt, id: allocateObject(rt, kind, name, level, tag), views };
}
