/**
 * Machinery shared by every layout in this room: the base class, the limits, and the error plumbing that
 * turns a failed validation deep inside a nested value into one `TypeError`/`RangeError` naming the full path
 * (`value.pos.x`, `value[3].name`).
 *
 * Nothing here is exported from the package entry point except through `index.ts`.
 */

import type { DataViews, Layout, LayoutDescriptor, Liveness } from "./layout.js";

/** Largest layout, in bytes: 1 GiB. */
export const MAX_SIZE = 2 ** 30;
/** Deepest nesting of `struct`/`array` layouts. */
export const MAX_DEPTH = 32;
/** Most nodes (layouts, counting every struct field and array element layout once) in one layout tree. */
export const MAX_NODES = 65_536;
/** Most values (leaves, counting every array element) that reading a whole layout can produce. */
export const MAX_ELEMENTS = 2 ** 28;
/** Longest struct field name, in UTF-16 code units. */
export const MAX_FIELD_NAME_LENGTH = 1024;

/** One step of a path: a field name or an array index. */
export type Key = string | number;

/**
 * A validation failure on its way out. Nested layouts push their key as it bubbles up; the public entry point
 * (`check`, `write`, a view's setter, `layoutFromDescriptor`) turns it into a real error with the full path.
 * Never escapes this room.
 */
export class Invalid {
  /** Keys from the innermost outwards. */
  readonly keys: Key[] = [];
  constructor(
    readonly type: "type" | "range",
    readonly message: string,
  ) {}
}

/** Throws an internal failure that becomes a `TypeError`. */
export function typeFail(message: string): never {
  throw new Invalid("type", message);
}

/** Throws an internal failure that becomes a `RangeError`. */
export function rangeFail(message: string): never {
  throw new Invalid("range", message);
}

