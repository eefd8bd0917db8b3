/**
 * `Condvar`: Rust's condition variable. A thread holding a mutex waits for a condition on the mutex's data to
 * change; another thread changes the data under the mutex and notifies. The word protocol is in
 * raw/raw-condvar.ts (Rust std's futex sequence counter); this file is the typed layer: guards, timeouts, the async
 * twins, and taking the mutex back through the mutex's own path (acquire.ts), so deadlock detection, dead holders
 * and poisoning behave as for any `lock()`.
 */

import { TimeoutError } from "../errors.js";
import { canBlock, now } from "../platform/index.js";
import { NOT_BOUND, RawCondvar } from "../raw/raw-condvar.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { allocateObject, countArrived, countNew, holdsIndex } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { checkBeforeWaiting, poisonReason, waitFor } from "./acquire.js";
import { MutexGuard, guardForWait, type MutexCore } from "./guard.js";
import { acquired } from "./held.js";
import { describe, signalOf, timeoutOf } from "./options.js";
import { poisonError } from "./poison.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `new Condvar(options)`. */
export interface CondvarOptions {
  /** Appears in every error and report about this condvar (at most 256 UTF-8 bytes). Default: `Condvar#<id>`. */
  readonly name?: string;
}

/** Options of `wait()` and `waitWhile()`. */
export interface CondvarWaitOptions {
  /**
   * Milliseconds to wait for a notify (for `waitWhile`: for the condition to become false, in all) before giving up
   * and returning `false`; `Infinity` (the default) waits forever. Taking the mutex back is not limited by it.
   */
  readonly timeout?: number;
}

/** Options of `waitAsync()` and `waitWhileAsync()`. */
export interface CondvarWaitAsyncOptions extends CondvarWaitOptions {
  /** Aborting it ends the wait: the mutex is taken back, then the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What one thread keeps of a condvar: its garbage collection ends the thread's count (runtime/lifetime.ts). */
interface CondvarCore {
  readonly raw: RawCondvar;
  readonly name: string;
}

/** Reaches a Condvar's per-thread core (sharing); not exported from the package. */
let condvarCoreOf: (object: Condvar) => CondvarCore; // a private field read through a static block: unreachable from user code
/** Rebuilds a Condvar from a handle (only the shareable registry calls it). */
const fromParts: unique symbol = Symbol("threadsafe.fromParts");

/** Whether an error thrown by parking is the end of the wait's time (a condvar wait's timeout is no error). */
const isTimeout = (error: unknown): boolean => error instanceof TimeoutError;

/**
 * A condition variable (Rust's `std::sync::Condvar`): lets a thread holding a `Mutex` sleep until another thread
 * notifies it that the data may have changed. Always check the condition in a loop (or use `waitWhile`): a wait may
 * also return without a notify (a spurious wake-up, as in Rust), and another thread may have taken the mutex and
 * changed the data again between the notify and the return.
 *
 * A condvar is used with one mutex at a time: waiting on it with a second mutex while waits with the first are in
 * progress throws an `Error` (Rust panics). While a thread waits, `dumpLocks()` and every report show it
 * `blocked on Condvar "name" of Mutex "mutex"`.
 *
 * @example
 * import { Condvar, Mutex, spawn, bool } from "threadsafe";
 * const started = new Mutex(bool, false, { name: "started" });
 * const cv = new Condvar({ name: "started-cv" });
 * const h = spawn((started, cv) => {
 *   started.with((g) => { g.value = true; });
 *   cv.notifyOne();
 * }, [started, cv]);
 * {
 *   using g = started.lock();
 *   cv.waitWhile(g, (started) => !started); // sleeps until the thread has started
 * }
 * await h.join();
 */
export class Condvar implements SharedObject {
  /** The name given at construction, or `Condvar#<id>`. */
  readonly name: string;
  readonly #core: CondvarCore;

