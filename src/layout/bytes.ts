/** `bytes(length)`: a fixed number of raw bytes. */

import type { DataViews, Layout, LayoutDescriptor } from "./layout.js";
import { BaseLayout, MAX_SIZE, describeValue, located, rangeFail, typeFail } from "./internal.js";

/** A `bytes(length)` layout. Reads give a copy; {@link BytesLayout.unsafeView} is the zero-copy escape hatch. */
export interface BytesLayout extends Layout<Uint8Array> {
  readonly kind: "bytes";
  /** The exact number of bytes stored. */
  readonly length: number;
  /**
   * **Zero-copy escape hatch, for hot paths.** Returns a `Uint8Array` that aliases the shared bytes at
   * `offset` instead of a copy. Nothing can revoke it when the guard is released: reading or writing it after
   * unlock is a data race that the library cannot detect. Use it only inside the guard's scope and never let
   * it escape.
   */
  unsafeView(views: DataViews, offset: number): Uint8Array;
}

function asBytes(value: ArrayBufferView): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export class BytesLayoutImpl extends BaseLayout<Uint8Array> implements BytesLayout {
  readonly kind = "bytes";
  readonly size: number;
  readonly align = 1;
  readonly depth = 0;
  readonly nodes = 1;
  readonly elements = 1;
  readonly length: number;
  #descriptor: LayoutDescriptor | undefined;

  constructor(length: number) {
    super();
    this.length = length;
    this.size = length;
  }

  read(views: DataViews, offset: number): Uint8Array {
    // `slice` of a view over shared memory copies into a fresh, unshared buffer.
    return views.u8.slice(offset, offset + this.length);
  }

  unsafeView(views: DataViews, offset: number): Uint8Array {
    return views.u8.subarray(offset, offset + this.length);
  }

  #validate(value: unknown): Uint8Array {
    if (!ArrayBuffer.isView(value)) {
      typeFail(`expected a Uint8Array of ${this.length} bytes for ${this.name()}, got ${describeValue(value)}`);
    }
    if (value.byteLength !== this.length) {
      rangeFail(`expected exactly ${this.length} bytes for ${this.name()}, got ${value.byteLength}`);
    }
    return asBytes(value);
  }

  prepare(value: unknown): Uint8Array {
    // A copy: inside a struct or array, user code (getters of later fields) runs between the check and the
    // write, and could change or detach these bytes.
    return this.#validate(value).slice();
  }

  store(views: DataViews, offset: number, prepared: unknown): void {
    views.u8.set(prepared as Uint8Array, offset);
  }

  override write(views: DataViews, offset: number, value: Uint8Array): void {
    let bytes: Uint8Array;
    try {
      bytes = this.#validate(value);
    } catch (error) {
      throw located(error, "value");
    }
    // `set` copies correctly even when `value` aliases this very memory.
    views.u8.set(bytes, offset);
  }

  snapshot(views: DataViews, offset: number): unknown {
    return this.read(views, offset);
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({ kind: "bytes", length: this.length }));
  }

  name(): string {
    return `bytes(${this.length})`;
  }
}

/**
 * Exactly `length` raw bytes. Writing takes a `Uint8Array` (or any `ArrayBuffer` view) of exactly that many
 * bytes; reading returns a fresh copy, so a read value stays valid after unlock (and changing it changes
 * nothing shared: assign it back to write). For hot paths, {@link BytesLayout.unsafeView} aliases the shared
 * bytes instead.
 *
 * @example
 * const key = new Mutex(bytes(32), new Uint8Array(32));
 */
export function bytes(length: number): BytesLayout {
  if (typeof length !== "number") {
    throw new TypeError(`bytes(length): length must be a number, got ${describeValue(length)}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_SIZE) {
    throw new RangeError(`bytes(length): length must be an integer from 0 to ${MAX_SIZE}, got ${length}`);
  }
  return new BytesLayoutImpl(length);
}
