/**
 * `RwLock<T>`: a value of type `T` in shared memory that many threads may read at once, or one thread may write,
 * through guards (Rust's `std::sync::RwLock`). The word protocol is raw/raw-rwlock.ts; acquisition goes through the
 * same pipeline as Mutex (acquire.ts: levels, lock order, stacks, PoisonError).
 */

import { dataViews, snapshot, type Snapshot } from "../layout/index.js";
import type { DataViews, Layout, Liveness } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { Acquired } from "../raw/raw-mutex.js";
import { RawRwLock } from "../raw/raw-rwlock.js";
import { tracking } from "../runtime/config.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { countArrived, countNew, holdsIndex } from "../runtime/lifetime.js";
import { NO_LEVEL } from "../runtime/objects.js";
import type { PoisonDetails } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { acquireAsync, acquireBlocking, acquireNow, type LockCore, type RawLock, runWithGuard, runWithGuardAsync } from "./acquire.js";
import { DATA_OFFSET, checkedLayout, allocateValueObject } from "./data.js";
import { anyTracked, released, type TrackedLock } from "./held.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions, checkLayout, checkLockOptions, isThenable } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `new RwLock(layout, initial, options)`. */
export interface RwLockOptions {
  /** Appears in every error and report about this lock (at most 256 UTF-8 bytes). Default: `RwLock#<id>`. */
  readonly name?: string;
  /**
   * The lock's level in a lock hierarchy, as for a Mutex: a thread may only block on a lock (read or write) whose
   * level is above the level of every leveled lock it holds, otherwise it gets `LockOrderError` at once.
   */
  readonly level?: number;
}

/** Creates guards; not exported from the package, so only the library can make one. */
const guardToken: unique symbol = Symbol("threadsafe.rwlockGuard");
/** Releases a write guard and poisons the lock (a `withWrite` callback threw). */
/** Releases a write guard and poisons the lock (a `withWrite` callback threw); module-internal. */
let unlockPoisoned: (guard: RwLockWriteGuard<unknown>) => void;
/** Rebuilds an RwLock from a handle (only the shareable registry calls it). */
const fromParts: unique symbol = Symbol("threadsafe.rwlockFromParts");
/** The per-thread core of an RwLock; module-internal (a private field, read through a static block). */
let rwlockCoreOf: <T>(lock: RwLock<T>) => RwLockCore<T>;

/** The read side of the raw lock, as the acquisition pipeline drives a lock. */
class ReadSide implements RawLock {
  readonly rt: Runtime;
  readonly id: number;
  constructor(readonly raw: RawRwLock) {
    this.rt = raw.rt;
    this.id = raw.id;
  }
  lock(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean {
    return this.raw.read(timeoutMs, onPark, interrupted);
  }
  tryLock(): Acquired {
    return this.raw.tryRead();
  }
  lockAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    return this.raw.readAsync(timeoutMs, signal);
  }
  unlock(): void {
    this.raw.readUnlock();
  }
  poisonDetails(): PoisonDetails {
    return this.raw.poisonDetails();
  }
}

/** The write side of the raw lock, as the acquisition pipeline drives a lock. */
class WriteSide implements RawLock {
  readonly rt: Runtime;
  readonly id: number;
  constructor(readonly raw: RawRwLock) {
    this.rt = raw.rt;
    this.id = raw.id;
  }
  lock(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean {
    return this.raw.write(timeoutMs, onPark, interrupted);
  }
  tryLock(): Acquired {
    return this.raw.tryWrite();
  }
  lockAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    return this.raw.writeAsync(timeoutMs, signal);
  }
  unlock(poison: boolean): void {
    this.raw.writeUnlock(poison);
  }
  poisonDetails(): PoisonDetails {
    return this.raw.poisonDetails();
  }
}

/**
 * What every guard of one RwLock shares in this thread, created once per lock per thread. Its garbage collection
 * ends the thread's count of the lock (runtime/lifetime.ts), so every guard and pending wait keeps it reachable.
 */
