/** Typed views over a data buffer, and the size of the buffer a layout needs. */

import type { DataViews, Layout } from "./layout.js";

function isSharedArrayBuffer(buffer: unknown): buffer is SharedArrayBuffer {
  return Object.prototype.toString.call(buffer) === "[object SharedArrayBuffer]";
}

function isArrayBuffer(buffer: unknown): buffer is ArrayBuffer {
  return Object.prototype.toString.call(buffer) === "[object ArrayBuffer]";
}

/**
 * Typed views over one buffer, each made the first time a layout asks for it: most values need one or two of the
 * ten kinds, and a typed array costs about a hundred bytes of heap (measured: ten eager views were ~1.1 KB per
 * Mutex).
 */
class LazyViews implements DataViews {
  readonly buffer: SharedArrayBuffer;
  #u8?: Uint8Array;
  #i8?: Int8Array;
  #u16?: Uint16Array;
  #i16?: Int16Array;
  #u32?: Uint32Array;
  #i32?: Int32Array;
  #f32?: Float32Array;
  #f64?: Float64Array;
  #i64?: BigInt64Array;
  #u64?: BigUint64Array;
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
  }
  get u8(): Uint8Array {
    return (this.#u8 ??= new Uint8Array(this.buffer));
  }
  get i8(): Int8Array {
    return (this.#i8 ??= new Int8Array(this.buffer));
  }
  get u16(): Uint16Array {
    return (this.#u16 ??= new Uint16Array(this.buffer));
  }
  get i16(): Int16Array {
    return (this.#i16 ??= new Int16Array(this.buffer));
  }
  get u32(): Uint32Array {
    return (this.#u32 ??= new Uint32Array(this.buffer));
  }
  get i32(): Int32Array {
    return (this.#i32 ??= new Int32Array(this.buffer));
  }
  get f32(): Float32Array {
    return (this.#f32 ??= new Float32Array(this.buffer));
  }
  get f64(): Float64Array {
    return (this.#f64 ??= new Float64Array(this.buffer));
  }
  get i64(): BigInt64Array {
    return (this.#i64 ??= new BigInt64Array(this.buffer));
  }
  get u64(): BigUint64Array {
    return (this.#u64 ??= new BigUint64Array(this.buffer));
  }
}

/**
 * Creates the typed views every layout reads and writes through (each made on first use). Create them once per
 * data buffer and reuse them.
 *
 * The buffer's length must be a multiple of 8 (see {@link dataBufferSize}). A plain `ArrayBuffer` is accepted
 * too (single-threaded use and tests); it is typed as a `SharedArrayBuffer` in `DataViews.buffer`.
 *
 * @example
 * const views = dataViews(new SharedArrayBuffer(dataBufferSize(i32)));
 * i32.write(views, 0, 42);
 * i32.read(views, 0, guard); // 42
 */
export function dataViews(buffer: SharedArrayBuffer): DataViews {
  if (!isSharedArrayBuffer(buffer) && !isArrayBuffer(buffer)) {
    throw new TypeError(`dataViews: expected a SharedArrayBuffer, got ${Object.prototype.toString.call(buffer)}`);
  }
  if (buffer.byteLength % 8 !== 0) {
    throw new RangeError(`dataViews: the buffer's length (${buffer.byteLength} bytes) must be a multiple of 8`);
  }
  return Object.freeze(new LazyViews(buffer)); // private fields stay writable: the views can still be made lazily
}

/**
 * `dataViews` for a buffer the caller has just made itself, with a length that is a multiple of 8: no checks, and
 * not frozen (the caller does not hand the views out). Internal: the library's constructors.
 */
export function freshDataViews(buffer: SharedArrayBuffer): DataViews {
  return new LazyViews(buffer);
}

/**
 * Bytes of data buffer a layout's value needs at offset 0: its size rounded up to a multiple of 8 (at least 8).
 *
 * @example
 * const buffer = new SharedArrayBuffer(dataBufferSize(struct({ x: f64, ok: bool }))); // 16 bytes
 */
export function dataBufferSize(layout: Layout<unknown>): number {
  return Math.max(8, Math.ceil(layout.size / 8) * 8);
}
