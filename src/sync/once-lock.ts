/**
 * `OnceLock<T>`: a cell in shared memory written at most once, by whichever thread initializes it first (Rust's
 * `std::sync::OnceLock`).
 */

import { dataViews, snapshot, type Snapshot } from "../layout/index.js";
import type { DataViews, Layout } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { Begin, Claim, OnFailure, RawOnce } from "../raw/raw-once.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { countArrived, countNew } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { DATA_OFFSET, checkedLayout, allocateValueObject } from "./data.js";
import { checkFn, isThenable, nameOf, reentrantError, type OnceOptions, type OnceWaitAsyncOptions, type OnceWaitOptions } from "./once-common.js";
import { checkLayout, describe, signalOf, timeoutOf } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** What one thread keeps of a OnceLock (or a LazyLock): its garbage collection ends the thread's count. */
export interface CellCore<T> {
  readonly raw: RawOnce;
  readonly layout: Layout<T>;
  readonly data: SharedArrayBuffer;
  readonly views: DataViews;
  readonly described: string;
}

/** Reads are never revoked: a complete cell's value cannot change. */
const alwaysLive = { assertLive(): void {} };

/** The value of a complete cell, as a plain frozen copy. */
export function readCell<T>(core: CellCore<T>): Snapshot<T> {
  return Object.freeze(snapshot(core.layout.read(core.views, DATA_OFFSET, alwaysLive))) as Snapshot<T>;
}

/**
 * Writes `value` into a cell this thread runs the initializer of, then completes it.
 * @throws TypeError or RangeError when it does not fit the layout (nothing is written then; the caller fails the run).
 */
export function completeCell<T>(core: CellCore<T>, value: unknown, what: string): void {
  core.layout.check(value, what);
  core.layout.write(core.views, DATA_OFFSET, value as T);
  core.raw.finish();
}

export function makeCellCore<T>(rt: Runtime, id: number, layout: Layout<T>, data: SharedArrayBuffer, onFailure: OnFailure, kindName: string): CellCore<T> {
  return { raw: new RawOnce(rt, id, onFailure), layout, data, views: dataViews(data), described: `${kindName} "${rt.objectName(id)}"` };
}

let cellCoreOf: <T>(object: OnceLock<T>) => CellCore<T>; // a private field read through a static block: unreachable from user code

/**
 * A cell in shared memory that is written at most once, by whichever thread initializes it first; every thread
 * that has it then reads the same value. `getOrInit(fn)` runs at most one `fn` at a time program-wide: concurrent
 * callers wait for it. If `fn` throws (or its thread dies while running it), the cell stays empty and the next
 * caller tries.
 *
 * Once a thread has seen the cell initialized it keeps the value (a frozen copy), so `get()` then costs a field
 * read, not an atomic operation.
 *
 * @example
 * import { OnceLock, spawn, array, f64 } from "threadsafe";
 * const table = new OnceLock(array(f64, 4), { name: "table" });
 * const w = spawn((table) => table.getOrInit(() => [1, 2, 3, 4])[2], [table]);
 * table.getOrInit(() => [1, 2, 3, 4]);   // whichever thread comes first builds it; the other reads it
 * await w.join();                         // 3
 * table.set([0, 0, 0, 0]);                // false: it already has a value
 */
export class OnceLock<T> implements SharedObject {
  readonly #core: CellCore<T>;
  /** The value once this thread has seen the cell initialized (it never changes after that); undefined before. */
  #value: Snapshot<T> | undefined = undefined;

  /**
   * An empty cell for a value stored as `layout` describes.
   * @throws TypeError when `layout` or an option is malformed; RangeError when too many shared objects are alive.
   */
  constructor(layout: Layout<T>, options?: OnceOptions) {
    if (reviving) {
      this.#core = reviving as CellCore<T>;
      reviving = undefined;
      return;
    }
    checkLayout(layout, "new OnceLock(layout)");
    const name = nameOf(options, "new OnceLock(layout, options)");
    const { rt, id, views } = allocateValueObject(layout, ObjectKind.OnceLock, name, undefined);
    const data = views.buffer as SharedArrayBuffer;
    this.#core = makeCellCore(rt, id, layout, data, OnFailure.Retry, "OnceLock");
    countNew(rt, currentThreadId, id, this.#core);
  }

  /** The value, or `undefined` while the cell is empty (or still being initialized). Never blocks. */
  get(): Snapshot<T> | undefined {
    // No layout stores undefined, so it can mark "not seen initialized yet": the steady state is one field read.
    const value = this.#value;
    return value !== undefined ? value : this.#getSlow();
  }

  #getSlow(): Snapshot<T> | undefined {
    return this.#core.raw.isComplete() ? (this.#value = readCell(this.#core)) : undefined;
  }