interface RwLockCore<T> {
  readonly raw: RawRwLock;
  readonly layout: Layout<T>;
  readonly views: DataViews;
  readonly data: SharedArrayBuffer;
  readonly name: string;
  readonly level: number | undefined;
  readonly tracked: TrackedLock;
  readonly reading: LockCore<RwLockReadGuard<T>>;
  readonly writing: LockCore<RwLockWriteGuard<T>>;
}

/**
 * Shared access to the data of a read-locked `RwLock<T>`. Obtained from `read()`, `tryRead()`, `readAsync()`,
 * `withRead()` or a write guard's `downgrade()`. `value` is read-only: assigning it, or a field or element of a
 * `struct`/`array` view, throws `TypeError`. Any use after release throws.
 *
 * @example
 * {
 *   using config = settings.read();
 *   console.log(config.value.port);
 * } // released here
 */
export class RwLockReadGuard<T> implements Disposable, Liveness {
  readonly #core: RwLockCore<T>;
  // No private methods (a brand slot per guard, a brand check per call): see MutexGuard.
  #held = true;

  /** @internal Guards come from `RwLock.read()` and its siblings. */
  constructor(token: typeof guardToken, core: RwLockCore<T>) {
    if (token !== guardToken) throw new TypeError("threadsafe: an RwLockReadGuard comes from rwlock.read(); it cannot be constructed");
    this.#core = core;
  }

