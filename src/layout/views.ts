/** Typed views over a data buffer, and the size of the buffer a layout needs. */

import type { DataViews, Layout } from "./layout.js";

function isSharedArrayBuffer(buffer: unknown): buffer is SharedArrayBuffer {
  return Object.prototype.toString.call(buffer) === "[object SharedArrayBuffer]";
}

function isArrayBuffer(buffer: unknown): buffer is ArrayBuffer {
  return Object.prototype.toString.call(buffer) === "[object ArrayBuffer]";
}

/**
 * Creates the typed views every layout reads and writes through. Create them once per data buffer and reuse
 * them: they are immutable.
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
  return Object.freeze({
    buffer,
    u8: new Uint8Array(buffer),
    i8: new Int8Array(buffer),
    u16: new Uint16Array(buffer),
    i16: new Int16Array(buffer),
    u32: new Uint32Array(buffer),
    i32: new Int32Array(buffer),
    f32: new Float32Array(buffer),
    f64: new Float64Array(buffer),
    i64: new BigInt64Array(buffer),
    u64: new BigUint64Array(buffer),
  });
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