  /**
   * Stores `value` if the cell is empty; returns `true` if it did, `false` if the cell already had a value (Rust's
   * `set` → `Err(value)`). Waits while another thread is initializing it (its initializer may yet fail).
   * @throws TypeError or RangeError when `value` does not fit the layout (checked first); TimeoutError; DeadlockError.
   */
  set(value: Assignable<T>, options?: OnceWaitOptions): boolean {
    this.#core.layout.check(value, "value");
    if (this.#value !== undefined) return false;
    return this.#initialize(() => value, timeoutOf(options, "set"), "set");
  }

  /**
   * The value, initializing the cell with `fn()` first if it is empty. Only one `fn` runs at a time program-wide:
   * a caller that finds another thread initializing waits for it, and gets that thread's value.
   * @throws what `fn` throws (the cell stays empty; the next caller tries); TypeError or RangeError when `fn`'s
   *   value does not fit the layout, TypeError when `fn` returns a promise (use `getOrInitAsync`); DeadlockError
   *   when called from inside its own `fn`, or when waiting closes a wait-for cycle; TimeoutError after `timeout` ms.
   */
  getOrInit(fn: () => Assignable<T>, options?: OnceWaitOptions): Snapshot<T> {
    checkFn(fn, "getOrInit");
    const value = this.#value;
    if (value !== undefined) return value;
    this.#initialize(fn, timeoutOf(options, "getOrInit"), "getOrInit");
    return this.#value as Snapshot<T>;
  }

  /**
   * `getOrInit` for async initializers, without blocking the thread (waits with `Atomics.waitAsync`, keeping the
   * thread alive meanwhile).
   * @throws (rejects with) what `fn` throws (the cell stays empty), TimeoutError, or the signal's reason.
   */
  async getOrInitAsync(fn: () => Assignable<T> | PromiseLike<Assignable<T>>, options?: OnceWaitAsyncOptions): Promise<Snapshot<T>> {
    checkFn(fn, "getOrInitAsync");
    const value = this.#value;
    if (value !== undefined) return value;
    const timeout = timeoutOf(options, "getOrInitAsync");
    const signal = signalOf(options, "getOrInitAsync");
    const core = this.#core;
    const begun = await core.raw.beginAsync(Claim.Normal, timeout, signal);
    if (begun === Begin.Claimed) {
      try {
        completeCell(core, await fn(), "the value fn returned");
      } catch (error) {
        core.raw.fail();
        throw error;
      }
    }
    return (this.#value = readCell(core));
  }

  /**
   * Blocks until the cell has a value, and returns it (Rust's `OnceLock::wait`); runs nothing.
   * @throws TimeoutError; DeadlockError.
   */
  wait(options?: OnceWaitOptions): Snapshot<T> {
    const value = this.#value;
    if (value !== undefined) return value;
    const core = this.#core;
    const begun = core.raw.begin(Claim.WaitOnly, timeoutOf(options, "wait"));
    if (begun === Begin.RunningHere) throw reentrantError(core.raw.rt, core.raw.id, core.described, "wait");
    return (this.#value = readCell(core));
  }

  /** `wait` without blocking the thread. Rejects with TimeoutError, or the signal's reason. */
  async waitAsync(options?: OnceWaitAsyncOptions): Promise<Snapshot<T>> {
    const value = this.#value;
    if (value !== undefined) return value;
    const timeout = timeoutOf(options, "waitAsync");
    const signal = signalOf(options, "waitAsync");
    await this.#core.raw.beginAsync(Claim.WaitOnly, timeout, signal);
    return (this.#value = readCell(this.#core));
  }

  /** The object's name in reports: the one given, or `OnceLock#<id>`. */
  get name(): string {
    return this.#core.raw.rt.objectName(this.#core.raw.id);
  }

  /** Runs `fn` as the cell's initializer if it is empty; returns whether it did. Caches the value either way. */
  #initialize(fn: () => unknown, timeout: number, method: string): boolean {
    const core = this.#core;
    const { raw } = core;
    const begun = raw.begin(Claim.Normal, timeout);
    if (begun === Begin.RunningHere) throw reentrantError(raw.rt, raw.id, core.described, method);
    if (begun === Begin.Claimed) {
      try {
        const value = fn();
        if (isThenable(value)) {
          void Promise.resolve(value).then(undefined, () => {});
          throw new TypeError(`threadsafe: ${core.described}: ${method}(fn) got an async fn; use "await cell.getOrInitAsync(fn)". The cell stays empty.`);
        }
        completeCell(core, value, "the value fn returned");
      } catch (error) {
        raw.fail();
        throw error;
      }
    }
    this.#value = readCell(core);
    return begun === Begin.Claimed;
  }

  static {
    cellCoreOf = (object) => object.#core;
  }

  /** Where this object lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.OnceLock };
  }
}

let reviving: CellCore<unknown> | undefined;

registerShareable({
  kind: ObjectKind.OnceLock,
  name: "OnceLock",
  checkParts: checkedLayout,
  coreOf: (value) => cellCoreOf(value as OnceLock<unknown>),
  handleParts(value) {
    const core = cellCoreOf(value as OnceLock<unknown>);
    return { data: core.data, layout: core.layout.describe() };
  },
  wrap(core) {
    reviving = core as CellCore<unknown>;
    return new OnceLock<unknown>(undefined as never);
  },
  fromHandle(rt, id, parts, retained) {
    const layout = checkedLayout(rt, id, parts);
    const core = makeCellCore(rt, id, layout, parts["data"] as SharedArrayBuffer, OnFailure.Retry, "OnceLock");
    countArrived(rt, currentThreadId, id, core, retained);
    reviving = core;
    return new OnceLock<unknown>(undefined as never);
  },
});