  /**
   * Creates a condition variable.
   * @throws TypeError when an option is malformed.
   */
  constructor(options?: CondvarOptions) {
    if (reviving) {
      this.#core = reviving;
      reviving = undefined;
      this.name = this.#core.name;
      return;
    }
    const name = checkOptions(options);
    const rt = runtime();
    const id = allocateObject(rt, ObjectKind.Condvar, name, undefined, 0);
    this.#core = makeCore(rt, id, name ?? rt.objectName(id), (core) => countNew(rt, currentThreadId, id, core));
    this.name = this.#core.name;
  }

  /**
   * Releases the mutex of `guard`, sleeps until this condvar is notified, takes the mutex again and returns, with
   * `guard` holding it again (the same guard object). May also return without a notify (a spurious wake-up): check
   * the condition in a loop, or use `waitWhile`.
   * @returns `false` when it returned because `timeout` elapsed, else `true`.
   * @throws PoisonError when the mutex was poisoned meanwhile (it is held: `intoInner()` is `guard`); Error when
   *   `guard` was released, when this condvar is in use with another mutex right now, or where this thread may not
   *   block (use `waitAsync`); DeadlockError when taking the mutex back would deadlock (`guard` is then released);
   *   LockOrderError (lock levels) before anything is released.
   * @example
   * using g = queue.lock();
   * while (g.value.length === 0) notEmpty.wait(g);
   */
  wait(guard: MutexGuard<unknown>, options?: CondvarWaitOptions): boolean {
    const mutex = checkGuard(guard, "wait");
    const timeout = timeoutOf(options, "wait");
    this.#checkBlocking("wait", mutex);
    return this.#wait(guard, mutex, timeout);
  }

  /**
   * Waits while `condition(guard.value)` is true: returns at once if it is false, otherwise waits (as `wait`) and
   * checks again after every wake-up, with the mutex held each time. Like Rust's `wait_while`.
   * @returns `false` when `timeout` elapsed with the condition still true, else `true`.
   * @throws what `wait` throws; TypeError when `condition` is not a function or returns something other than a
   *   boolean; whatever `condition` throws (the mutex is then held).
   * @example
   * using g = jobs.lock();
   * const done = finished.waitWhile(g, (jobs) => jobs.pending > 0, { timeout: 1000 });
   */
  waitWhile<T>(guard: MutexGuard<T>, condition: (value: T) => boolean, options?: CondvarWaitOptions): boolean {
    const mutex = checkGuard(guard, "waitWhile");
    checkCondition(condition, "waitWhile");
    const timeout = timeoutOf(options, "waitWhile");
    this.#checkBlocking("waitWhile", mutex);
    const deadline = now() + timeout;
    while (holds(condition, guard, "waitWhile")) {
      const left = deadline - now();
      if (left <= 0) return false;
      this.#wait(guard, mutex, left);
    }
    return true;
  }

  /**
   * `wait` without blocking the thread: the event loop keeps running, and the thread stays alive while it waits.
   * Resolves to `false` when `timeout` elapsed, else `true`, with `guard` holding the mutex again. When `signal` is
   * aborted, the mutex is taken back and the promise rejects with the signal's reason. While the wait is pending,
   * `guard` is released: using it from another task throws.
   * @throws (rejects with) what `wait` throws, except the refusal to block.
   */
  async waitAsync(guard: MutexGuard<unknown>, options?: CondvarWaitAsyncOptions): Promise<boolean> {
    const mutex = checkGuard(guard, "waitAsync");
    const timeout = timeoutOf(options, "waitAsync");
    const signal = signalOf(options, "waitAsync");
    if (signal?.aborted) throw signal.reason;
    return this.#waitAsync(guard, mutex, timeout, signal);
  }

  /**
   * `waitWhile` without blocking the thread (see `waitAsync`).
   * @throws (rejects with) what `waitWhile` throws, except the refusal to block, or the signal's reason.
   */
  async waitWhileAsync<T>(guard: MutexGuard<T>, condition: (value: T) => boolean, options?: CondvarWaitAsyncOptions): Promise<boolean> {
    const mutex = checkGuard(guard, "waitWhileAsync");
    checkCondition(condition, "waitWhileAsync");
    const timeout = timeoutOf(options, "waitWhileAsync");
    const signal = signalOf(options, "waitWhileAsync");
    const deadline = now() + timeout;
    while (holds(condition, guard, "waitWhileAsync")) {
      if (signal?.aborted) throw signal.reason;
      const left = deadline - now();
      if (left <= 0) return false;
      await this.#waitAsync(guard, mutex, left, signal);
    }
    return true;
  }

