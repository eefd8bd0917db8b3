/**
 * `Mutex<T>`: a value of type `T` in shared memory that one thread at a time may use, through a guard.
 */

import { dataViews, snapshot, type Snapshot } from "../layout/index.js";
import type { Layout } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { RawMutex } from "../raw/raw-mutex.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { countArrived, countNew } from "../runtime/lifetime.js";
import { NO_LEVEL } from "../runtime/objects.js";
import type { Runtime } from "../runtime/runtime.js";
import { tracking } from "../runtime/config.js";
import { MutexGuard, guardToken, unlockPoisoned, type MutexCore } from "./guard.js";
import { acquireAsync, acquireBlocking, acquireNow, runWithGuard, runWithGuardAsync } from "./acquire.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions, checkLayout, checkLockOptions } from "./options.js";
import { DATA_OFFSET, checkedLayout, allocateValueObject } from "./data.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `new Mutex(layout, initial, options)`. */
export interface MutexOptions {
  /** Appears in every error and report about this mutex (at most 256 UTF-8 bytes). Default: `Mutex#<id>`. */
  readonly name?: string;
  /**
   * The mutex's level in a lock hierarchy: a thread may only block on a mutex whose level is above the level of
   * every leveled mutex it holds, otherwise it gets `LockOrderError` at once. An integer.
   */
  readonly level?: number;
}

/**
 * The per-thread core of a Mutex, for this package's own modules (lockAll, transactions, the shareable registry):
 * not re-exported, so user code cannot reach it (a private field, read through a static block).
 */
export let mutexCoreOf: <T>(mutex: Mutex<T>) => MutexCore<T>;
/** Rebuilds a Mutex from a handle (only the shareable registry calls it). */
const fromParts: unique symbol = Symbol("threadsafe.fromParts");

/**
 * A mutual-exclusion lock protecting a value of type `T` that lives in shared memory, usable from every thread
 * that has it (pass it to `spawn`, or through `share`/`receive`).
 *
 * @example
 * import { Mutex, i32 } from "threadsafe";
 * const counter = new Mutex(i32, 0, { name: "counter" });
 * {
 *   using num = counter.lock();   // blocks until this thread holds the lock
 *   num.value += 1;
 * }                               // released here
 * counter.with((num) => { num.value += 1; });
 * await counter.withAsync(async (num) => { num.value += 1; });
 */
export class Mutex<T> implements SharedObject {
  /** The name given at construction, or `Mutex#<id>`. */
  readonly name: string;
  readonly #core: MutexCore<T>;

  /**
   * Creates a mutex holding `initial`, stored as `layout` describes.
   * @throws TypeError or RangeError when `initial` does not fit `layout`, or an option is malformed.
   */
  constructor(layout: Layout<T>, initial: Assignable<T>, options?: MutexOptions) {
    if (reviving) {
      const revived = reviving;
      reviving = undefined;
      this.#core = revived as MutexCore<T>;
      this.name = this.#core.name;
      return;
    }
    checkLayout(layout, "new Mutex(layout, initial)");
    layout.check(initial, "initial");
    const { name, level } = checkLockOptions(options, "Mutex");
    const { rt, id, views } = allocateValueObject(layout as Layout<unknown>, ObjectKind.Mutex, name, level);
    layout.write(views, DATA_OFFSET, initial as T);
    this.#core = makeCore(new RawMutex(rt, id), layout, views, views.buffer, name ?? rt.objectName(id), level);
    this.name = this.#core.name;
    countNew(rt, currentThreadId, id, this.#core);
  }

  /**
   * Blocks this thread until it holds the lock, and returns the guard.
   * @throws PoisonError (the lock is held: `intoInner()` gives the guard), LockTimeoutError, DeadlockError,
   *   LockOrderError (lock levels), or Error where blocking is forbidden (use `lockAsync`).
   */
  lock(options?: LockOptions): MutexGuard<T> {
    const core = this.#core;
    if (options === undefined && !tracking && core.level === undefined) {
      // The guard is made before the lock is taken: an allocation that starts a garbage collection then does not
      // run it inside the critical section (measured, 2 workers × 2,000,000 contended: median 93 → 85 ns/op).
      const guard = new MutexGuard(guardToken, core);
      if (core.raw.tryLockFast()) return guard;
    }
    return acquireBlocking(core, timeoutOf(options, "lock"));
  }

  /** `lock`, with errors about options naming `method`. */
  #lockFor(options: LockOptions | undefined, method: string): MutexGuard<T> {
    return options === undefined ? this.lock() : acquireBlocking(this.#core, timeoutOf(options, method));
  }

  /**
   * Takes the lock if it is free right now; returns `undefined` instead of waiting.
   * @throws PoisonError when it took the lock and the lock is poisoned.
   */
  tryLock(): MutexGuard<T> | undefined {
    const core = this.#core;
    if (!tracking && core.level === undefined && core.raw.tryLockFast()) return new MutexGuard(guardToken, core);
    return acquireNow(core);
  }

  /**
   * Waits for the lock without blocking the thread (the event loop keeps running, and the thread stays alive
   * while it waits). Rejects with `PoisonError`, `LockTimeoutError`, or the signal's reason when aborted.
   * An async wait for a lock that this thread holds through another task simply waits for that task.
   */
  lockAsync(options?: LockAsyncOptions): Promise<MutexGuard<T>> {
    const core = this.#core;
    if (options === undefined && !tracking && core.level === undefined && core.raw.tryLockFast()) {
      return Promise.resolve(new MutexGuard(guardToken, core));
    }
    return this.#lockAsyncFor(options, "lockAsync");
  }

  /** The slow path of `lockAsync`, with errors about options naming `method`. */
  async #lockAsyncFor(options: LockAsyncOptions | undefined, method: string): Promise<MutexGuard<T>> {
    const timeout = timeoutOf(options, method);
    const signal = signalOf(options, method);
    const core = this.#core;
    if (!tracking && core.level === undefined && !signal?.aborted && core.raw.tryLockFast()) {
      return new MutexGuard(guardToken, core);
    }
    return acquireAsync(core, timeout, signal);
  }

