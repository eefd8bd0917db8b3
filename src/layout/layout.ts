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
  /**
   * True for a guard that may only read (an RwLock read guard): every write through its views throws a
   * `TypeError`. Absent or false: views write shared memory.
   */
  readonly readOnly?: boolean;
}

/** A layout's self-description: plain JSON, safe to structured-clone, validated on arrival. */
export type LayoutDescriptor =
  | { readonly kind: PrimitiveKind }
  | { readonly kind: "string"; readonly maxBytes: number }
  | { readonly kind: "bytes"; readonly length: number }
  | { readonly kind: "json"; readonly maxBytes: number }
  | { readonly kind: "array"; readonly element: LayoutDescriptor; readonly length: number }
  | { readonly kind: "struct"; readonly fields: ReadonlyArray<readonly [string, LayoutDescriptor]> };

/** The scalar layout kinds: `bool`, the integers, the floats, and the 64-bit integers (bigints). */
export type PrimitiveKind = "bool" | "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "f32" | "f64" | "i64" | "u64";

declare const inferred: unique symbol;

/** How a value of type `T` is stored. `Infer<typeof layout>` recovers `T`. */
export interface Layout<T> {
  /** Never present at run time: carries `T` for `Infer`. */
  readonly [inferred]?: T;
  /** Which kind of layout this is (the `kind` of its descriptor). */
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
  /**
   * Validates `value` completely, then writes it. On a bad value it throws a `TypeError`/`RangeError` whose
   * message starts with the path (`value.pos.x: …`) and writes nothing.
   *
   * Accepts more than `T` at run time: for `array` layouts (where `T` is the view type) any array-like of the
   * right length, for `struct` layouts a plain object or a view, for `bytes` any `ArrayBuffer` view. The
   * static type of what a write accepts is `Assignable<T>` (see `types.ts`); callers with a plain value cast
   * it (`layout.write(views, 0, value as T)`).
   */
  write(views: DataViews, offset: number, value: T): void;
  /** Throws a `TypeError` or `RangeError` naming `path` when `value` cannot be stored; writes nothing. */
  check(value: unknown, path: string): void;
  /** Plain-JSON description, for handles that cross threads. */
  describe(): LayoutDescriptor;
}

/**
 * The TypeScript type of the values a layout stores: `number`, `bigint`, `boolean`, `string`, `Uint8Array`,
 * the JSON type for `json`, the plain object type for `struct` (`{ x: number; y: number }`), and
 * `ArrayView<E>` for `array`.
 *
 * This is the type reads give. A struct read is a live view with exactly these fields (as getters/setters,
 * plus `toJSON()`/`toString()`, which the type does not show); an array read is an `ArrayView`. Writes
 * take `Assignable<Infer<L>>`, where array views loosen to any `ArrayLike`.
 *
 * @example
 * const S = struct({ a: i32, b: string(8) });
 * type S = Infer<typeof S>;   // { a: number; b: string }
 */
export type Infer<L> = L extends Layout<infer T> ? T : never;
