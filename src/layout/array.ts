/** `array(element, length)`: a fixed number of elements of one layout, read as a live view. */

import type { DataViews, Layout, LayoutDescriptor, Liveness } from "./layout.js";
import {
  BaseLayout,
  INSPECT,
  KEY,
  LAYOUT,
  LIVENESS,
  MAX_DEPTH,
  MAX_ELEMENTS,
  MAX_NODES,
  MAX_SIZE,
  OFFSET,
  PARENT,
  RawBytes,
  VIEWS,
  describeValue,
  formatValue,
  located,
  pathOf,
  rangeFail,
  readOnlyFail,
  sameLayout,
  typeFail,
  under,
  type Key,
  type ViewState,
} from "./internal.js";
import { memberLayout } from "./struct.js";
import type { ArrayView, Assignable, Snapshot } from "./types.js";
import { MISSING, viewClass, type ViewConstructor } from "./view-class.js";

/** An `array` layout: `length` elements of `element`, read as an {@link ArrayView}. */
export interface ArrayLayout<E> extends Layout<ArrayView<E>> {
  readonly kind: "array";
  readonly element: Layout<E>;
  readonly length: number;
  /** Bytes from one element to the next (the element's size). */
  readonly stride: number;
}

/**
 * The methods every array view has. Never instantiated: its members are copied onto the prototype of the
 * view class each array layout builds once (see `view-class.ts`). Indexing (`view[i]`) reaches the layout's tail,
 * which calls `get`/`set`; calling `get`/`set` directly skips that step.
 */
export abstract class ArrayViewMethods<E> implements ViewState {
  declare readonly [LAYOUT]: ArrayLayoutImpl<E>;
  declare [VIEWS]: DataViews;
  declare [OFFSET]: number;
  declare [LIVENESS]: Liveness;
  declare [PARENT]: ViewState | undefined;
  declare [KEY]: Key | undefined;

  get length(): number {
    this[LIVENESS].assertLive();
    return this[LAYOUT].length;
  }

  get(index: number): E {
    const liveness = this[LIVENESS];
    liveness.assertLive();
    const layout = this[LAYOUT];
    if (!(index >>> 0 === index && index < layout.length)) indexError(this, index);
    return layout.element.readChild(this[VIEWS], this[OFFSET] + index * layout.stride, liveness, this, index);
  }

  set(index: number, value: Assignable<E>): void {
    const liveness = this[LIVENESS];
    liveness.assertLive();
    if (liveness.readOnly === true) readOnlyFail(`${pathOf(this)}[${index}]`);
    const layout = this[LAYOUT];
    if (!(index >>> 0 === index && index < layout.length)) indexError(this, index);
    let prepared: unknown;
    try {
      prepared = layout.element.prepare(value);
    } catch (error) {
      throw located(error, `${pathOf(this)}[${index}]`);
    }
    layout.element.store(this[VIEWS], this[OFFSET] + index * layout.stride, prepared);
  }

  *[Symbol.iterator](): IterableIterator<E> {
    const length = this[LAYOUT].length;
    for (let i = 0; i < length; i++) yield this.get(i);
  }

  toArray(): Snapshot<E>[] {
    this[LIVENESS].assertLive();
    return this[LAYOUT].snapshot(this[VIEWS], this[OFFSET]) as Snapshot<E>[];
  }

  toJSON(): Snapshot<E>[] {
    return this.toArray();
  }

  /** Readable text of the current elements, like `[1, 2, 3]`. */
  toString(): string {
    return formatValue(this.toArray());
  }

  /** Node's `util.inspect` (and `console.log`) show the current elements, or that the guard was released. */
  [INSPECT](): unknown {
    try {
      return this.toArray();
    } catch (error) {
      return `[array view: ${error instanceof Error ? error.message : String(error)}]`;
    }
  }
}

/** True for a view that an array layout's read gave. */
export function isArrayView(value: unknown): value is ArrayViewMethods<unknown> {
  return typeof value === "object" && value !== null && (value as Partial<ArrayViewMethods<unknown>>)[LAYOUT] instanceof ArrayLayoutImpl;
}

function indexError(view: ArrayViewMethods<unknown>, index: unknown): never {
  const layout = view[LAYOUT];
  const what = typeof index === "number" ? String(index) : describeValue(index);
  const range = layout.length === 0 ? "it has no elements" : `indices are 0 to ${layout.length - 1}`;
  throw new RangeError(`${pathOf(view)}: index ${what} is out of range for ${layout.name()} (${range})`);
}

/**
 * For a property key: the number it names when it is a canonical numeric string (`"3"`, `"-1"`, `"1.5"`,
 * `"NaN"`), else `undefined` (an ordinary property such as `length` or `get`).
 */
function numericKey(key: string): number | undefined {
  const c = key.charCodeAt(0);
  // Digits, '-', 'I' (Infinity), 'N' (NaN): anything else is not numeric.
  if (!((c >= 48 && c <= 57) || c === 45 || c === 73 || c === 78)) return undefined;
  const n = Number(key);
  return String(n) === key ? n : undefined;
}

export class ArrayLayoutImpl<E> extends BaseLayout<ArrayView<E>> implements ArrayLayout<E> {
  readonly kind = "array";
  readonly element: BaseLayout<E>;
  readonly length: number;
  readonly stride: number;
  readonly size: number;
  readonly align: number;
  readonly depth: number;
  readonly nodes: number;
  readonly elements: number;
  readonly #View: ViewConstructor;
  #descriptor: LayoutDescriptor | undefined;
  #name: string | undefined;

