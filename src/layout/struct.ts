/** `struct({ field: layout, … })`: named fields laid out like a C struct, read as a live view. */

import type { DataViews, Infer, Layout, LayoutDescriptor, Liveness } from "./layout.js";
import { viewClass, type ViewConstructor } from "./view-class.js";
import { compileStructCodecs, type StructCodecs } from "./struct-codecs.js";
import {
  BaseLayout,
  INSPECT,
  KEY,
  LAYOUT,
  LIVENESS,
  MAX_DEPTH,
  MAX_ELEMENTS,
  MAX_FIELD_NAME_LENGTH,
  MAX_NODES,
  MAX_SIZE,
  OFFSET,
  PARENT,
  RawBytes,
  readOnlyFail,
  VIEWS,
  alignUp,
  describeValue,
  formatKey,
  formatValue,
  located,
  pathOf,
  sameLayout,
  typeFail,
  under,
  type Key,
  type ViewState,
} from "./internal.js";

/** One field of a struct layout, with its byte offset inside the struct. */
export interface StructField {
  readonly name: string;
  readonly layout: Layout<unknown>;
  readonly offset: number;
}

/**
 * A `struct` layout. Its value type `T` is the plain object type (`{ x: number; y: number }`); a read gives a
 * live view of that shape (see {@link struct}).
 */
export interface StructLayout<T extends object> extends Layout<T> {
  readonly kind: "struct";
  /** The fields in layout order, with their offsets. */
  readonly fields: readonly StructField[];
}

/**
 * Field names a struct cannot have: `__proto__` (prototype pollution when copied into a plain object), and
 * the names of the methods every view has.
 */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "toJSON", "toString", "valueOf"]);

/** Why `name` cannot be a field name, or `undefined` when it can. */
export function fieldNameProblem(name: string): string | undefined {
  if (RESERVED_FIELD_NAMES.has(name)) {
    return `${JSON.stringify(name)} is reserved and cannot be a field name (reserved: ${[...RESERVED_FIELD_NAMES].join(", ")})`;
  }
  if (name.length > MAX_FIELD_NAME_LENGTH) {
    return `a field name of ${name.length} characters is longer than the limit of ${MAX_FIELD_NAME_LENGTH}`;
  }
  return undefined;
}

/**
 * The methods every struct view has. Never instantiated: its members are copied onto the prototype of the
 * view class each struct layout builds once (see `view-class.ts`), next to one accessor per field.
 */
export abstract class StructViewMethods implements ViewState {
  declare readonly [LAYOUT]: StructLayoutImpl<object>;
  declare [VIEWS]: DataViews;
  declare [OFFSET]: number;
  declare [LIVENESS]: Liveness;
  declare [PARENT]: ViewState | undefined;
  declare [KEY]: Key | undefined;

  /** A plain copy of the struct: nested views become plain objects and arrays. */
  toJSON(): Record<string, unknown> {
    this[LIVENESS].assertLive();
    return this[LAYOUT].snapshot(this[VIEWS], this[OFFSET]);
  }

  /** Readable text of the current value, like `{ x: 1, y: 2 }`. */
  toString(): string {
    return formatValue(this.toJSON());
  }

  /** Node's `util.inspect` (and `console.log`) show the current value, or that the guard was released. */
  [INSPECT](): unknown {
    try {
      return this.toJSON();
    } catch (error) {
      return `[struct view: ${error instanceof Error ? error.message : String(error)}]`;
    }
  }
}

/** True for a view that a struct layout's read gave. */
export function isStructView(value: unknown): value is StructViewMethods {
  return typeof value === "object" && value !== null && (value as Partial<StructViewMethods>)[LAYOUT] instanceof StructLayoutImpl;
}

function fieldAccessor(layout: BaseLayout<unknown>, offset: number, name: string): PropertyDescriptor {
  const nested = layout.depth > 0;
  return {
    get(this: StructViewMethods): unknown {
      const liveness = this[LIVENESS];
      liveness.assertLive();
      return nested
        ? layout.readChild(this[VIEWS], this[OFFSET] + offset, liveness, this, name)
        : layout.read(this[VIEWS], this[OFFSET] + offset, liveness);
    },
    set(this: StructViewMethods, value: unknown): void {
      const liveness = this[LIVENESS];
      liveness.assertLive();
      if (liveness.readOnly === true) readOnlyFail(pathOf(this) + formatKey(name));
      let prepared: unknown;
      try {
        prepared = layout.prepare(value);
      } catch (error) {
        throw located(error, pathOf(this) + formatKey(name));
      }
      layout.store(this[VIEWS], this[OFFSET] + offset, prepared);
    },
    enumerable: true,
    configurable: false,
  };
}

