/** `json(maxBytes)`: any JSON value, stored as its JSON text with a fixed byte budget. */

import type { DataViews, Layout, LayoutDescriptor } from "./layout.js";
import { BaseLayout, alignUp, describeValue, formatNumber, rangeFail, typeFail, under } from "./internal.js";
import { checkBudget, storedLength } from "./string.js";
import { decodeUtf8, encodeUtf8, utf8Length } from "./utf8.js";

/** Any value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A `json(maxBytes)` layout. */
export interface JsonLayout<T = JsonValue> extends Layout<T> {
  readonly kind: "json";
  /** Most UTF-8 bytes the JSON text of a stored value may have. */
  readonly maxBytes: number;
}

/** Text whose UTF-8 is one byte per character. */
const ASCII_ONLY = /^[\0-\x7f]*$/;

/** Deepest nesting of arrays and objects inside one `json` value. */
export const MAX_JSON_DEPTH = 1000;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return true;
  // A plain object from another realm (a `vm` context, an iframe).
  return Object.getPrototypeOf(proto) === null && (proto as { constructor?: { name?: unknown } }).constructor?.name === "Object";
}

/**
 * Throws unless `value` is made only of null, booleans, finite numbers, strings, dense arrays and plain
 * objects, without cycles: exactly the values that read back equal (deeply) to what was written.
 */
function validateJson(value: unknown, depth: number, stack: object[], maxBytes: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) {
        rangeFail(`${formatNumber(value)} has no JSON form (JSON.stringify would write null)`);
      }
      return;
    case "bigint":
      return typeFail(`bigint ${value}n has no JSON form; store String(x) or a number, or use an i64/u64 layout`);
    case "undefined":
      return typeFail("undefined has no JSON form (JSON.stringify would drop it); omit the property or use null");
    case "function":
    case "symbol":
      return typeFail(`${describeValue(value)} has no JSON form`);
    default:
      break;
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= MAX_JSON_DEPTH) rangeFail(`the value is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (stack.includes(object)) typeFail("cyclic reference: the value contains itself, which JSON cannot express");
  stack.push(object);
  if (Array.isArray(object)) {
    const length = object.length;
    // `[a,b]` takes at least 2 bytes per element: give up early on huge (sparse) arrays.
    if (2 * length - 1 > maxBytes) {
      rangeFail(`an array of ${length} elements cannot fit in ${maxBytes} bytes of JSON text`);
    }
    for (let i = 0; i < length; i++) {
      try {
        if (!(i in object)) typeFail("a hole in a sparse array has no JSON form (JSON.stringify would write null)");
        validateJson((object as unknown[])[i], depth + 1, stack, maxBytes);
      } catch (error) {
        throw under(error, i);
      }
    }
  } else {
    if (!isPlainObject(object)) {
      typeFail(`${describeValue(object)} is not a plain object or array, so it does not read back as itself; convert it first (a view: .toJSON(), a Date: .toISOString())`);
    }
    for (const key of Object.keys(object)) {
      try {
        validateJson((object as Record<string, unknown>)[key], depth + 1, stack, maxBytes);
      } catch (error) {
        throw under(error, key);
      }
    }
  }
  stack.pop();
}

export class JsonLayoutImpl<T> extends BaseLayout<T> implements JsonLayout<T> {
  readonly kind = "json";
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
    this.size = alignUp(4 + maxBytes, 4);
    this.#name = `json(${maxBytes})`;
  }

  /** A fresh copy of the stored value; a never-written (zeroed) slot reads as `null`. */
  read(views: DataViews, offset: number): T {
    const length = storedLength(views, offset, this.maxBytes, this.#name);
    if (length === 0) return null as T;
    const start = offset + 4;
    const text = decodeUtf8(views.u8, start, start + length);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new RangeError(`${this.#name}: the stored text is not valid JSON; the shared memory is corrupted`);
    }
  }

  /** Validates and returns the JSON text to store. */
  prepare(value: unknown): string {
    validateJson(value, 0, [], this.maxBytes);
    const text = JSON.stringify(value);
    // JSON.stringify escapes lone surrogates, so its text is always well-formed. ASCII text (the common case) has as
    // many bytes as characters, which one native regex test tells ~3× faster than counting in a loop.
    const bytes = text.length <= this.maxBytes && ASCII_ONLY.test(text) ? text.length : utf8Length(text);
    if (bytes > this.maxBytes) {
      rangeFail(`the JSON text is ${bytes} bytes of UTF-8, over the budget of ${this.#name} (${this.maxBytes} bytes)`);
    }
    return text;
  }

  store(views: DataViews, offset: number, text: unknown): void {
    views.u32[offset >> 2] = encodeUtf8(text as string, views.u8, offset + 4, this.maxBytes);
  }

  snapshot(views: DataViews, offset: number): unknown {
    return this.read(views, offset);
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({ kind: "json", maxBytes: this.maxBytes }));
  }

  name(): string {
    return this.#name;
  }
}

/**
 * Any JSON value (null, booleans, finite numbers, strings, arrays and plain objects, nested), stored as its
 * JSON text in at most `maxBytes` bytes of UTF-8.
 *
 * Reading gives a fresh parsed copy: changing it changes nothing shared, so assign the whole value to write
 * (`g.value = { ...g.value, n: 2 }`). A slot that was never written reads as `null`.
 *
 * Writing validates strictly, so that what you read back equals what you wrote: `undefined` (even as an
 * object property), functions, symbols and bigints are a `TypeError`, and so are cycles, sparse-array holes
 * and non-plain objects (`Date`, `Map`, class instances); `NaN` and the infinities are a `RangeError`, as is
 * text over the budget.
 *
 * The type parameter only states what you store; it is not checked against the value's shape.
 *
 * @example
 * const config = new Mutex(json<{ retries: number; hosts: string[] }>(1024), { retries: 3, hosts: [] });
 */
export function json(maxBytes: number): JsonLayout<JsonValue>;
/** `json(maxBytes)` with a stated value type, e.g. `json<{ hosts: string[] }>(1024)`; the shape is not checked. */
export function json<T>(maxBytes: number): JsonLayout<T>;
export function json<T>(maxBytes: number): JsonLayout<T> {
  return new JsonLayoutImpl<T>(checkBudget("json", maxBytes));
}