  /** Throws a public `RangeError` when the array breaks a limit; `length` is a valid integer. */
  constructor(element: BaseLayout<E>, length: number) {
    super();
    const depth = element.depth + 1;
    const nodes = element.nodes + 1;
    const size = element.size * length;
    const elements = Math.max(1, element.elements * length);
    if (depth > MAX_DEPTH) throw new RangeError(`array: layouts nest at most ${MAX_DEPTH} levels deep`);
    if (nodes > MAX_NODES) throw new RangeError(`array: a layout may have at most ${MAX_NODES} nodes (fields and elements), this one has ${nodes}`);
    if (size > MAX_SIZE) throw new RangeError(`array: ${length} × ${element.size} bytes is ${size} bytes, over the limit of ${MAX_SIZE} bytes (1 GiB)`);
    if (elements > MAX_ELEMENTS) throw new RangeError(`array: the array holds ${elements} values, over the limit of ${MAX_ELEMENTS}; for raw data use bytes(length)`);
    this.element = element;
    this.length = length;
    this.stride = element.size;
    this.size = size;
    this.align = element.align;
    this.depth = depth;
    this.nodes = nodes;
    this.elements = elements;
    this.#View = viewClass("ArrayView", this, ArrayViewMethods.prototype, {
      get: (view, key) => {
        const index = numericKey(key);
        return index === undefined ? MISSING : (view as ArrayViewMethods<E>).get(index);
      },
      set: (view, key, value) => {
        const index = numericKey(key);
        if (index !== undefined) {
          (view as ArrayViewMethods<E>).set(index, value as Assignable<E>);
          return true;
        }
        view[LIVENESS].assertLive();
        throw new TypeError(`${pathOf(view)}: cannot set ${JSON.stringify(key.slice(0, 40))} on an array view; only its elements can be set (indices 0 to ${length - 1})`);
      },
      has: (key) => {
        const index = numericKey(key);
        return index === undefined ? undefined : index >>> 0 === index && index < length;
      },
    });
  }

  read(views: DataViews, offset: number, liveness: Liveness): ArrayView<E> {
    return new this.#View(views, offset, liveness, undefined, undefined) as unknown as ArrayView<E>;
  }

  override readChild(views: DataViews, offset: number, liveness: Liveness, parent: ViewState, key: Key): ArrayView<E> {
    return new this.#View(views, offset, liveness, parent, key) as unknown as ArrayView<E>;
  }

  prepare(value: unknown): unknown[] | RawBytes {
    if (typeof value !== "object" || value === null) {
      typeFail(`expected an array of ${this.length} elements for ${this.name()}, got ${describeValue(value)}`);
    }
    let source = value as ArrayLike<unknown>;
    if (isArrayView(value)) {
      const view = value;
      view[LIVENESS].assertLive();
      const layout = view[LAYOUT];
      if (sameLayout(layout, this)) {
        const start = view[OFFSET];
        return new RawBytes(view[VIEWS].u8.slice(start, start + this.size));
      }
      source = layout.snapshot(view[VIEWS], view[OFFSET]);
    }
    const length: unknown = source.length;
    if (typeof length !== "number") {
      typeFail(`expected an array of ${this.length} elements for ${this.name()}, got ${describeValue(value)} without a length`);
    }
    if (length !== this.length) {
      rangeFail(`expected exactly ${this.length} elements for ${this.name()}, got ${length}`);
    }
    const element = this.element;
    const prepared = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      try {
        prepared[i] = element.prepare(source[i]);
      } catch (error) {
        throw under(error, i);
      }
    }
    return prepared;
  }

  store(views: DataViews, offset: number, prepared: unknown): void {
    if (prepared instanceof RawBytes) {
      views.u8.set(prepared.bytes, offset);
      return;
    }
    const values = prepared as unknown[];
    const element = this.element;
    const stride = this.stride;
    for (let i = 0; i < values.length; i++) element.store(views, offset + i * stride, values[i]);
  }

  snapshot(views: DataViews, offset: number): unknown[] {
    const out = new Array<unknown>(this.length);
    const element = this.element;
    const stride = this.stride;
    for (let i = 0; i < out.length; i++) out[i] = element.snapshot(views, offset + i * stride);
    return out;
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({ kind: "array", element: this.element.describe(), length: this.length }));
  }

  name(budget = 80): string {
    if (budget === 80 && this.#name !== undefined) return this.#name;
    const text = `array(${this.element.name(budget - 10)}, ${this.length})`;
    if (budget === 80) this.#name = text;
    return text;
  }
}

/**
 * A fixed-length array of `length` elements of one layout, stored back to back (each element's size is
 * already a multiple of its alignment).
 *
 * **Reading** gives a live {@link ArrayView}: `view[i]`, `view.get(i)`, `view.set(i, v)`, `view.length`,
 * iteration, `toArray()` (plain copy) and `toJSON()`. An index outside `0 … length - 1` is a `RangeError`;
 * every access throws once the guard is released.
 *
 * **Writing** takes any array-like of exactly `length` elements (a plain array, a typed array, another
 * view); every element is validated before any byte is written.
 *
 * For raw binary data prefer {@link bytes}, which copies in one call.
 *
 * @example
 * const scores = new Mutex(array(u16, 4), [0, 0, 0, 0]);
 * scores.with((g) => { g.value[2] += 10; });
 * scores.with((g) => g.value.toArray());   // [0, 0, 10, 0]
 */
export function array<E>(element: Layout<E>, length: number): ArrayLayout<E> {
  const member = memberLayout(element, "array(element, length): element") as BaseLayout<E>;
  if (typeof length !== "number") {
    throw new TypeError(`array(element, length): length must be a number, got ${describeValue(length)}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_ELEMENTS) {
    throw new RangeError(`array(element, length): length must be an integer from 0 to ${MAX_ELEMENTS}, got ${length}`);
  }
  return new ArrayLayoutImpl(member, length);
}