export class StructLayoutImpl<T extends object> extends BaseLayout<T> implements StructLayout<T> {
  readonly kind = "struct";
  readonly size: number;
  readonly align: number;
  readonly depth: number;
  readonly nodes: number;
  readonly elements: number;
  readonly fields: readonly StructField[];
  readonly #names: readonly string[];
  readonly #layouts: readonly BaseLayout<unknown>[];
  readonly #offsets: readonly number[];
  readonly #index: ReadonlyMap<string, number>;
  readonly #View: ViewConstructor;
  /** Compiled hot paths (struct-codecs.ts): undefined until first used, null where they cannot be compiled. */
  #codecs: StructCodecs | null | undefined;
  #descriptor: LayoutDescriptor | undefined;
  #name: string | undefined;

  /** Throws a public `TypeError`/`RangeError` when the fields break a rule or a limit. */
  constructor(entries: ReadonlyArray<readonly [string, BaseLayout<unknown>]>) {
    super();
    const names: string[] = [];
    const layouts: BaseLayout<unknown>[] = [];
    const offsets: number[] = [];
    const index = new Map<string, number>();
    let size = 0;
    let align = 1;
    let depth = 0;
    let nodes = 1;
    let elements = 0;
    for (const [name, layout] of entries) {
      const problem = fieldNameProblem(name);
      if (problem !== undefined) throw new TypeError(`struct: ${problem}`);
      if (index.has(name)) throw new TypeError(`struct: duplicate field ${JSON.stringify(name)}`);
      index.set(name, names.length);
      size = alignUp(size, layout.align);
      names.push(name);
      layouts.push(layout);
      offsets.push(size);
      size += layout.size;
      align = Math.max(align, layout.align);
      depth = Math.max(depth, layout.depth);
      nodes += layout.nodes;
      elements += layout.elements;
    }
    size = alignUp(size, align);
    depth += 1;
    elements = Math.max(1, elements);
    if (depth > MAX_DEPTH) throw new RangeError(`struct: layouts nest at most ${MAX_DEPTH} levels deep`);
    if (nodes > MAX_NODES) throw new RangeError(`struct: a layout may have at most ${MAX_NODES} nodes (fields and elements), this one has ${nodes}`);
    if (size > MAX_SIZE) throw new RangeError(`struct: the struct is ${size} bytes, over the limit of ${MAX_SIZE} bytes (1 GiB)`);
    if (elements > MAX_ELEMENTS) throw new RangeError(`struct: the struct holds ${elements} values, over the limit of ${MAX_ELEMENTS}`);

    this.size = size;
    this.align = align;
    this.depth = depth;
    this.nodes = nodes;
    this.elements = elements;
    this.#names = names;
    this.#layouts = layouts;
    this.#offsets = offsets;
    this.#index = index;
    this.fields = Object.freeze(names.map((name, i) => Object.freeze({ name, layout: layouts[i], offset: offsets[i] })));

    const View = viewClass("StructView", this, StructViewMethods.prototype, {
      set: (view, key) => {
        view[LIVENESS].assertLive();
        throw new TypeError(`${pathOf(view)}: the struct has no field ${JSON.stringify(key.slice(0, 40))} (the fields are ${this.#fieldList()})`);
      },
    });
    for (let i = 0; i < names.length; i++) {
      Object.defineProperty(View.prototype, names[i], fieldAccessor(layouts[i], offsets[i], names[i]));
    }
    this.#View = View;
  }

  read(views: DataViews, offset: number, liveness: Liveness): T {
    return new this.#View(views, offset, liveness, undefined, undefined) as unknown as T;
  }

  override readChild(views: DataViews, offset: number, liveness: Liveness, parent: ViewState, key: Key): T {
    return new this.#View(views, offset, liveness, parent, key) as unknown as T;
  }

