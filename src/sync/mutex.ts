/**
 * `Mutex<T>`: a value of type `T` in shared memory that one thread at a time may use, through a guard.
 */

import { DeadlockError } from "../errors.js";
import { dataViews, layoutFromDescriptor } from "../layout/index.js";
import type { Layout, LayoutDescriptor } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { Acquired, RawMutex } from "../raw/raw-mutex.js";
import { runtime } from "../runtime/current.js";
import { LockKind, NO_LEVEL } from "../runtime/locks.js";
import type { Runtime } from "../runtime/runtime.js";
import { MutexGuard, guardToken, unlockPoisoned, type MutexCore } from "./guard.js";
import { acquired, beforeBlocking, beforeParking, waitAbandoned, type AcquisitionKind, type TrackedLock } from "./held.js";
import { settings, tracking } from "../runtime/config.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";
import { poisonError, poisonMessage, releaseUnclaimedOnRelock } from "./poison.js";
import { DATA_OFFSET, allocateData, dataMismatch, newDataTag } from "./data.js";

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

/** A mutex as it crosses threads: plain data, revived by `receive` (or by a spawned thread). */
export interface MutexHandle {
  readonly threadsafe: "Mutex";
  readonly runtime: SharedArrayBuffer;
  readonly lockId: number;
  readonly data: SharedArrayBuffer;
  readonly layout: LayoutDescriptor;
}

/** Turns a shared object into its handle (thread/share.ts walks values with it). */
export const toHandle: unique symbol = Symbol("threadsafe.toHandle");

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
export class Mutex<T> {
  /** The name given at construction, or `Mutex#<id>`. */
  readonly name: string;
  readonly #core: MutexCore<T>;
  readonly #dataBuffer: SharedArrayBuffer;

  /**
   * Creates a mutex holding `initial`, stored as `layout` describes.
   * @throws TypeError or RangeError when `initial` does not fit `layout`, or an option is malformed.
   */
  constructor(layout: Layout<T>, initial: Assignable<T>, options?: MutexOptions) {
    if (reviving) {
      const revived = reviving;
      reviving = undefined;
      this.name = revived.name;
      this.#dataBuffer = revived.data;
      this.#core = revived.core as unknown as MutexCore<T>;
      return;
    }
    checkLayout(layout);
    layout.check(initial, "initial");
    const { name, level } = checkOptions(options);
    const tag = newDataTag();
    const data = allocateData(layout as Layout<unknown>, tag);
    const views = dataViews(data);
    layout.write(views, DATA_OFFSET, initial as T);
    const rt = runtime();
    const lockId = rt.allocateLock(LockKind.Mutex, name, level, tag);
    this.name = name ?? rt.lockName(lockId);
    this.#dataBuffer = data;
    this.#core = makeCore(new RawMutex(rt, lockId), layout, views, this.name, level);
  }

  /**
   * Blocks this thread until it holds the lock, and returns the guard.
   * @throws PoisonError (the lock is held: `intoInner()` gives the guard), LockTimeoutError, DeadlockError,
   *   LockOrderError (lock levels), or Error where blocking is forbidden (use `lockAsync`).
   */
  lock(options?: LockOptions): MutexGuard<T> {
    const core = this.#core;
    if (options === undefined && !tracking && core.level === undefined && core.raw.tryLockFast()) {
      return new MutexGuard(guardToken, core);
    }
    return this.#lockSlow(timeoutOf(options, "lock"));
  }

