/**
 * `layoutFromDescriptor`: rebuilds a layout from its plain-JSON description, which arrives from another thread
 * and is treated as untrusted: anything malformed, forged or absurd is a clear `TypeError`/`RangeError`.
 */

import type { Layout, LayoutDescriptor, PrimitiveKind } from "./layout.js";
import { ArrayLayoutImpl } from "./array.js";
import { BytesLayoutImpl } from "./bytes.js";
import {
  BaseLayout,
  Invalid,
  MAX_DEPTH,
  MAX_ELEMENTS,
  MAX_NODES,
  MAX_SIZE,
  describeValue,
  located,
  rangeFail,
  typeFail,
  under,
} from "./internal.js";
import { JsonLayoutImpl } from "./json.js";
import { PRIMITIVES } from "./primitives.js";
import { StringLayoutImpl } from "./string.js";
import { StructLayoutImpl, fieldNameProblem, setLayoutResolver } from "./struct.js";

const KEYS: Readonly<Record<LayoutDescriptor["kind"], readonly string[]>> = {
  bool: ["kind"],
  i8: ["kind"],
  u8: ["kind"],
  i16: ["kind"],
  u16: ["kind"],
  i32: ["kind"],
  u32: ["kind"],
  f32: ["kind"],
  f64: ["kind"],
  i64: ["kind"],
  u64: ["kind"],
  string: ["kind", "maxBytes"],
  bytes: ["kind", "length"],
  json: ["kind", "maxBytes"],
  array: ["kind", "element", "length"],
  struct: ["kind", "fields"],
};

interface BuildState {
  /** Distinct descriptor objects visited. */
  nodes: number;
  /** Descriptor objects on the current path, to detect cycles. */
  readonly ancestors: Set<object>;
  /**
   * Layouts already built, by descriptor object: a shared sub-descriptor (a DAG, which structured clone
   * preserves) is built once, so a small forged DAG cannot make the walk exponential. Its expanded size is
   * still checked, by the layouts' own node, size and element limits.
   */
  readonly built: Map<object, BaseLayout<unknown>>;
}

