/**
 * The TypeScript side of layouts: the array view type, and the two type functions that relate what a read
 * gives (`T`, from `Infer`) to what a write accepts (`Assignable<T>`) and what a snapshot gives
 * (`Snapshot<T>`).
 */

import type { JsonValue } from "./json.js";

/**
 * The live view a read of `array(element, length)` gives: indexing reads and writes shared memory.
 *
 * Every access checks that the guard is still held (after unlock it throws), and an index outside
 * `0 … length - 1` is a `RangeError` (never `undefined`). `get`/`set` are the fast paths; `view[i]` costs a
 * `Proxy` trap (the view is an ordinary object, but indices are answered by a `Proxy` at the end of its
 * prototype chain). Assigning any other property (`view.foo = 1`) is a `TypeError`.
 *
 * A view is not an `Array`: `Array.isArray(view)` is false and array methods are absent. Use
 * `toArray()` for a plain copy, or iterate (`for (const x of view)`, `[...view]`).
 *
 * @example
 * const grid = new Mutex(array(i32, 3), [1, 2, 3]);
 * grid.with((g) => {
 *   g.value[0] = 5;           // writes shared memory
 *   g.value.set(1, 6);         // same, without the Proxy
 *   g.value.toArray();         // [5, 6, 3]
 *   g.value = [7, 8, 9];       // writes every element
 * });
 */
export interface ArrayView<T> extends Iterable<T> {
  [index: number]: T;
  /** The number of elements (fixed by the layout). */
  readonly length: number;
  /** Reads element `index` (a nested `struct`/`array` element gives a live view). */
  get(index: number): T;
  /** Validates `value` completely, then writes element `index`. */
  set(index: number, value: Assignable<T>): void;
  /** Iterates the elements in order. */
  [Symbol.iterator](): IterableIterator<T>;
  /** A plain copy: a fresh array, nested views copied into plain objects and arrays. */
  toArray(): Snapshot<T>[];
  /** The same plain copy as `toArray()`, so `JSON.stringify(view)` works (bigints still need a replacer). */
  toJSON(): Snapshot<T>[];
}

/**
 * What a write accepts for a value whose read type is `T`: array views become any `ArrayLike` of assignable
 * elements (a plain array, a typed array, another view), `Uint8Array` becomes any `ArrayBufferView`, and
 * object types are mapped field by field. Reads give `T`, writes take `Assignable<T>`; a `T` is always
 * assignable.
 *
 * @example
 * const P = struct({ xs: array(i32, 3) });
 * type P = Infer<typeof P>;                    // { xs: ArrayView<number> }
 * const p: Assignable<P> = { xs: [1, 2, 3] };  // OK
 */
export type Assignable<T> =
  T extends ArrayView<infer E>
    ? ArrayLike<Assignable<E>>
    : T extends Uint8Array
      ? ArrayBufferView
      : T extends JsonValue
        ? T
        : T extends object
          ? { [K in keyof T]: Assignable<T[K]> }
          : T;

/**
 * The type of a plain deep copy of a value whose read type is `T`: array views become arrays, and object
 * types are mapped field by field. This is what `toJSON()`/`toArray()` and {@link snapshot} give.
 */
export type Snapshot<T> =
  T extends ArrayView<infer E>
    ? Snapshot<E>[]
    : T extends Uint8Array
      ? Uint8Array
      : T extends JsonValue
        ? T
        : T extends object
          ? { [K in keyof T]: Snapshot<T[K]> }
          : T;