  /** The protected value (a live, read-only view for `struct` and `array` layouts). */
  get value(): T {
    if (!this.#held) throw readReleased(this.#core, "read value through");
    return this.#core.layout.read(this.#core.views, DATA_OFFSET, this);
  }

  /** Always throws: a read guard cannot write. */
  set value(_value: never) {
    if (!this.#held) throw readReleased(this.#core, "write value through");
    throw new TypeError(`threadsafe: value is read-only through a read guard of RwLock "${this.#core.name}"; take write() to change it`);
  }

  /** Views of this guard's value refuse writes (layout/layout.ts, `Liveness.readOnly`). */
  get readOnly(): true {
    return true;
  }

  /** The name of the lock this guard holds. */
  get lockName(): string {
    return this.#core.name;
  }

  /** Whether this guard still holds its read lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Releases the read lock. A second call is an error; disposing after it is harmless. */
  unlock(): void {
    if (!this.#held) throw new Error(`threadsafe: unlock() called twice on a read guard of RwLock "${this.#core.name}"; it was already released`);
    this.#held = false;
    releaseRead(this.#core);
  }

  /** Releases the read lock if this guard still holds it; what `using` calls at the end of the block. */
  [Symbol.dispose](): void {
    if (this.#held) {
      this.#held = false;
      releaseRead(this.#core);
    }
  }

  /** Throws if this guard was released: views of `struct`/`array` values call it on every access. */
  assertLive(): void {
    if (!this.#held) throw readReleased(this.#core, "use a view of");
  }


}

/**
 * Exclusive access to the data of a write-locked `RwLock<T>`, like a `MutexGuard`. Obtained from `write()`,
 * `tryWrite()`, `writeAsync()` or `withWrite()`. `downgrade()` turns it into a read guard with no writer in between.
 *
 * @example
 * {
 *   using g = settings.write();
 *   g.value.port = 8080;
 * } // released here
 */
export class RwLockWriteGuard<T> implements Disposable, Liveness {
  readonly #core: RwLockCore<T>;
  // No private methods: see MutexGuard.
  #held = true;

  /** @internal Guards come from `RwLock.write()` and its siblings. */
  constructor(token: typeof guardToken, core: RwLockCore<T>) {
    if (token !== guardToken) throw new TypeError("threadsafe: an RwLockWriteGuard comes from rwlock.write(); it cannot be constructed");
    this.#core = core;
  }

  /** The protected value (a live view for `struct` and `array` layouts). */
  get value(): T {
    if (!this.#held) throw writeReleased(this.#core, "read value through");
    return this.#core.layout.read(this.#core.views, DATA_OFFSET, this);
  }

  set value(value: Assignable<T>) {
    if (!this.#held) throw writeReleased(this.#core, "write value through");
    this.#core.layout.write(this.#core.views, DATA_OFFSET, value as T);
  }

  /** The name of the lock this guard holds. */
  get lockName(): string {
    return this.#core.name;
  }

  /** Whether this guard still holds its write lock. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Turns this write hold into a read hold atomically (no other writer can get in between) and returns the read
   * guard; this guard is released. Readers that were waiting may now join (unless a writer is waiting too).
   * @example
   * const w = cache.write();
   * w.value.version += 1;
   * using r = w.downgrade();   // others may read now; no writer can change what we just wrote
   */
  downgrade(): RwLockReadGuard<T> {
    if (!this.#held) throw writeReleased(this.#core, "downgrade");
    this.#held = false;
    this.#core.raw.downgrade(); // the lock stays held by this thread: held.ts keeps tracking it
    return new RwLockReadGuard(guardToken, this.#core);
  }

  /** Releases the write lock. A second call is an error; disposing after it is harmless. */
  unlock(): void {
    if (!this.#held) throw new Error(`threadsafe: unlock() called twice on a write guard of RwLock "${this.#core.name}"; it was already released`);
    this.#held = false;
    releaseWrite(this.#core, false);
  }

  /** Releases the write lock if this guard still holds it; what `using` calls at the end of the block. */
  [Symbol.dispose](): void {
    if (this.#held) {
      this.#held = false;
      releaseWrite(this.#core, false);
    }
  }

  static {
    unlockPoisoned = (guard) => {
      if (guard.#held) {
        guard.#held = false;
        releaseWrite(guard.#core, true);
      }
    };
  }

  /** Throws if this guard was released: views of `struct`/`array` values call it on every access. */
  assertLive(): void {
    if (!this.#held) throw writeReleased(this.#core, "use a view of");
  }

  /**
   * Zero-copy escape hatch (as `MutexGuard.unsafeBytes`): a `Uint8Array` over the raw bytes of the value, which
   * cannot be revoked when the guard is released.
   */
  unsafeBytes(): Uint8Array {
    if (!this.#held) throw writeReleased(this.#core, "take bytes through");
    return new Uint8Array(this.#core.views.buffer, DATA_OFFSET, this.#core.layout.size);
  }


}

function releaseRead<T>(core: RwLockCore<T>): void {
  if (anyTracked) released(core.raw.rt, core.raw.id);
  core.raw.readUnlock();
}

function releaseWrite<T>(core: RwLockCore<T>, poison: boolean): void {
  if (anyTracked) released(core.raw.rt, core.raw.id);
  core.raw.writeUnlock(poison);
}

function readReleased<T>(core: RwLockCore<T>, action: string): Error {
  return new Error(`threadsafe: cannot ${action} a read guard of RwLock "${core.name}" after it was unlocked`);
}

function writeReleased<T>(core: RwLockCore<T>, action: string): Error {
  return new Error(`threadsafe: cannot ${action} a write guard of RwLock "${core.name}" after it was unlocked`);
}

/**
 * A reader-writer lock protecting a value of type `T` in shared memory: any number of threads may hold read
 * guards at once, or one thread a write guard. Writers are preferred: once a writer waits, new readers wait behind
 * it, so a stream of readers cannot starve it. Crosses threads like a Mutex (pass it to `spawn`, or through
 * `share`/`receive`).
 *
 * - A blocking `write()` while this thread holds a read (an upgrade), or `read()` while it holds the write, throws
 *   `DeadlockError` at once. Deadlock cycles through read holds and write waits are detected like mutex cycles.
 * - Poisoned only by writers: when a `withWrite` callback throws, or a thread dies holding the write lock. A dead
 *   reader's read hold is simply given back.
 *
 * @example
 * import { RwLock, struct, i32, string } from "threadsafe";
 * const config = new RwLock(struct({ port: i32, host: string(64) }), { port: 80, host: "localhost" }, { name: "config" });
 * const port = config.withRead((g) => g.value.port);       // many threads may read at once
 * config.withWrite((g) => { g.value.port = 8080; });        // one writer, nobody reading
 */
export class RwLock<T> implements SharedObject {
  /** The name given at construction, or `RwLock#<id>`. */
  readonly name: string;
  readonly #core: RwLockCore<T>;

  /**
   * Creates a lock holding `initial`, stored as `layout` describes.
   * @throws TypeError or RangeError when `initial` does not fit `layout`, or an option is malformed.
   */
  constructor(layout: Layout<T>, initial: Assignable<T>, options?: RwLockOptions) {
    if (reviving) {
      const revived = reviving;
      reviving = undefined;
      this.#core = revived as RwLockCore<T>;
      this.name = this.#core.name;
      return;
    }
    checkLayout(layout, "new RwLock(layout, initial)");
    layout.check(initial, "initial");
    const { name, level } = checkLockOptions(options, "RwLock");
    const { rt, id, views } = allocateValueObject(layout as Layout<unknown>, ObjectKind.RwLock, name, level);
    const data = views.buffer as SharedArrayBuffer;
    layout.write(views, DATA_OFFSET, initial as T);
    const raw = new RawRwLock(rt, id);
    this.#core = makeCore(raw, layout, views, data, name ?? rt.objectName(id), level);
    this.name = this.#core.name;
    raw.holdsAt = holdsIndex(rt, countNew(rt, currentThreadId, id, this.#core));
  }

  /**
   * Blocks this thread until it holds a read lock, and returns the read guard. Waits while a writer holds the lock
   * or waits for it.
   * @throws PoisonError (the read lock is held: `intoInner()` gives the guard), LockTimeoutError, DeadlockError
   *   (this thread holds the write lock, or a cycle), LockOrderError (lock levels), or Error where blocking is
   *   forbidden (use `readAsync`).
   */
  read(options?: LockOptions): RwLockReadGuard<T> {
    const core = this.#core;
    if (options === undefined && !tracking && core.level === undefined) {
      const guard = new RwLockReadGuard(guardToken, core); // before the lock is taken: see Mutex.lock
      if (core.raw.tryReadFast()) return guard;
    }
    return acquireBlocking(core.reading, timeoutOf(options, "read"));
  }

  /**
   * Blocks this thread until it holds the write lock, and returns the write guard.
   * @throws PoisonError (the lock is held: `intoInner()` gives the guard), LockTimeoutError, DeadlockError (this
   *   thread holds a read lock of it, or the write lock, or a cycle), LockOrderError, or Error where blocking is
   *   forbidden (use `writeAsync`).
   */
  write(options?: LockOptions): RwLockWriteGuard<T> {
    const core = this.#core;
    if (options === undefined && !tracking && core.level === undefined) {
      const guard = new RwLockWriteGuard(guardToken, core); // before the lock is taken: see Mutex.lock
      if (core.raw.tryWriteFast()) return guard;
    }
    return acquireBlocking(core.writing, timeoutOf(options, "write"));
  }

  /**
   * A read guard if a read lock can be taken right now, else `undefined` (a writer holds or awaits the lock).
   * @throws PoisonError when it took the lock and the lock is poisoned.
   */
  tryRead(): RwLockReadGuard<T> | undefined {
    const core = this.#core;
    if (!tracking && core.level === undefined && core.raw.tryReadFast()) return new RwLockReadGuard(guardToken, core);
    return acquireNow(core.reading);
  }

  /**
   * The write guard if the lock is free right now, else `undefined`.
   * @throws PoisonError when it took the lock and the lock is poisoned.
   */
  tryWrite(): RwLockWriteGuard<T> | undefined {
    const core = this.#core;
    if (!tracking && core.level === undefined && core.raw.tryWriteFast()) return new RwLockWriteGuard(guardToken, core);
    return acquireNow(core.writing);
  }

  /**
   * Waits for a read lock without blocking the thread (the thread stays alive while it waits). Rejects with
   * `PoisonError`, `LockTimeoutError`, or the signal's reason when aborted.
   */
  async readAsync(options?: LockAsyncOptions): Promise<RwLockReadGuard<T>> {
    const timeout = timeoutOf(options, "readAsync");
    const signal = signalOf(options, "readAsync");
    const core = this.#core;
    if (!tracking && core.level === undefined && !signal?.aborted && core.raw.tryReadFast()) return new RwLockReadGuard(guardToken, core);
    return acquireAsync(core.reading, timeout, signal);
  }

  /**
   * Waits for the write lock without blocking the thread. Rejects with `PoisonError`, `LockTimeoutError`, or the
   * signal's reason when aborted. An async wait for a lock this thread holds through another task simply waits.
   */
  async writeAsync(options?: LockAsyncOptions): Promise<RwLockWriteGuard<T>> {
    const timeout = timeoutOf(options, "writeAsync");
    const signal = signalOf(options, "writeAsync");
    const core = this.#core;
    if (!tracking && core.level === undefined && !signal?.aborted && core.raw.tryWriteFast()) return new RwLockWriteGuard(guardToken, core);
    return acquireAsync(core.writing, timeout, signal);
  }

  /**
   * Takes a read lock, runs `fn` with the read guard, releases, and returns what `fn` returned. Readers never
   * poison: if `fn` throws, the lock is released and the error propagates.
   * @throws whatever `read()` throws; TypeError when `fn` returns a promise (use `withReadAsync`).
   */
  withRead<R>(fn: (guard: RwLockReadGuard<T>) => R, options?: LockOptions): R {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withRead(fn): fn must be a function, got ${describe(fn)}`);
    const guard = options === undefined ? this.read() : acquireBlocking(this.#core.reading, timeoutOf(options, "withRead"));
    try {
      const result = fn(guard);
      if (isThenable(result)) {
        void Promise.resolve(result).catch(() => {});
        throw new TypeError(
          `threadsafe: RwLock "${this.name}": withRead(fn) got an async fn, which would keep running after the lock is released; use "await rwlock.withReadAsync(fn)"`,
        );
      }
      return result;
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /**
   * Takes the write lock, runs `fn` with the write guard, and releases. If `fn` throws, the lock is poisoned (as a
   * panic poisons a Rust RwLock) and the error propagates. A `using` guard cannot see exceptions, so only
   * `withWrite`/`withWriteAsync` poison on throw.
   * @throws whatever `write()` throws; TypeError when `fn` returns a promise (use `withWriteAsync`).
   */
  withWrite<R>(fn: (guard: RwLockWriteGuard<T>) => R, options?: LockOptions): R {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withWrite(fn): fn must be a function, got ${describe(fn)}`);
    const guard = options === undefined ? this.write() : acquireBlocking(this.#core.writing, timeoutOf(options, "withWrite"));
    return runWithGuard(guard, fn, poisonWriteGuard, "RwLock", this.name, "withWrite(fn)", "rwlock.withWriteAsync(fn)");
  }

  /** Like `withRead`, for async callbacks: awaits a read lock without blocking, awaits `fn`, then releases. */
  async withReadAsync<R>(fn: (guard: RwLockReadGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withReadAsync(fn): fn must be a function, got ${describe(fn)}`);
    const guard = await this.#asyncFor(this.#core.reading, options, "withReadAsync");
    try {
      return await fn(guard);
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /** Like `withWrite`, for async callbacks: awaits the write lock without blocking, awaits `fn`, then releases. */
  async withWriteAsync<R>(fn: (guard: RwLockWriteGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withWriteAsync(fn): fn must be a function, got ${describe(fn)}`);
    return runWithGuardAsync(await this.#asyncFor(this.#core.writing, options, "withWriteAsync"), fn, poisonWriteGuard);
  }

  #asyncFor<G extends RwLockReadGuard<T> | RwLockWriteGuard<T>>(core: LockCore<G>, options: LockAsyncOptions | undefined, method: string): Promise<G> {
    return acquireAsync(core, timeoutOf(options, method), signalOf(options, method));
  }

  /**
   * A plain copy of the value (takes a read lock briefly, like Rust's `RwLock::get_cloned`).
   * @throws what `read()` throws (PoisonError when poisoned).
   */
  get(options?: LockOptions): Snapshot<T> {
    const guard = options === undefined ? this.read() : acquireBlocking(this.#core.reading, timeoutOf(options, "get"));
    try {
      return snapshot(guard.value);
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /**
   * Stores `value` (takes the write lock briefly, like Rust's `RwLock::set`). A value that does not fit the layout
   * throws before anything is written.
   * @throws what `write()` throws (PoisonError when poisoned), TypeError or RangeError for a bad value.
   */
  set(value: Assignable<T>, options?: LockOptions): void {
    this.#core.layout.check(value, "value");
    const guard = options === undefined ? this.write() : acquireBlocking(this.#core.writing, timeoutOf(options, "set"));
    try {
      guard.value = value;
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /**
   * Stores `value` and returns a plain copy of the value it replaced (like Rust's `RwLock::replace`).
   * @throws what `write()` throws (PoisonError when poisoned), TypeError or RangeError for a bad value.
   */
  replace(value: Assignable<T>, options?: LockOptions): Snapshot<T> {
    this.#core.layout.check(value, "value");
    const guard = options === undefined ? this.write() : acquireBlocking(this.#core.writing, timeoutOf(options, "replace"));
    try {
      const previous = snapshot(guard.value);
      guard.value = value;
      return previous;
    } finally {
      guard[Symbol.dispose]();
    }
  }

  /** Whether the lock is poisoned (a writer threw inside `withWrite`, or died holding the write lock). */
  isPoisoned(): boolean {
    return this.#core.raw.isPoisoned();
  }

  /** Clears the poison flag, after you have checked or repaired the data. */
  clearPoison(): void {
    this.#core.raw.clearPoison();
  }

  /** The lock's id in the program's runtime: its `id` in errors, reports and `dumpLocks()`. */
  get lockId(): number {
    return this.#core.raw.id;
  }

  /** The lock's level in a lock hierarchy (`new RwLock(…, { level })`), or undefined. */
  get level(): number | undefined {
    return this.#core.level;
  }

  static {
    rwlockCoreOf = <T>(lock: RwLock<T>) => lock.#core;
  }

  /** Where this lock lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.RwLock };
  }

  /**
   * Rebuilds a lock in this thread from a handle's parts (record `id` is live and an RwLock: see shareable.ts).
   * @throws TypeError saying what does not match when the parts are corrupted or forged.
   */
  static [fromParts]<T>(rt: Runtime, id: number, parts: Record<string, unknown>, retained: boolean): RwLock<T> {
    const data = parts["data"] as SharedArrayBuffer;
    const layout = checkedLayout(rt, id, parts) as Layout<T>;
    const raw = new RawRwLock(rt, id);
    const core = makeCore(raw, layout, dataViews(data), data, rt.objectName(id), rt.objectLevel(id));
    raw.holdsAt = holdsIndex(rt, countArrived(rt, currentThreadId, id, core, retained));
    reviving = core as RwLockCore<unknown>;
    return new RwLock<T>(undefined as never, undefined as never);
  }
}

registerShareable({
  kind: ObjectKind.RwLock,
  name: "RwLock",
  checkParts: checkedLayout,
  coreOf: (value) => rwlockCoreOf(value as RwLock<unknown>),
  wrap(core) {
    reviving = core as RwLockCore<unknown>;
    return new RwLock<unknown>(undefined as never, undefined as never);
  },
  handleParts(value) {
    const core = rwlockCoreOf(value as RwLock<unknown>);
    return { data: core.data, layout: core.layout.describe() };
  },
  fromHandle: (rt, id, parts, retained) => RwLock[fromParts](rt, id, parts, retained),
});

/** Releases a write guard poisoned (a `withWrite` callback threw). */
function poisonWriteGuard<T>(guard: RwLockWriteGuard<T>): void {
  unlockPoisoned(guard as RwLockWriteGuard<unknown>);
}

/** Set by `RwLock[fromParts]` for the constructor call it makes (private fields need the constructor). */
let reviving: RwLockCore<unknown> | undefined;

function makeCore<T>(raw: RawRwLock, layout: Layout<T>, views: DataViews, data: SharedArrayBuffer, name: string, level: number | undefined): RwLockCore<T> {
  const described = `RwLock "${name}"`;
  const tracked: TrackedLock = { rt: raw.rt, id: raw.id, level, name };
  const core: RwLockCore<T> = {
    raw,
    layout,
    views,
    data,
    name,
    level,
    tracked,
    reading: { raw: new ReadSide(raw), tracked, described, makeGuard: () => new RwLockReadGuard(guardToken, core) },
    writing: { raw: new WriteSide(raw), tracked, described, makeGuard: () => new RwLockWriteGuard(guardToken, core) },
  };
  return core;
}