/** Records that a failure happened under `key`, and returns it for rethrowing. */
export function under(error: unknown, key: Key): unknown {
  if (error instanceof Invalid) error.keys.push(key);
  return error;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `.name`, `["odd name"]` or `[3]`. */
export function formatKey(key: Key): string {
  if (typeof key === "number") return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Converts an internal failure into the public error, prefixed with `base` and the keys it collected. */
export function located(error: unknown, base: string): unknown {
  if (!(error instanceof Invalid)) return error;
  let path = base;
  for (let i = error.keys.length - 1; i >= 0; i--) path += formatKey(error.keys[i]);
  const message = `${path}: ${error.message}`;
  return error.type === "type" ? new TypeError(message) : new RangeError(message);
}

/** Formats a number for a message: keeps `-0` visible. */
export function formatNumber(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/** Quotes a string for a message, shortened when long. */
export function quote(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/** A short, safe description of any value for an error message (`number 1.5`, `string "x"`, `an array of 3`). */
export function describeValue(value: unknown): string {
  try {
    switch (typeof value) {
      case "string":
        return `string ${quote(value)}`;
      case "number":
        return `number ${formatNumber(value)}`;
      case "bigint":
        return `bigint ${value}n`;
      case "boolean":
        return `boolean ${value}`;
      case "undefined":
        return "undefined";
      case "symbol":
        return "a symbol";
      case "function":
        return "a function";
      default: {
        if (value === null) return "null";
        if (Array.isArray(value)) return `an array of ${value.length}`;
        if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
        const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
        return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object";
      }
    }
  } catch {
    return "an unreadable value";
  }
}

/** Rounds `n` up to a multiple of `align` (a power of two). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

// ---------------------------------------------------------------------------------------------------------
// views

/** Where a view's data lives (instance field of every struct and array view). */
export const VIEWS: unique symbol = Symbol("threadsafe.layout.views");
/** Byte offset of a view's value (instance field). */
export const OFFSET: unique symbol = Symbol("threadsafe.layout.offset");
/** The guard a view belongs to (instance field). */
export const LIVENESS: unique symbol = Symbol("threadsafe.layout.liveness");
/** The view this one was read from, for error paths (instance field). */
export const PARENT: unique symbol = Symbol("threadsafe.layout.parent");
/** This view's field name or index in its parent (instance field). */
export const KEY: unique symbol = Symbol("threadsafe.layout.key");
/** A view's layout (on the prototype of the view class built once per layout). */
export const LAYOUT: unique symbol = Symbol("threadsafe.layout.layout");
/** Node's `util.inspect.custom`, without importing `node:util`. */
export const INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** The state every struct and array view carries. */
export interface ViewState {
  [VIEWS]: DataViews;
  [OFFSET]: number;
  [LIVENESS]: Liveness;
  [PARENT]: ViewState | undefined;
  [KEY]: Key | undefined;
}

/** The path of a view from the guard's value: `value`, `value.pos`, `value.items[3]`. */
export function pathOf(view: ViewState): string {
  const keys: Key[] = [];
  for (let v: ViewState | undefined = view; v[PARENT] !== undefined; v = v[PARENT]) keys.push(v[KEY]!);
  let path = "value";
  for (let i = keys.length - 1; i >= 0; i--) path += formatKey(keys[i]);
  return path;
}

/** Readable, JS-like text of a snapshot: `{ x: 1, id: 5n, tags: ["a"] }`. */
export function formatValue(value: unknown, depth = 0): string {
  switch (typeof value) {
    case "bigint":
      return `${value}n`;
    case "number":
      return formatNumber(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (depth > 8) return "…";
      if (value instanceof Uint8Array) return `Uint8Array(${value.length}) [${Array.from(value.subarray(0, 16)).join(", ")}${value.length > 16 ? ", …" : ""}]`;
      if (Array.isArray(value)) return `[${value.map((item) => formatValue(item, depth + 1)).join(", ")}]`;
      const entries = Object.keys(value).map((key) => `${formatKey(key).replace(/^\./, "")}: ${formatValue((value as Record<string, unknown>)[key], depth + 1)}`);
      return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
    }
    default:
      return String(value);
  }
}

/** Prepared bytes of a value copied from a view of an identical layout: stored with one `Uint8Array.set`. */
export class RawBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** Throws the `TypeError` of a write through a view of a read-only guard (see `Liveness.readOnly`). */
export function readOnlyFail(path: string): never {
  throw new TypeError(`${path}: read-only: this view belongs to a read guard; take a write guard to change the value`);
}

/** A liveness that is always live: used where a read cannot produce a view. */
export const ALWAYS_LIVE: Liveness = { assertLive() {} };

/**
 * Base of every layout in this room. Adds the internal protocol that lets containers validate a whole value
 * before writing a byte:
 * - `prepare(value)` validates and returns something `store` can write (the value itself for numbers, the
 *   JSON text for `json`, an array of prepared members for `struct`/`array`); it reads each user property
 *   once, so a getter cannot change its answer between the check and the write.
 * - `store(views, offset, prepared)` writes without checking.
 * - `snapshot(views, offset)` reads a plain deep copy (views become plain objects and arrays).
 */
export abstract class BaseLayout<T> implements Layout<T> {
  abstract readonly kind: LayoutDescriptor["kind"];
  abstract readonly size: number;
  abstract readonly align: number;
  /** Nesting depth: 0 for a leaf, 1 + the deepest member for `struct`/`array`. */
  abstract readonly depth: number;
  /** Nodes in the layout tree, this one included. */
  abstract readonly nodes: number;
  /** Values a full snapshot produces (at least 1). */
  abstract readonly elements: number;

  #key: string | undefined;

  abstract read(views: DataViews, offset: number, liveness: Liveness): T;

  /** Like `read`, for a member of a view: `struct`/`array` remember their parent and key for error paths. */
  readChild(views: DataViews, offset: number, liveness: Liveness, _parent: object, _key: Key): T {
    return this.read(views, offset, liveness);
  }

  abstract prepare(value: unknown): unknown;
  abstract store(views: DataViews, offset: number, prepared: unknown): void;
  abstract snapshot(views: DataViews, offset: number): unknown;
  abstract describe(): LayoutDescriptor;
  /** Short human name: `i32`, `string(8)`, `array(u8, 4)`, `struct { x: f64, y: f64 }`. */
  abstract name(budget?: number): string;

  write(views: DataViews, offset: number, value: T): void {
    let prepared: unknown;
    try {
      prepared = this.prepare(value);
    } catch (error) {
      throw located(error, "value");
    }
    this.store(views, offset, prepared);
  }

  check(value: unknown, path: string): void {
    try {
      this.prepare(value);
    } catch (error) {
      throw located(error, path);
    }
  }

  /** Canonical text of the descriptor: two layouts with the same key store values identically. */
  get key(): string {
    return (this.#key ??= JSON.stringify(this.describe()));
  }

  toString(): string {
    return this.name();
  }
}

/** True when two layouts store values identically (same descriptor). */
export function sameLayout(a: BaseLayout<unknown>, b: BaseLayout<unknown>): boolean {
  return a === b || a.key === b.key;
}