  prepare(value: unknown): unknown[] | RawBytes {
    if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
      typeFail(`expected an object with fields ${this.#fieldList()} for ${this.name()}, got ${describeValue(value)}`);
    }
    let source = value as Record<string, unknown>;
    if (isStructView(value)) {
      value[LIVENESS].assertLive();
      const layout = value[LAYOUT];
      if (sameLayout(layout, this)) {
        const start = value[OFFSET];
        return new RawBytes(value[VIEWS].u8.slice(start, start + this.size));
      }
      source = layout.snapshot(value[VIEWS], value[OFFSET]);
    }
    const fast = this.#compiled()?.prepare(source);
    if (fast !== undefined) return fast;
    const names = this.#names;
    const layouts = this.#layouts;
    const prepared = new Array<unknown>(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!Object.hasOwn(source, name)) {
        typeFail(`missing field ${JSON.stringify(name)} (the fields are ${this.#fieldList()})`);
      }
      try {
        prepared[i] = layouts[i].prepare(source[name]);
      } catch (error) {
        throw under(error, name);
      }
    }
    for (const key of Object.keys(source)) {
      if (!this.#index.has(key)) {
        typeFail(`unknown field ${JSON.stringify(key.slice(0, 40))} (the fields are ${this.#fieldList()})`);
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
    const codecs = this.#compiled();
    if (codecs) return codecs.store(views, offset, values);
    const layouts = this.#layouts;
    const offsets = this.#offsets;
    for (let i = 0; i < layouts.length; i++) layouts[i].store(views, offset + offsets[i], values[i]);
  }

  snapshot(views: DataViews, offset: number): Record<string, unknown> {
    const codecs = this.#compiled();
    if (codecs) return codecs.snapshot(views, offset);
    const out: Record<string, unknown> = {};
    const names = this.#names;
    const layouts = this.#layouts;
    const offsets = this.#offsets;
    for (let i = 0; i < names.length; i++) out[names[i]] = layouts[i].snapshot(views, offset + offsets[i]);
    return out;
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({
      kind: "struct",
      fields: Object.freeze(this.#names.map((name, i) => Object.freeze([name, this.#layouts[i].describe()] as const))),
    }));
  }

  name(budget = 80): string {
    if (budget === 80 && this.#name !== undefined) return this.#name;
    let text = "struct {";
    for (let i = 0; i < this.#names.length; i++) {
      if (text.length > budget) {
        text += " …";
        break;
      }
      text += `${i === 0 ? " " : ", "}${formatKey(this.#names[i]).replace(/^\./, "")}: ${this.#layouts[i].name(budget - text.length)}`;
    }
    text += this.#names.length === 0 ? "}" : " }";
    if (budget === 80) this.#name = text;
    return text;
  }

  #compiled(): StructCodecs | null {
    if (this.#codecs === undefined) this.#codecs = compileStructCodecs(this.#names, this.#layouts, this.#offsets) ?? null;
    return this.#codecs;
  }

  #fieldList(): string {
    const list = this.#names.slice(0, 8).map((name) => JSON.stringify(name)).join(", ");
    return this.#names.length === 0 ? "(none)" : this.#names.length > 8 ? `${list}, …` : list;
  }
}

/** Turns anything passed as a member layout into one of ours, or throws a `TypeError`. */
export type LayoutResolver = (layout: unknown, where: string) => BaseLayout<unknown>;

let resolveLayout: LayoutResolver = (layout, where) => {
  if (layout instanceof BaseLayout) return layout;
  throw new TypeError(`${where} is not a layout, got ${describeValue(layout)}`);
};

/** Lets `descriptor.ts` accept layouts from another copy of this library (rebuilt from their descriptors). */
export function setLayoutResolver(resolver: LayoutResolver): void {
  resolveLayout = resolver;
}

/** Resolves a member layout passed to a factory. */
export function memberLayout(layout: unknown, where: string): BaseLayout<unknown> {
  return resolveLayout(layout, where);
}

/**
 * A struct: named fields laid out in order like a C struct, each at its natural alignment; the struct's
 * alignment is its largest field's, and its size is padded to that alignment.
 *
 * Field order is the object's key order, so integer-like names (`"0"`, `"42"`) come first, in ascending
 * order, as in every JS object. The names `__proto__`, `constructor`, `toJSON`, `toString` and `valueOf` are
 * reserved.
 *
 * **Reading** gives a live view: each field is a getter/setter on shared memory, and a nested `struct` or
 * `array` field gives a nested live view. Every access throws once the guard is released. Views are not
 * plain objects: their fields live on the prototype, so `{ ...view }` and `Object.keys(view)` see nothing;
 * use {@link snapshot} (or `view.toJSON()`, which the plain type does not show) for a plain copy, which is
 * also what to send to another thread: `structuredClone`/`postMessage` of a view copy nothing.
 * `JSON.stringify(view)` works too. Assigning a name that is not a field (`view.typo = 1`) is a `TypeError`.
 *
 * **Writing** (assigning the guard's value, or a struct-typed field) takes an object whose own enumerable
 * properties are exactly the fields (a missing or unknown field is a `TypeError` naming it), or a view of a
 * struct with the same fields. Every field is validated before any byte is written.
 *
 * @example
 * const Point = struct({ x: f64, y: f64 });
 * const p = new Mutex(Point, { x: 0, y: 0 });
 * p.with((g) => { g.value.x += 1; });              // one field, in place
 * p.with((g) => { g.value = { x: 3, y: 4 }; });    // every field
 * type P = Infer<typeof Point>;                     // { x: number; y: number }
 */
export function struct<F extends { readonly [name: string]: Layout<unknown> }>(fields: F): StructLayout<{ -readonly [K in keyof F]: Infer<F[K]> }> {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new TypeError(`struct(fields): fields must be an object mapping names to layouts, got ${describeValue(fields)}`);
  }
  const entries: Array<readonly [string, BaseLayout<unknown>]> = [];
  for (const name of Object.keys(fields)) {
    entries.push([name, memberLayout(fields[name], `struct(fields): field ${JSON.stringify(name)}`)]);
  }
  return new StructLayoutImpl(entries);
}