function ownValue(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

function integerIn(value: unknown, what: string, max: number): number {
  if (typeof value !== "number") typeFail(`${what} must be a number, got ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    rangeFail(`${what} must be an integer from 0 to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function build(descriptor: unknown, depth: number, state: BuildState): BaseLayout<unknown> {
  if (depth > MAX_DEPTH) rangeFail(`layouts nest at most ${MAX_DEPTH} levels deep`);
  if (typeof descriptor !== "object" || descriptor === null || Array.isArray(descriptor)) {
    typeFail(`expected a layout descriptor object like { kind: "i32" }, got ${describeValue(descriptor)}`);
  }
  if (state.ancestors.has(descriptor)) typeFail("the descriptor is cyclic (it contains itself)");
  const known = state.built.get(descriptor);
  if (known !== undefined) {
    if (known.depth + depth > MAX_DEPTH) rangeFail(`layouts nest at most ${MAX_DEPTH} levels deep`);
    return known;
  }
  if (++state.nodes > MAX_NODES) rangeFail(`a layout may have at most ${MAX_NODES} nodes (fields and elements)`);
  const layout = buildNew(descriptor, depth, state);
  state.built.set(descriptor, layout);
  return layout;
}

function buildNew(descriptor: object, depth: number, state: BuildState): BaseLayout<unknown> {
  const kind = ownValue(descriptor, "kind");
  if (typeof kind !== "string" || !Object.hasOwn(KEYS, kind)) {
    typeFail(`unknown layout kind ${typeof kind === "string" ? JSON.stringify(kind.slice(0, 40)) : describeValue(kind)} (expected one of ${Object.keys(KEYS).join(", ")})`);
  }
  const allowed = KEYS[kind as LayoutDescriptor["kind"]];
  for (const key of Object.keys(descriptor)) {
    if (!allowed.includes(key)) typeFail(`unexpected property ${JSON.stringify(key.slice(0, 40))} in a ${kind} descriptor (allowed: ${allowed.join(", ")})`);
  }
  for (const key of allowed) {
    if (!Object.hasOwn(descriptor, key)) typeFail(`a ${kind} descriptor needs the property ${JSON.stringify(key)}`);
  }

  switch (kind) {
    case "string":
      return new StringLayoutImpl(under1(() => integerIn(ownValue(descriptor, "maxBytes"), "maxBytes", MAX_SIZE - 4), "maxBytes"));
    case "json":
      return new JsonLayoutImpl(under1(() => integerIn(ownValue(descriptor, "maxBytes"), "maxBytes", MAX_SIZE - 4), "maxBytes"));
    case "bytes":
      return new BytesLayoutImpl(under1(() => integerIn(ownValue(descriptor, "length"), "length", MAX_SIZE), "length"));
    case "array": {
      const length = under1(() => integerIn(ownValue(descriptor, "length"), "length", MAX_ELEMENTS), "length");
      state.ancestors.add(descriptor);
      const element = under1(() => build(ownValue(descriptor, "element"), depth + 1, state), "element");
      state.ancestors.delete(descriptor);
      return limits(() => new ArrayLayoutImpl(element, length));
    }
    case "struct": {
      const fields = ownValue(descriptor, "fields");
      if (!Array.isArray(fields)) typeFail(`fields must be an array of [name, descriptor] pairs, got ${describeValue(fields)}`);
      const count = fields.length;
      if (count > MAX_NODES) rangeFail(`a layout may have at most ${MAX_NODES} nodes (fields and elements), this struct has ${count} fields`);
      state.ancestors.add(descriptor);
      const entries: Array<readonly [string, BaseLayout<unknown>]> = [];
      const seen = new Set<string>();
      try {
        for (let i = 0; i < count; i++) {
          try {
            const entry: unknown = fields[i];
            if (!Array.isArray(entry) || entry.length !== 2) typeFail(`expected a [name, descriptor] pair, got ${describeValue(entry)}`);
            const name: unknown = entry[0];
            if (typeof name !== "string") typeFail(`a field name must be a string, got ${describeValue(name)}`);
            const problem = fieldNameProblem(name);
            if (problem !== undefined) typeFail(problem);
            if (seen.has(name)) typeFail(`duplicate field ${JSON.stringify(name.slice(0, 40))}`);
            seen.add(name);
            entries.push([name, under1(() => build(entry[1], depth + 1, state), 1)]);
          } catch (error) {
            throw under(error, i);
          }
        }
      } catch (error) {
        throw under(error, "fields");
      }
      state.ancestors.delete(descriptor);
      return limits(() => new StructLayoutImpl(entries));
    }
    default:
      return PRIMITIVES[kind as PrimitiveKind];
  }
}

/** Runs `f`, recording `key` on a failure. */
function under1<R>(f: () => R, key: string | number): R {
  try {
    return f();
  } catch (error) {
    throw under(error, key);
  }
}

/** Runs a constructor whose limit checks throw public errors, turning them into path-carrying failures. */
function limits<R>(f: () => R): R {
  try {
    return f();
  } catch (error) {
    if (error instanceof RangeError) rangeFail(error.message.replace(/^(struct|array): /, ""));
    if (error instanceof TypeError) typeFail(error.message.replace(/^(struct|array): /, ""));
    throw error;
  }
}

/** Layouts rebuilt recently, by canonical descriptor text: equal descriptors give the very same layout. */
const cache = new Map<string, BaseLayout<unknown>>();
const CACHE_LIMIT = 1024;

/**
 * Rebuilds a layout from `layout.describe()`, typically received from another thread. The input is treated
 * as untrusted and validated completely: an unknown kind, a missing or extra property, a negative,
 * fractional or huge size, a cycle, nesting deeper than 32 levels, more than 65,536 nodes, a total size
 * over 1 GiB, a duplicate or reserved field name (`__proto__`, …) are all a `TypeError` or `RangeError`
 * whose message gives the path (`descriptor.fields[2][1].length: …`). Nothing large is allocated before the
 * limits are checked.
 *
 * Equal descriptors give the same layout object (a small cache), so views of one struct share one class.
 *
 * @example
 * const layout = layoutFromDescriptor(JSON.parse(JSON.stringify(struct({ x: f64 }).describe())));
 */
export function layoutFromDescriptor(descriptor: unknown): Layout<unknown> {
  let layout: BaseLayout<unknown>;
  try {
    layout = build(descriptor, 0, { nodes: 0, ancestors: new Set(), built: new Map() });
  } catch (error) {
    if (error instanceof Invalid) throw located(error, "descriptor");
    if (error instanceof TypeError || error instanceof RangeError) throw error;
    // A hostile object (a Proxy, a throwing getter) may throw anything: report it as a bad descriptor.
    throw new TypeError(`descriptor: could not be read (${error instanceof Error ? error.message : describeValue(error)})`, { cause: error });
  }
  if (layout.depth === 0) return layout;
  const key = layout.key;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, layout);
  return layout;
}

// Layouts made by another copy of this library (a second bundle, a different version) are rebuilt from their
// descriptors instead of being refused.
setLayoutResolver((layout, where) => {
  if (layout instanceof BaseLayout) return layout;
  if (typeof layout === "object" && layout !== null && typeof (layout as { describe?: unknown }).describe === "function") {
    let descriptor: unknown;
    try {
      descriptor = (layout as { describe(): unknown }).describe();
    } catch {
      throw new TypeError(`${where} is not a layout (its describe() threw)`);
    }
    return layoutFromDescriptor(descriptor) as BaseLayout<unknown>;
  }
  throw new TypeError(`${where} is not a layout, got ${describeValue(layout)}`);
});
