/**
 * `MutexGuard<T>`: proof that this thread holds a mutex, and the only way to reach its data. Releases at the end
 * of a `using` block (like Rust's `Drop`), or with `unlock()`.
 */

import type { DataViews, Layout, Liveness } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import type { RawMutex } from "../raw/raw-mutex.js";
import type { LockCore } from "./acquire.js";
import { DATA_OFFSET } from "./data.js";
import { anyTracked, released } from "./held.js";

/**
 * What every guard of one mutex shares: created once per mutex per thread. Its garbage collection is what ends the
 * thread's count of the mutex (runtime/lifetime.ts), so every guard and pending wait keeps it reachable.
 */
export interface MutexCore<T> extends LockCore<MutexGuard<T>> {
  readonly raw: RawMutex;
  readonly layout: Layout<T>;
  readonly views: DataViews;
  /** The data buffer (sent in handles). */
  readonly data: SharedArrayBuffer;
  readonly name: string;
  /** The mutex's level for lock hierarchies, if it has one. */
  readonly level: number | undefined;
}

/** Creates guards; not exported from the package, so only the library can make one. */
export const guardToken: unique symbol = Symbol("threadsafe.guard");
/**
 * Releases a guard and marks its mutex poisoned (used by `with` when the callback throws). For this package's own
 * modules: not re-exported, so user code cannot reach it.
 */
export let unlockPoisoned: (guard: MutexGuard<unknown>) => void;
/**
 * A Condvar's use of a guard during a wait: "core" gives the guard's core (to check and bind before anything
 * changes), "release" releases the mutex for the wait, "reheld" marks the same guard held again once the waiter has
 * taken the mutex back through the core. For this package's own modules, like `unlockPoisoned`.
 */
export let guardForWait: <T>(guard: MutexGuard<T>, step: "core" | "release" | "reheld") => MutexCore<T>;

/**
 * Access to the data of a locked `Mutex<T>`. Obtained from `lock()`, `tryLock()`, `lockAsync()` or `with()`.
 *
 * `value` reads and writes the shared data. For `struct` and `array` layouts it is a live view: its fields read
 * and write shared memory directly, and assigning an object to `value` writes every field. Any use of the guard or
 * of a view after the guard is released throws.
 *
 * @example
 * {
 *   using num = counter.lock();
 *   num.value += 1;
 * } // released here, even if the block throws
 */
export class MutexGuard<T> implements Disposable, Liveness {
  // Two fields and no private methods: a private method gives every instance a brand slot and every call a brand
  // check, and this object is allocated by every lock() (docs/measurements.md, "the guard").
  readonly #core: MutexCore<T>;
  #held: boolean;

  /** @internal Guards come from `Mutex.lock()` and its siblings. */
  constructor(token: typeof guardToken, core: MutexCore<T>) {
    if (token !== guardToken) throw new TypeError("threadsafe: a MutexGuard comes from mutex.lock(); it cannot be constructed");
    this.#core = core;
    this.#held = true;
  }

  /** The protected value (a live view for `struct` and `array` layouts). */
  get value(): T {
    const core = this.#core;
    if (!this.#held) throw releasedError(core, "read value through");
    return core.layout.read(core.views, DATA_OFFSET, this);
  }

  set value(value: Assignable<T>) {
    const core = this.#core;
    if (!this.#held) throw releasedError(core, "write value through");
    core.layout.write(core.views, DATA_OFFSET, value as T);
  }

  /** The name of the mutex this guard holds. */
  get mutexName(): string {
    return this.#core.name;
  }

  /** Whether this guard still holds its mutex. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Releases the mutex. Calling it a second time is an error; disposing after it (the `using` early-release
   * pattern) is harmless.
   */
  unlock(): void {
    if (!this.#held) {
      throw new Error(`threadsafe: unlock() called twice on a guard of Mutex "${this.#core.name}"; it was already released`);
    }
    this.#held = false;
    release(this.#core, false);
  }

  /** Releases the mutex if this guard still holds it; what `using` calls at the end of the block. */
  [Symbol.dispose](): void {
    if (this.#held) {
      this.#held = false;
      release(this.#core, false);
    }
  }

  static {
    unlockPoisoned = (guard) => {
      if (guard.#held) {
        guard.#held = false;
        release(guard.#core, true);
      }
    };
  }

  /** @internal Condvar waits (see `forWait`). */
  static {
    guardForWait = (guard, step) => {
      if (step === "reheld") {
        guard.#held = true;
      } else if (!guard.#held) {
        throw releasedError(guard.#core, "wait on a Condvar with");
      } else if (step === "release") {
        guard.#held = false;
        release(guard.#core, false);
      }
      return guard.#core;
    };
  }

  /** Throws if this guard was released: views of `struct`/`array` values call it on every access. */
  assertLive(): void {
    if (!this.#held) throw releasedError(this.#core, "use a view of");
  }

  /**
   * Zero-copy escape hatch for hot paths: a `Uint8Array` over the raw bytes of the protected value, live in shared
   * memory. It cannot be revoked: using it after the guard is released is a data race that the library cannot
   * catch. Prefer `value` unless you measured that the copy matters.
   */
  unsafeBytes(): Uint8Array {
    if (!this.#held) throw releasedError(this.#core, "take bytes through");
    return new Uint8Array(this.#core.views.buffer, DATA_OFFSET, this.#core.layout.size);
  }
}

/** Releases a hold of `core`'s mutex (the guard has already marked itself released). */
function release<T>(core: MutexCore<T>, poison: boolean): void {
  if (anyTracked) released(core.raw.rt, core.raw.id);
  core.raw.unlock(poison);
}

function releasedError<T>(core: MutexCore<T>, action: string): Error {
  return new Error(`threadsafe: cannot ${action} a guard of Mutex "${core.name}" after it was unlocked`);
}
