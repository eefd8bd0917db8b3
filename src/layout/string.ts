/** `string(maxBytes)`: a UTF-8 string with a fixed byte budget. */

import type { DataViews, Layout, LayoutDescriptor } from "./layout.js";
import { BaseLayout, MAX_SIZE, alignUp, describeValue, quote, rangeFail, typeFail } from "./internal.js";
import { decodeUtf8, encodeUtf8, utf8Length } from "./utf8.js";

/** A `string(maxBytes)` layout. */
export interface StringLayout extends Layout<string> {
  readonly kind: "string";
  /** Most UTF-8 bytes a stored string may have. */
  readonly maxBytes: number;
}

/** Validates a byte budget given to `string`/`json`; throws a public error. */
export function checkBudget(factory: string, maxBytes: unknown): number {
  if (typeof maxBytes !== "number") {
    throw new TypeError(`${factory}(maxBytes): maxBytes must be a number, got ${describeValue(maxBytes)}`);
  }
  if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_SIZE - 4) {
    throw new RangeError(`${factory}(maxBytes): maxBytes must be an integer from 0 to ${MAX_SIZE - 4}, got ${maxBytes}`);
  }
  return maxBytes;
}

/**
 * Reads the stored byte length of a string/json slot, refusing a length that the layout could never have
 * written (corrupted memory).
 */
export function storedLength(views: DataViews, offset: number, maxBytes: number, name: string): number {
  const length = views.u32[offset >> 2];
  if (length > maxBytes) {
    throw new RangeError(`${name}: the stored length ${length} exceeds the budget of ${maxBytes} bytes; the shared memory is corrupted`);
  }
  return length;
}

/** Validates a string against a byte budget (well-formed, fits); returns it. */
export function prepareText(value: string, maxBytes: number, name: string, what?: string): string {
  const bytes = utf8Length(value);
  if (bytes < 0) {
    rangeFail(`${what ?? quote(value)} has a lone surrogate at index ${-1 - bytes}, which UTF-8 cannot store (the string is not well-formed)`);
  }
  if (bytes > maxBytes) {
    rangeFail(`${what ?? quote(value)} is ${bytes} bytes of UTF-8, over the budget of ${name} (${maxBytes} bytes)`);
  }
  return value;
}

export class StringLayoutImpl extends BaseLayout<string> implements StringLayout {
  readonly kind = "string";
  readonly size: number;
  readonly align = 4;
  readonly depth = 0;
  readonly nodes = 1;
  readonly elements = 1;
  readonly maxBytes: number;
  readonly #name: string;
  #descriptor: LayoutDescriptor | undefined;

  constructor(maxBytes: number) {
    super();
    this.maxBytes = maxBytes;
    this.#name = `string(${maxBytes})`;
    this.size = alignUp(4 + maxBytes, 4);
  }

  read(views: DataViews, offset: number): string {
    const length = storedLength(views, offset, this.maxBytes, this.name());
    const start = offset + 4;
    return decodeUtf8(views.u8, start, start + length);
  }

  prepare(value: unknown): string {
    if (typeof value !== "string") typeFail(`expected a string for ${this.name()}, got ${describeValue(value)}`);
    return prepareText(value, this.maxBytes, this.name());
  }

  store(views: DataViews, offset: number, value: unknown): void {
    views.u32[offset >> 2] = encodeUtf8(value as string, views.u8, offset + 4, this.maxBytes);
  }

  snapshot(views: DataViews, offset: number): unknown {
    return this.read(views, offset);
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({ kind: "string", maxBytes: this.maxBytes }));
  }

  name(): string {
    return this.#name;
  }
}

/**
 * A UTF-8 string of at most `maxBytes` bytes, stored as a `u32` byte length followed by the bytes (size
 * `4 + maxBytes`, rounded up to 4). Writing a longer string is a `RangeError` that gives its byte length;
 * so is a string with a lone surrogate, which has no UTF-8 form. Note that a character can take up to 4
 * bytes: `"é"` is 2, `"€"` is 3, `"🦀"` is 4.
 *
 * @example
 * const name = new Mutex(string(32), "ferris");
 */
export function string(maxBytes: number): StringLayout {
  return new StringLayoutImpl(checkBudget("string", maxBytes));
}
