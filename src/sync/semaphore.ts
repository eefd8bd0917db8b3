/**
 * `Semaphore`: a number of permits shared by every thread that has it; `acquire` takes some (waiting until they are
 * free), the `Permit` it returns gives them back. What a pool or a rate limiter needs.
 */

import { DeadlockError } from "../errors.js";
import { lockRef, threadRef } from "../deadlock/report.js";
import { MAX_PERMITS, RawSemaphore, initSemaphore } from "../raw/raw-semaphore.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { allocateObject, countArrived, countNew, holdsIndex } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `new Semaphore(permits, options)`. */
export interface SemaphoreOptions {
  /** Appears in every error and report about this semaphore (at most 256 UTF-8 bytes). Default: `Semaphore#<id>`. */
  readonly name?: string;
}

/** Options of `Semaphore.with()`. */
export interface SemaphoreWithOptions extends LockOptions {
  /** How many permits to hold while the callback runs (default 1). */
  readonly permits?: number;
}

/** Options of `Semaphore.withAsync()`. */
export interface SemaphoreWithAsyncOptions extends LockAsyncOptions {
  /** How many permits to hold while the callback runs (default 1). */
  readonly permits?: number;
}

/** Creates permits; not exported from the package, so only the library can make one. */
const permitToken: unique symbol = Symbol("threadsafe.permit");
/** Rebuilds a Semaphore from a handle (only the shareable registry calls it). */
const fromParts: unique symbol = Symbol("threadsafe.fromParts");
/** Reaches the per-thread core of a Semaphore; not exported from the package. */
let semaphoreCoreOf: (object: Semaphore) => SemaphoreCore; // a private field read through a static block: unreachable from user code

/** What one thread keeps of a semaphore: its garbage collection ends the thread's count (runtime/lifetime.ts). */
interface SemaphoreCore {
  readonly raw: RawSemaphore;
  readonly name: string;
}

/**
 * Permits taken from a `Semaphore`, held until `release()` (or the end of a `using` block). Obtained from
 * `acquire()`, `tryAcquire()`, `acquireAsync()` or `with()`.
 *
 * A thread that ends while holding permits (returns, throws, is terminated) has them given back, and the
 * semaphore's waiters are woken: permits are never lost with a thread.
 *
 * @example
 * {
 *   using permit = pool.acquire();   // blocks until a permit is free
 *   useTheConnection();
 * } // given back here, even if the block throws
 */
export class Permit implements Disposable {
  readonly #core: SemaphoreCore;
  readonly #permits: number;
  #held = true;

  /** @internal Permits come from `Semaphore.acquire()` and its siblings. */
  constructor(token: typeof permitToken, core: SemaphoreCore, permits: number) {
    if (token !== permitToken) throw new TypeError("threadsafe: a Permit comes from semaphore.acquire(); it cannot be constructed");
    this.#core = core;
    this.#permits = permits;
  }

  /** How many permits this holds (the `n` it was acquired with). */
  get permits(): number {
    return this.#permits;
  }

  /** Whether this still holds its permits. */
  get held(): boolean {
    return this.#held;
  }

  /** The name of the semaphore the permits are from. */
  get semaphoreName(): string {
    return this.#core.name;
  }

  /**
   * Gives the permits back. Calling it a second time is an error; disposing after it (the `using` early-release
   * pattern) is harmless.
   */
  release(): void {
    if (!this.#held) {
      throw new Error(`threadsafe: release() called twice on a Permit of Semaphore "${this.#core.name}"; it was already released`);
    }
    this.#held = false;
    this.#core.raw.release(this.#permits);
  }

  /** Gives the permits back if this still holds them; what `using` calls at the end of the block. */
  [Symbol.dispose](): void {
    if (this.#held) {
      this.#held = false;
      this.#core.raw.release(this.#permits);
    }
  }
}

/**
 * A counting semaphore in shared memory, usable from every thread that has it (pass it to `spawn`, or through
 * `share`/`receive`): at most `permits` permits are out at any time.
 *
 * Permits are given back by `Permit.release()`, by the end of a `using` block, when a `with` callback returns or
 * throws, and when the thread holding them ends in any way (returns, throws, is terminated). A Semaphore has no
 * poisoning: it protects no data, so there is nothing a failed holder could leave half-written.
 *
 * Deadlock detection covers blocking waits for permits when one thread holds every permit that is not free (a cycle
 * through it throws `DeadlockError`); when several threads hold permits, any of them could free the waiter, and
 * no cycle is reported. A thread that blocks for permits that only it holds gets `DeadlockError` at once.
 *
 * @example
 * import { Semaphore, spawn } from "threadsafe";
 * const pool = new Semaphore(3, { name: "db-connections" });
 * const workers = [1, 2, 3, 4, 5].map((i) =>
 *   spawn((pool) => pool.with(() => { // at most 3 of the 5 at a time
 *     // …use one of the 3 connections…
 *   }), [pool]),
 * );
 * for (const w of workers) await w.join();
 * {
 *   using permit = pool.acquire(2, { timeout: 1000 }); // two permits, or LockTimeoutError after 1 s
 * }
 * const maybe = pool.tryAcquire(); // a Permit, or undefined if none is free
 * maybe?.release();
 */