  /**
   * Locks, runs `fn` with the guard, and unlocks. If `fn` throws, the mutex is poisoned (as a panic poisons a
   * Rust mutex) and the error propagates. A `using` guard cannot see exceptions, so only `with`/`withAsync`
   * poison on throw.
   * @throws whatever `lock()` throws; TypeError when `fn` returns a promise (use `withAsync`).
   */
  with<R>(fn: (guard: MutexGuard<T>) => R, options?: LockOptions): R {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: with(fn): fn must be a function, got ${describe(fn)}`);
    const core = this.#core;
    const guard =
      options === undefined && !tracking && core.level === undefined && core.raw.tryLockFast()
        ? new MutexGuard(guardToken, core)
        : this.#lockFor(options, "with");
    return runWithGuard(guard, fn, poisonGuard, "Mutex", this.name, "with(fn)", "mutex.withAsync(fn)");
  }

  /** Like `with`, for async callbacks: awaits the lock without blocking, awaits `fn`, then unlocks. */
  withAsync<R>(fn: (guard: MutexGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    if (typeof fn !== "function") {
      return Promise.reject(new TypeError(`threadsafe: withAsync(fn): fn must be a function, got ${describe(fn)}`));
    }
    const core = this.#core;
    // A free lock runs `fn` at once: no promise for the lock, no await for a callback that returns a plain value
    // (measured: 3 awaits made withAsync 2.8× lockAsync).
    if (options === undefined && !tracking && core.level === undefined && core.raw.tryLockFast()) {
      return runWithGuardAsync(new MutexGuard(guardToken, core), fn, poisonGuard);
    }
    return this.#withAsyncSlow(fn, options);
  }

  async #withAsyncSlow<R>(fn: (guard: MutexGuard<T>) => R | PromiseLike<R>, options: LockAsyncOptions | undefined): Promise<R> {
    return runWithGuardAsync(await this.#lockAsyncFor(options, "withAsync"), fn, poisonGuard);
  }

  /** Whether the mutex is poisoned (a thread threw inside `with`, or died holding it). */
  isPoisoned(): boolean {
    return this.#core.raw.isPoisoned();
  }

  /** Clears the poison flag, after you have checked or repaired the data. */
  clearPoison(): void {
    this.#core.raw.clearPoison();
  }

  /** The lock's id in the program's runtime: the `id` of this mutex in errors, reports and `dumpLocks()`. */
  get lockId(): number {
    return this.#core.raw.id;
  }

  /** The mutex's level in a lock hierarchy (`new Mutex(…, { level })`), or undefined. */
  get level(): number | undefined {
    return this.#core.level;
  }

  /**
   * A plain copy of the value (locks briefly, like Rust's `Mutex::get_cloned`).
   * @throws what `lock()` throws (PoisonError when poisoned).
   * @example
   * const total = counter.get();
   */
  get(options?: LockOptions): Snapshot<T> {
    const guard = this.#lockFor(options, "get");
    try {
      return snapshot(guard.value);
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /**
   * Stores `value` (locks briefly, like Rust's `Mutex::set`). A value that does not fit the layout throws before
   * anything is written.
   * @throws what `lock()` throws (PoisonError when poisoned), TypeError or RangeError for a bad value.
   */
  set(value: Assignable<T>, options?: LockOptions): void {
    this.#core.layout.check(value, "value");
    const guard = this.#lockFor(options, "set");
    try {
      guard.value = value;
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /**
   * Stores `value` and returns a plain copy of the value it replaced (locks briefly, like Rust's `Mutex::replace`).
   * @throws what `lock()` throws (PoisonError when poisoned), TypeError or RangeError for a bad value.
   * @example
   * const before = counter.replace(0); // take the count and reset it, atomically
   */
  replace(value: Assignable<T>, options?: LockOptions): Snapshot<T> {
    this.#core.layout.check(value, "value");
    const guard = this.#lockFor(options, "replace");
    try {
      const previous = snapshot(guard.value);
      guard.value = value;
      return previous;
    } finally {
      guard[Symbol.dispose]();
    }
  }

  static {
    mutexCoreOf = <T>(mutex: Mutex<T>) => mutex.#core;
  }

  /** Where this mutex lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.Mutex };
  }

  /**
   * Rebuilds a mutex in this thread from a handle's parts (record `id` is live and a Mutex: see shareable.ts).
   * @throws TypeError saying what does not match when the parts are corrupted or forged.
   */
  static [fromParts]<T>(rt: Runtime, id: number, parts: Record<string, unknown>, retained: boolean): Mutex<T> {
    const data = parts["data"] as SharedArrayBuffer;
    const layout = checkedLayout(rt, id, parts) as Layout<T>;
    const core = makeCore(new RawMutex(rt, id), layout, dataViews(data), data, rt.objectName(id), rt.objectLevel(id));
    countArrived(rt, currentThreadId, id, core, retained);
    reviving = core as MutexCore<unknown>;
    return new Mutex<T>(undefined as never, undefined as never);
  }
}

registerShareable({
  kind: ObjectKind.Mutex,
  name: "Mutex",
  checkParts: checkedLayout,
  coreOf: (value) => mutexCoreOf(value as Mutex<unknown>),
  wrap(core) {
    reviving = core as MutexCore<unknown>;
    return new Mutex<unknown>(undefined as never, undefined as never);
  },
  handleParts(value) {
    const core = mutexCoreOf(value as Mutex<unknown>);
    return { data: core.data, layout: core.layout.describe() };
  },
  fromHandle: (rt, id, parts, retained) => Mutex[fromParts](rt, id, parts, retained),
});

/** Releases a guard poisoned (a `with` callback threw). */
function poisonGuard<T>(guard: MutexGuard<T>): void {
  unlockPoisoned(guard as MutexGuard<unknown>);
}

/** Set by `Mutex[fromParts]` for the constructor call it makes (private fields need the constructor). */
let reviving: MutexCore<unknown> | undefined;

function makeCore<T>(
  raw: RawMutex,
  layout: Layout<T>,
  views: MutexCore<T>["views"],
  data: SharedArrayBuffer,
  name: string,
  level: number | undefined,
): MutexCore<T> {
  return new Core(raw, layout, views, data, name, level);
}

/**
 * A Mutex's per-thread core. A class, not an object literal: `makeGuard` is shared on the prototype and the
 * diagnostics-only parts (`tracked`, `described`) are made on first use, so creating a mutex allocates neither.
 */
class Core<T> implements MutexCore<T> {
  readonly raw: RawMutex;
  readonly layout: Layout<T>;
  readonly views: MutexCore<T>["views"];
  readonly data: SharedArrayBuffer;
  readonly name: string;
  readonly level: number | undefined;
  #tracked: MutexCore<T>["tracked"] | undefined;

  constructor(raw: RawMutex, layout: Layout<T>, views: MutexCore<T>["views"], data: SharedArrayBuffer, name: string, level: number | undefined) {
    this.raw = raw;
    this.layout = layout;
    this.views = views;
    this.data = data;
    this.name = name;
    this.level = level;
  }

  get tracked(): MutexCore<T>["tracked"] {
    return (this.#tracked ??= { rt: this.raw.rt, id: this.raw.id, level: this.level, name: this.name });
  }

  get described(): string {
    return `Mutex "${this.name}"`;
  }

  makeGuard(): MutexGuard<T> {
    return new MutexGuard(guardToken, this);
  }
}