  /** `lock`, with errors about options naming `method`. */
  #lockFor(options: LockOptions | undefined, method: string): MutexGuard<T> {
    return options === undefined ? this.lock() : this.#lockSlow(timeoutOf(options, method));
  }

  #lockSlow(timeout: number): MutexGuard<T> {
    const core = this.#core;
    const tracked = this.#tracked();
    beforeBlocking(tracked);
    const onPark = settings.stacks === "off" ? undefined : () => beforeParking(core.raw.rt);
    for (;;) {
      let poisoned: boolean;
      try {
        poisoned = core.raw.lock(timeout, onPark);
      } catch (error) {
        waitAbandoned(core.raw.rt);
        if (error instanceof DeadlockError && error.kind === "self" && releaseUnclaimedOnRelock(core.raw.id)) continue;
        throw error;
      }
      return this.#acquired(poisoned, "blocking");
    }
  }

  #tracked(): TrackedLock {
    return this.#core.tracked;
  }

  /**
   * Takes the lock if it is free right now; returns `undefined` instead of waiting.
   * @throws PoisonError when it took the lock and the lock is poisoned.
   */
  tryLock(): MutexGuard<T> | undefined {
    const core = this.#core;
    if (!tracking && core.level === undefined && core.raw.tryLockFast()) return new MutexGuard(guardToken, core);
    const result = core.raw.tryLock();
    return result === Acquired.No ? undefined : this.#acquired(result === Acquired.Poisoned, "try");
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
    return this.#acquired(await this.#core.raw.lockAsync(timeout, signal), "async");
  }

  #acquired(poisoned: boolean, kind: AcquisitionKind): MutexGuard<T> {
    const core = this.#core;
    acquired(this.#tracked(), kind);
    const guard = new MutexGuard(guardToken, core);
    if (poisoned) throw poisonError([poisonMessage(core)], guard, [{ lockId: core.raw.id, guard: guard as MutexGuard<unknown> }]);
    return guard;
  }

  /**
   * Locks, runs `fn` with the guard, and unlocks. If `fn` throws, the mutex is poisoned (as a panic poisons a
   * Rust mutex) and the error propagates. A `using` guard cannot see exceptions, so only `with`/`withAsync`
   * poison on throw.
   * @throws whatever `lock()` throws; TypeError when `fn` returns a promise (use `withAsync`).
   */
  with<R>(fn: (guard: MutexGuard<T>) => R, options?: LockOptions): R {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: with(fn): fn must be a function, got ${describe(fn)}`);
    const guard = this.#lockFor(options, "with");
    let result: R;
    try {
      result = fn(guard);
    } catch (error) {
      guard[unlockPoisoned]();
      throw error;
    }
    if (isThenable(result)) {
      // The callback went on past an await without the lock: its critical section was cut in two.
      guard[unlockPoisoned]();
      void Promise.resolve(result).catch(() => {});
      throw new TypeError(
        `threadsafe: Mutex "${this.name}": with(fn) got an async fn, which would keep running after the lock is ` +
          `released; use "await mutex.withAsync(fn)". The mutex was poisoned.`,
      );
    }
    guard[Symbol.dispose]();
    return result;
  }

  /** Like `with`, for async callbacks: awaits the lock without blocking, awaits `fn`, then unlocks. */
  async withAsync<R>(fn: (guard: MutexGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withAsync(fn): fn must be a function, got ${describe(fn)}`);
    const guard = await this.#lockAsyncFor(options, "withAsync");
    let result: R;
    try {
      result = await fn(guard);
    } catch (error) {
      guard[unlockPoisoned]();
      throw error;
    }
    guard[Symbol.dispose]();
    return result;
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

  /** @internal The raw lock (lockAll, transactions). */
  get raw(): RawMutex {
    return this.#core.raw;
  }

  /** @internal Makes the guard for a lock this thread took through `raw` (lockAll reports poison itself). */
  guardFor(kind: AcquisitionKind): MutexGuard<T> {
    acquired(this.#core.tracked, kind);
    return new MutexGuard(guardToken, this.#core);
  }

  /** @internal How this mutex was poisoned, for lockAll's PoisonError. */
  poisonReason(): string {
    return poisonMessage(this.#core);
  }

  /** @internal The tracked form of this mutex (lock levels and order checks, for lockAll). */
  get tracked(): TrackedLock {
    return this.#core.tracked;
  }

  /** @internal */
  [toHandle](): MutexHandle {
    return {
      threadsafe: "Mutex",
      runtime: this.#core.raw.rt.buffer,
      lockId: this.#core.raw.id,
      data: this.#dataBuffer,
      layout: this.#core.layout.describe(),
    };
  }

  /**
   * @internal Rebuilds a mutex from a handle whose runtime this thread has joined.
   * @throws TypeError saying what does not match when the handle is corrupted or forged.
   */
  static fromHandle<T>(rt: Runtime, handle: MutexHandle): Mutex<T> {
    const layout = Mutex.checkHandle<T>(rt, handle);
    const name = rt.lockName(handle.lockId);
    const core = makeCore(new RawMutex(rt, handle.lockId), layout, dataViews(handle.data), name, rt.lockLevel(handle.lockId));
    reviving = { name: core.name, data: handle.data, core: core as unknown as MutexCore<unknown> };
    return new Mutex<T>(undefined as never, undefined as never);
  }

  /**
   * @internal Checks that a handle's lock, data buffer and layout belong together; returns the layout.
   * @throws TypeError saying what does not match.
   */
  static checkHandle<T>(rt: Runtime, handle: MutexHandle): Layout<T> {
    if (rt.lockKind(handle.lockId) !== LockKind.Mutex) throw new TypeError(`lock ${handle.lockId} is not a Mutex of this runtime`);
    const layout = layoutFromDescriptor(handle.layout) as Layout<T>;
    const mismatch = dataMismatch(handle.data, rt.lockDataTag(handle.lockId), layout as Layout<unknown>);
    if (mismatch) throw new TypeError(mismatch);
    return layout;
  }
}

/** Set by `Mutex.fromHandle` for the constructor call it makes (private fields need the constructor). */
let reviving: { name: string; data: SharedArrayBuffer; core: MutexCore<unknown> } | undefined;

function makeCore<T>(raw: RawMutex, layout: Layout<T>, views: MutexCore<T>["views"], name: string, level: number | undefined): MutexCore<T> {
  return { raw, layout, views, name, level, tracked: { rt: raw.rt, id: raw.id, level, name } };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

function checkLayout(layout: unknown): asserts layout is Layout<unknown> {
  const candidate = layout as Partial<Layout<unknown>> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.read !== "function" ||
    typeof candidate.write !== "function" ||
    typeof candidate.check !== "function" ||
    typeof candidate.describe !== "function" ||
    typeof candidate.size !== "number"
  ) {
    throw new TypeError(
      `threadsafe: new Mutex(layout, initial): layout must be a layout such as i32, f64, struct({...}), string(64); got ${describe(layout)}`,
    );
  }
}

function checkOptions(options: MutexOptions | undefined): { name: string | undefined; level: number | undefined } {
  if (options === undefined) return { name: undefined, level: undefined };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`threadsafe: new Mutex(layout, initial, options): options must be an object like { name: "accounts" }, got ${describe(options)}`);
  }
  const { name, level } = options;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: new Mutex(..., { name }): name must be a string, got ${describe(name)}`);
  }
  if (level !== undefined) {
    if (typeof level !== "number") throw new TypeError(`threadsafe: new Mutex(..., { level }): level must be an integer, got ${describe(level)}`);
    if (!Number.isInteger(level) || level <= NO_LEVEL || level > 0x7fffffff) {
      throw new RangeError(`threadsafe: new Mutex(..., { level }): level must be an integer from ${NO_LEVEL + 1} to ${0x7fffffff}, got ${level}`);
    }
  }
  return { name, level };
}