export class Semaphore implements SharedObject {
  /** The name given at construction, or `Semaphore#<id>`. */
  readonly name: string;
  readonly #core: SemaphoreCore;

  /**
   * Creates a semaphore with `permits` permits, all free.
   * @throws TypeError or RangeError when `permits` is not an integer from 1 to 16,777,215, or an option is malformed.
   */
  constructor(permits: number, options?: SemaphoreOptions) {
    if (reviving) {
      this.#core = reviving;
      reviving = undefined;
      this.name = this.#core.name;
      return;
    }
    if (typeof permits !== "number") {
      throw new TypeError(`threadsafe: new Semaphore(permits): permits must be an integer from 1 to ${MAX_PERMITS}, got ${describe(permits)}`);
    }
    if (!Number.isInteger(permits) || permits < 1 || permits > MAX_PERMITS) {
      throw new RangeError(`threadsafe: new Semaphore(permits): permits must be an integer from 1 to ${MAX_PERMITS}, got ${permits}`);
    }
    const name = checkOptions(options);
    const rt = runtime();
    const id = allocateObject(rt, ObjectKind.Semaphore, name, undefined, 0);
    initSemaphore(rt, id, permits);
    this.#core = makeCore(rt, id);
    this.name = this.#core.name;
    this.#core.raw.attach(holdsIndex(rt, countNew(rt, currentThreadId, id, this.#core)));
  }

  /**
   * Blocks this thread until `n` permits are free, takes them and returns the `Permit` that gives them back.
   * @throws LockTimeoutError (`timeout` elapsed), DeadlockError (this thread holds every permit it would wait for,
   *   or a wait-for cycle through the one thread that holds them), TypeError or RangeError for a bad `n` or option,
   *   or Error where blocking is forbidden (use `acquireAsync`).
   */
  acquire(n = 1, options?: LockOptions): Permit {
    const core = this.#core;
    if (n === 1 && options === undefined) {
      const permit = new Permit(permitToken, core, 1); // before the permit is taken: see Mutex.lock
      if (core.raw.tryAcquire(1)) return permit;
    }
    return this.#acquireFor(checkN(core.raw, n, "acquire"), timeoutOf(options, "acquire"));
  }

  #acquireFor(n: number, timeout: number): Permit {
    const raw = this.#core.raw;
    if (!raw.tryAcquire(n)) {
      if (raw.wouldSelfDeadlock(n)) throw selfDeadlock(raw, n);
      raw.acquire(n, timeout);
    }
    return new Permit(permitToken, this.#core, n);
  }

  /**
   * Takes `n` permits if they are free right now; returns `undefined` instead of waiting.
   * @throws TypeError or RangeError for a bad `n`.
   */
  tryAcquire(n = 1): Permit | undefined {
    const core = this.#core;
    if (n !== 1) checkN(core.raw, n, "tryAcquire");
    return core.raw.tryAcquire(n) ? new Permit(permitToken, core, n) : undefined;
  }

  /**
   * Waits for `n` permits without blocking the thread (the event loop keeps running, and the thread stays alive
   * while it waits). Rejects with `LockTimeoutError`, or the signal's reason when aborted; an aborted or timed-out
   * wait takes nothing.
   */
  acquireAsync(n = 1, options?: LockAsyncOptions): Promise<Permit> {
    const core = this.#core;
    if (n === 1 && options === undefined && core.raw.tryAcquire(1)) return Promise.resolve(new Permit(permitToken, core, 1));
    return this.#acquireAsyncFor(n, options, "acquireAsync");
  }

