/**
 * `Arc` and `Weak`: Rust's reference counting, for shared objects that live in shared memory.
 *
 * In threadsafe every shared object (a `Mutex`, an `Arc` value, …) is already counted across threads, as an
 * `Arc<Mutex<T>>` is in Rust: each thread that has it counts once, and so does each message in flight that carries
 * it; its memory is reclaimed when the count reaches 0 (runtime/lifetime.ts). `Arc.strongCount` reads that count,
 * `Arc.downgrade` makes a `Weak` that does not keep the object alive, and `new Arc(layout, value)` is the one
 * shared object without a lock: an immutable value every thread can read.
 */

import { dataViews, snapshot, type Snapshot } from "../layout/index.js";
import type { Layout } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind, registerKind } from "../runtime/kinds.js";
import { countArrived, countNew, isLiveObject, strongCount } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { DATA_OFFSET, checkedLayout, allocateValueObject } from "./data.js";
import { describe } from "./options.js";
import {
  handleOf,
  isSharedObject,
  registerShareable,
  reviveHandle,
  sharedObject,
  shareableNamed,
  type SharedObject,
  type SharedRef,
} from "./shareable.js";

/** Options of `new Arc(layout, value, options)`. */
export interface ArcOptions {
  /** Appears in reports (at most 256 UTF-8 bytes). Default: `Arc#<id>`. */
  readonly name?: string;
}

/** What one thread keeps of an Arc value: its garbage collection ends the thread's count. */
interface ArcCore<T> {
  readonly rt: Runtime;
  readonly id: number;
  readonly layout: Layout<T>;
  readonly data: SharedArrayBuffer;
  readonly value: Snapshot<T>;
}

/** An Arc's per-thread core (its handle parts), read through a static block: unreachable from user code. */
let arcCoreOf: <T>(arc: Arc<T>) => ArcCore<T>;

/** Reads are never revoked: the value cannot change. */
const alwaysLive = { assertLive(): void {} };

/**
 * An immutable value in shared memory, readable from every thread that has it, without a lock; and, through its
 * static methods, the reference counts of every shared object.
 *
 * @example
 * import { Arc, Mutex, spawn, i32, struct, f64 } from "threadsafe";
 * const config = new Arc(struct({ rate: f64, steps: i32 }), { rate: 0.5, steps: 100 });
 * const h = spawn((config) => config.value.steps * 2, [config]);
 * console.log(await h.join());            // 200
 * const counter = new Mutex(i32, 0);
 * console.log(Arc.strongCount(counter));  // 1: only this thread has it
 * const weak = Arc.downgrade(counter);
 * weak.upgrade()?.with((n) => { n.value += 1; });
 */
export class Arc<T> implements SharedObject {
  readonly #core: ArcCore<T>;

  /**
   * Stores `value` once, as `layout` describes.
   * @throws TypeError or RangeError when `value` does not fit `layout`.
   */
  constructor(layout: Layout<T>, value: Assignable<T>, options?: ArcOptions) {
    if (reviving) {
      this.#core = reviving as ArcCore<T>;
      reviving = undefined;
      return;
    }
    if (typeof layout !== "object" || layout === null || typeof (layout as Partial<Layout<T>>).write !== "function") {
      throw new TypeError(`threadsafe: new Arc(layout, value): layout must be a layout such as i32, struct({...}); got ${describe(layout)}`);
    }
    layout.check(value, "value");
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new TypeError(`threadsafe: new Arc(layout, value, options): options must be an object like { name: "config" }, got ${describe(options)}`);
    }
    const name = options?.name;
    if (name !== undefined && typeof name !== "string") throw new TypeError(`threadsafe: new Arc(..., { name }): name must be a string, got ${describe(name)}`);
    const { rt, id, views } = allocateValueObject(layout as Layout<unknown>, ObjectKind.Arc, name, undefined);
    const data = views.buffer as SharedArrayBuffer;
    layout.write(views, DATA_OFFSET, value as T);
    this.#core = makeCore(rt, id, layout, data);
    countNew(rt, currentThreadId, id, this.#core);
  }

  /**
   * The value: a plain, deeply frozen copy (the same object on every read in this thread); for a `bytes` layout a
   * fresh copy on every read (a typed array cannot be frozen). Read-only.
   */
  get value(): Snapshot<T> {
    const value = this.#core.value;
    return (ArrayBuffer.isView(value) ? (value as unknown as Uint8Array).slice() : value) as Snapshot<T>;
  }

  set value(_: unknown) {
    throw new TypeError("threadsafe: an Arc's value is immutable; to share a value threads can change, use a Mutex or an RwLock");
  }

  /** The object's name in reports. */
  get name(): string {
    return this.#core.rt.objectName(this.#core.id);
  }

