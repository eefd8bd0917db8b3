/**
 * The contract every layout meets: how a value of type `T` lives in shared memory.
 *
 * A layout knows its size and alignment, reads and writes its value at a byte offset of a data buffer,
 * validates a candidate value before a single byte is written (so a rejected write leaves the old value
 * intact), and describes itself as plain JSON so it can cross threads inside a handle.
 *
 * This room imports nothing from the rest of the library.
 */

/** Typed views over one data `SharedArrayBuffer`, created once per buffer and shared by every layout. */
export interface DataViews {
  readonly buffer: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
}

/**
 * The guard that a live view belongs to. Views of `struct` and `array` values call `assertLive()` on every
 * access, so a view used after its guard is released throws instead of touching unlocked memory.
 */
export interface Liveness {
  assertLive(): void;
}

/** A layout's self-description: plain JSON, safe to structured-clone, validated on arrival. */
export type LayoutDescriptor =
  | { readonly kind: PrimitiveKind }
  | { readonly kind: "string"; readonly maxBytes: number }
  | { readonly kind: "bytes"; readonly length: number }
  | { readonly kind: "json"; readonly maxBytes: number }
  | { readonly kind: "array"; readonly element: LayoutDescriptor; readonly length: number }
  | { readonly kind: "struct"; readonly fields: ReadonlyArray<readonly [string, LayoutDescriptor]> };

export type PrimitiveKind = "bool" | "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "f32" | "f64" | "i64" | "u64";

declare const inferred: unique symbol;

/** How a value of type `T` is stored. `Infer<typeof layout>` recovers `T`. */
export interface Layout<T> {
  /** Never present at run time: carries `T` for `Infer`. */
  readonly [inferred]?: T;
  readonly kind: LayoutDescriptor["kind"];
  /** Bytes the value occupies. */
  readonly size: number;
  /** Byte alignment the value needs (1, 2, 4 or 8); offsets passed to read/write are multiples of it. */
  readonly align: number;
  /**
   * Reads the value at `offset`. Numbers and bigints are returned as is; `string` returns a string; `json`
   * and `bytes` return fresh copies; `struct` and `array` return a live view bound to `liveness`.
   */
  read(views: DataViews, offset: number, liveness: Liveness): T;
  /** Validates `value` completely, then writes it. On a bad value it throws and writes nothing. */
  write(views: DataViews, offset: number, value: T): void;
  /** Throws a `TypeError` or `RangeError` naming `path` when `value` cannot be stored; writes nothing. */
  check(value: unknown, path: string): void;
  /** Plain-JSON description, for handles that cross threads. */
  describe(): LayoutDescriptor;
}

/** The TypeScript type of the values a layout stores. */
export type Infer<L> = L extends Layout<infer T> ? T : never;