  async #acquireAsyncFor(n: number, options: LockAsyncOptions | undefined, method: string): Promise<Permit> {
    const core = this.#core;
    checkN(core.raw, n, method);
    const timeout = timeoutOf(options, method);
    const signal = signalOf(options, method);
    await core.raw.acquireAsync(n, timeout, signal);
    return new Permit(permitToken, core, n);
  }

  /**
   * Takes permits (1, or `options.permits`), runs `fn` with the `Permit`, and gives them back when `fn` returns or
   * throws (the error propagates; nothing is poisoned).
   * @throws whatever `acquire()` throws; TypeError when `fn` returns a promise (use `withAsync`).
   * @example
   * const rows = pool.with(() => query("select 1"), { timeout: 5000 });
   */
  with<R>(fn: (permit: Permit) => R, options?: SemaphoreWithOptions): R {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: with(fn): fn must be a function, got ${describe(fn)}`);
    const n = options?.permits === undefined ? 1 : checkN(this.#core.raw, options.permits, "with", "{ permits }");
    const permit = options === undefined ? this.acquire() : this.#acquireFor(n, timeoutOf(options, "with"));
    let result: R;
    try {
      result = fn(permit);
    } finally {
      permit[Symbol.dispose]();
    }
    if (isThenable(result)) {
      void Promise.resolve(result).catch(() => {});
      throw new TypeError(
        `threadsafe: Semaphore "${this.name}": with(fn) got an async fn, which would keep running after its permits ` +
          `were given back; use "await semaphore.withAsync(fn)".`,
      );
    }
    return result;
  }

  /** Like `with`, for async callbacks: awaits the permits without blocking, awaits `fn`, then gives them back. */
  async withAsync<R>(fn: (permit: Permit) => R | PromiseLike<R>, options?: SemaphoreWithAsyncOptions): Promise<R> {
    if (typeof fn !== "function") throw new TypeError(`threadsafe: withAsync(fn): fn must be a function, got ${describe(fn)}`);
    const n = options?.permits ?? 1;
    const permit = await this.#acquireAsyncFor(n, options, "withAsync");
    try {
      return await fn(permit);
    } finally {
      permit[Symbol.dispose]();
    }
  }

  /** How many permits are free right now (a snapshot: other threads may take or give back permits at any time). */
  get available(): number {
    return this.#core.raw.available();
  }

  /** How many permits the semaphore has in all (the `permits` it was created with). */
  get permits(): number {
    return this.#core.raw.total;
  }

  /** The semaphore's id in the program's runtime: its `id` in errors, reports and `dumpLocks()`. */
  get lockId(): number {
    return this.#core.raw.id;
  }

  static {
    semaphoreCoreOf = (object) => object.#core;
  }

  /** Where this semaphore lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.Semaphore };
  }

  /** Rebuilds a semaphore in this thread from a handle (record `id` is live and a Semaphore: see shareable.ts). */
  static [fromParts](rt: Runtime, id: number, retained: boolean): Semaphore {
    const core = makeCore(rt, id);
    core.raw.attach(holdsIndex(rt, countArrived(rt, currentThreadId, id, core, retained)));
    reviving = core;
    return new Semaphore(0);
  }
}

registerShareable({
  kind: ObjectKind.Semaphore,
  name: "Semaphore",
  handleParts: () => ({}),
  checkParts() {},
  coreOf: (value) => semaphoreCoreOf(value as Semaphore),
  wrap(core) {
    reviving = core as SemaphoreCore;
    return new Semaphore(0);
  },
  fromHandle: (rt, id, _parts, retained) => Semaphore[fromParts](rt, id, retained),
});

/** Set for the constructor call that revives a semaphore (private fields need the constructor). */
let reviving: SemaphoreCore | undefined;

function makeCore(rt: Runtime, id: number): SemaphoreCore {
  return { raw: new RawSemaphore(rt, id), name: rt.objectName(id) };
}

/** `n` checked against the semaphore: an integer from 1 to its permits. */
function checkN(raw: RawSemaphore, n: unknown, method: string, what = "n"): number {
  if (typeof n !== "number") {
    throw new TypeError(
      `threadsafe: ${method}(${what}): ${what === "n" ? "n" : "permits"} must be an integer from 1 to ${raw.total} (the semaphore's permits), ` +
        `got ${describe(n)}${what === "n" && typeof n === "object" && n !== null ? ` (options go second: ${method}(1, { timeout }))` : ""}`,
    );
  }
  if (!Number.isInteger(n) || n < 1 || n > raw.total) {
    throw new RangeError(`threadsafe: ${method}(${what}): ${what === "n" ? "n" : "permits"} must be an integer from 1 to ${raw.total} (the semaphore's permits), got ${n}`);
  }
  return n;
}

function checkOptions(options: SemaphoreOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`threadsafe: new Semaphore(permits, options): options must be an object like { name: "pool" }, got ${describe(options)}`);
  }
  const { name } = options;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: new Semaphore(..., { name }): name must be a string, got ${describe(name)}`);
  }
  return name;
}

/** The error of a blocking wait for permits that only this thread holds. */
function selfDeadlock(raw: RawSemaphore, n: number): DeadlockError {
  const { rt, id } = raw;
  const thread = threadRef(rt, currentThreadId);
  const object = lockRef(rt, id);
  return new DeadlockError(
    `thread "${thread.name}" (id ${thread.id}) asked Semaphore "${object.name}" for ${n} permit${n === 1 ? "" : "s"} while ` +
      `only ${raw.available()} ${raw.available() === 1 ? "is" : "are"} free and this thread holds all the others (${raw.held} of ${raw.total}): ` +
      `a blocking wait here would never end, because the only holder is this same thread.\n` +
      `  Release a Permit first, ask for fewer permits, or, if a pending async task of this thread will release them, use acquireAsync().`,
    "self",
    [{ thread, waitsFor: object, holds: [object] }],
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}