  /**
   * Wakes one thread waiting on this condvar, if any (Rust's `notify_one`). Needs no lock; usually called after
   * changing the data under the mutex. A notify with nobody waiting is not remembered.
   */
  notifyOne(): void {
    this.#core.raw.notifyOne();
  }

  /** Wakes every thread waiting on this condvar (Rust's `notify_all`). Needs no lock. */
  notifyAll(): void {
    this.#core.raw.notifyAll();
  }

  /** The condvar's id in the program's runtime: its `id` in errors, reports and `dumpLocks()`. */
  get lockId(): number {
    return this.#core.raw.id;
  }

  /** Where this condvar lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.Condvar };
  }

  static {
    condvarCoreOf = (object) => object.#core;
  }

  /** Refuses a blocking wait where blocking is not allowed, before anything is released; checks lock levels. */
  #checkBlocking(method: string, mutex: MutexCore<unknown>): void {
    if (!canBlock()) {
      throw new Error(
        `threadsafe: Condvar "${this.name}": ${method}() would block this thread, and blocking is not allowed here ` +
          `(a browser's main thread). Use ${method}Async() instead.`,
      );
    }
    // Taking the mutex back is a blocking acquisition: a lock-level violation is reported now, while nothing moved.
    checkBeforeWaiting(mutex);
  }

  /**
   * Binds this condvar to `mutex` for one wait and counts it, or throws if it is in use with another mutex (or if
   * the guard was released meanwhile, say by a `waitWhile` condition).
   */
  #enter(guard: MutexGuard<unknown>, mutex: MutexCore<unknown>, method: string): RawCondvar {
    guardForWait(guard, "core");
    const raw = this.#core.raw;
    const other = raw.enter(mutex.raw.id);
    if (other !== NOT_BOUND) {
      throw new Error(
        `threadsafe: Condvar "${this.name}": ${method}() with Mutex "${mutex.name}" while other threads wait on it with ` +
          `${raw.rt.describeObject(other)}: a condvar may be used with only one mutex at a time (Rust panics here too). ` +
          `Use one Condvar per mutex.`,
      );
    }
    return raw;
  }

  /** One blocking wait: release, sleep, take the mutex back (the same guard), leave. */
  #wait(guard: MutexGuard<unknown>, mutex: MutexCore<unknown>, timeout: number): boolean {
    const raw = this.#enter(guard, mutex, "wait");
    let notified = false;
    let failure: { error: unknown } | undefined;
    release(guard, raw, mutex);
    try {
      notified = raw.sleep(timeout, isTimeout);
    } catch (error) {
      failure = { error };
    }
    let poisoned: boolean;
    try {
      poisoned = waitFor(mutex, Infinity);
    } finally {
      raw.leave(mutex.raw.id);
    }
    return this.#reheld(guard, mutex, poisoned, "blocking", notified, failure);
  }

  /** One wait without blocking the thread (see `#wait`). */
  async #waitAsync(guard: MutexGuard<unknown>, mutex: MutexCore<unknown>, timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    const raw = this.#enter(guard, mutex, "waitAsync");
    let notified = false;
    let failure: { error: unknown } | undefined;
    release(guard, raw, mutex);
    try {
      notified = await raw.sleepAsync(timeout, signal, isTimeout);
    } catch (error) {
      failure = { error }; // aborted: the mutex is still taken back first
    }
    let poisoned: boolean;
    try {
      poisoned = await mutex.raw.lockAsync(Infinity, undefined);
    } finally {
      raw.leave(mutex.raw.id);
    }
    return this.#reheld(guard, mutex, poisoned, "async", notified, failure);
  }

  /** The mutex is held again: hand it back through `guard`, then report how the wait ended. */
  #reheld(
    guard: MutexGuard<unknown>,
    mutex: MutexCore<unknown>,
    poisoned: boolean,
    how: "blocking" | "async",
    notified: boolean,
    failure: { error: unknown } | undefined,
  ): boolean {
    acquired(mutex.tracked, how);
    guardForWait(guard, "reheld");
    if (failure) throw failure.error;
    if (poisoned) throw poisonError([poisonReason(mutex)], guard, [{ objectId: mutex.raw.id, guard }]);
    return notified;
  }

  /**
   * Rebuilds a condvar in this thread from a handle (record `id` is live and a Condvar: see shareable.ts).
   */
  static [fromParts](rt: Runtime, id: number, retained: boolean): Condvar {
    reviving = makeCore(rt, id, rt.objectName(id), (core) => countArrived(rt, currentThreadId, id, core, retained));
    return new Condvar();
  }
}