  /** @returns where this value lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.rt, id: this.#core.id, kind: ObjectKind.Arc };
  }

  static {
    arcCoreOf = <T>(arc: Arc<T>) => arc.#core;
  }

  /**
   * How many holders count the shared object `object` (any `Mutex`, `Arc`, …): each thread that has it counts
   * once, as does each message in flight that carries it (until it is received).
   * @throws TypeError when `object` is not a shared object.
   * @example
   * const m = new Mutex(i32, 0);
   * Arc.strongCount(m); // 1
   */
  static strongCount(object: SharedObject): number {
    const ref = refOf(object, "Arc.strongCount");
    return strongCount(ref.rt, ref.id);
  }

  /**
   * A `Weak` reference to the shared object `object`: it does not keep the object alive, and `upgrade()` gives the
   * object back while some thread still has it.
   * @throws TypeError when `object` is not a shared object.
   */
  static downgrade<O extends SharedObject>(object: O): Weak<O> {
    const ref = refOf(object, "Arc.downgrade");
    const handle = handleOf(object, false); // what it needs to rebuild the object, and no count
    return new Weak<O>(weakToken, ref.rt, handle.id, handle.generation, handle.kind, handle.parts);
  }
}

const weakToken: unique symbol = Symbol("threadsafe.weak");

/**
 * A reference to a shared object that does not keep it alive (Rust's `std::sync::Weak`). Made by `Arc.downgrade`.
 *
 * @example
 * const weak = Arc.downgrade(mutex);
 * const again = weak.upgrade(); // the mutex, or undefined once no thread has it
 */
export class Weak<O extends SharedObject> {
  readonly #rt: Runtime;
  readonly #id: number;
  readonly #generation: number;
  readonly #kind: string;
  readonly #parts: Record<string, unknown>;

  /** @internal Weak references come from `Arc.downgrade`. */
  constructor(token: typeof weakToken, rt: Runtime, id: number, generation: number, kind: string, parts: Record<string, unknown>) {
    if (token !== weakToken) throw new TypeError("threadsafe: a Weak comes from Arc.downgrade(object); it cannot be constructed");
    this.#rt = rt;
    this.#id = id;
    this.#generation = generation;
    this.#kind = kind;
    this.#parts = parts;
  }

  /** The object, if some thread still has it (this thread included); otherwise undefined. */
  upgrade(): O | undefined {
    const rt = this.#rt;
    if (!isLiveObject(rt, this.#id, this.#generation)) return undefined;
    try {
      return reviveHandle(rt, shareableNamed(this.#kind)!, this.#id, this.#generation, undefined, this.#parts) as O;
    } catch {
      return undefined; // reclaimed meanwhile
    }
  }

  /** How many holders count the object now (0 once it is gone). */
  strongCount(): number {
    return isLiveObject(this.#rt, this.#id, this.#generation) ? strongCount(this.#rt, this.#id) : 0;
  }
}

function refOf(object: unknown, method: string): SharedRef {
  if (!isSharedObject(object)) throw new TypeError(`threadsafe: ${method}(object): expected a shared object (a Mutex, an Arc, …), got ${describe(object)}`);
  return object[sharedObject]();
}

/** Set by the revival below for the constructor call it makes (private fields need the constructor). */
let reviving: ArcCore<unknown> | undefined;

function makeCore<T>(rt: Runtime, id: number, layout: Layout<T>, data: SharedArrayBuffer): ArcCore<T> {
  const raw = layout.read(dataViews(data), DATA_OFFSET, alwaysLive);
  return { rt, id, layout, data, value: deepFreeze(snapshot(raw)) as Snapshot<T> };
}

/** Freezes `value` and every plain object and array inside it (typed arrays stay as they are: they cannot be). */
function deepFreeze<V>(value: V): V {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  for (const item of Object.values(value)) deepFreeze(item);
  return Object.freeze(value);
}

registerKind({
  kind: ObjectKind.Arc,
  displayName: "Arc",
  holders() {},
  isPoisoned: () => false,
  releaseDead: () => false,
});

registerShareable({
  kind: ObjectKind.Arc,
  name: "Arc",
  coreOf: (value) => arcCoreOf(value as Arc<unknown>),
  handleParts(value) {
    const core = arcCoreOf(value as Arc<unknown>);
    return { data: core.data, layout: core.layout.describe() };
  },
  wrap(core) {
    reviving = core as ArcCore<unknown>;
    return new Arc(undefined as never, undefined as never);
  },
  checkParts(rt, id, parts) {
    checkedLayout(rt, id, parts);
  },
  fromHandle(rt, id, parts, retained) {
    const core = makeCore(rt, id, checkedLayout(rt, id, parts), parts["data"] as SharedArrayBuffer);
    countArrived(rt, currentThreadId, id, core, retained);
    reviving = core;
    return new Arc(undefined as never, undefined as never);
  },
});