registerShareable({
  kind: ObjectKind.Condvar,
  name: "Condvar",
  coreOf: (value) => condvarCoreOf(value as Condvar),
  wrap(core) {
    reviving = core as CondvarCore;
    return new Condvar();
  },
  handleParts: () => ({}), // nothing beyond the record: a condvar's state is all in its words
  checkParts() {},
  fromHandle: (rt, id, _parts, retained) => Condvar[fromParts](rt, id, retained),
});

/** Set for the constructor call that revives a condvar (private fields need the constructor). */
let reviving: CondvarCore | undefined;

/**
 * A core for condvar `id`, counted by `count` (countNew or countArrived), which ties the thread's count to the
 * core's lifetime and returns the reference entry whose `holds` word records this thread's waits in progress.
 */
function makeCore(rt: Runtime, id: number, name: string, count: (core: object) => number): CondvarCore {
  const core: { name: string; raw?: RawCondvar } = { name };
  const entry = count(core);
  core.raw = new RawCondvar(rt, id, holdsIndex(rt, entry));
  return core as CondvarCore;
}

/** Releases `guard`'s mutex for a wait that `raw` counted (uncounted again if the release fails). */
function release(guard: MutexGuard<unknown>, raw: RawCondvar, mutex: MutexCore<unknown>): void {
  try {
    guardForWait(guard, "release");
  } catch (error) {
    raw.leave(mutex.raw.id);
    throw error;
  }
}

/** The core of the mutex `guard` holds. @throws TypeError when it is no guard; Error when it was released. */
function checkGuard(guard: unknown, method: string): MutexCore<unknown> {
  if (!(guard instanceof MutexGuard)) {
    throw new TypeError(`threadsafe: Condvar.${method}(guard): guard must be a MutexGuard (from mutex.lock() or lockAsync()), got ${describe(guard)}`);
  }
  return guardForWait(guard as MutexGuard<unknown>, "core");
}

function checkCondition(condition: unknown, method: string): void {
  if (typeof condition !== "function") {
    throw new TypeError(`threadsafe: Condvar.${method}(guard, condition): condition must be a function (value) => boolean, got ${describe(condition)}`);
  }
}

/** Whether the condition holds for the guarded value. @throws TypeError when it does not answer a boolean. */
function holds<T>(condition: (value: T) => boolean, guard: MutexGuard<T>, method: string): boolean {
  const answer: unknown = condition(guard.value);
  if (typeof answer !== "boolean") {
    throw new TypeError(
      `threadsafe: Condvar.${method}(guard, condition): condition must return a boolean (true: keep waiting), got ${describe(answer)}` +
        (answer instanceof Promise ? " (an async condition cannot be waited on: it would run without the mutex)" : ""),
    );
  }
  return answer;
}

function checkOptions(options: CondvarOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`threadsafe: new Condvar(options): options must be an object like { name: "not-empty" }, got ${describe(options)}`);
  }
  const { name } = options;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: new Condvar({ name }): name must be a string, got ${describe(name)}`);
  }
  return name;
}
