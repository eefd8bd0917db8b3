/**
 * `Once`: a function run exactly once program-wide, whichever thread gets there first (Rust's `std::sync::Once`).
 */

import { Begin, Claim, OnFailure, RawOnce } from "../raw/raw-once.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { allocateObject, countArrived, countNew } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { newDataTag } from "./data.js";
import {
  checkFn,
  isThenable,
  nameOf,
  oncePoisonError,
  reentrantError,
  type OnceOptions,
  type OnceWaitAsyncOptions,
  type OnceWaitOptions,
} from "./once-common.js";
import { signalOf, timeoutOf } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** What `callOnceForce` tells its function (Rust's `OnceState`). */
export interface OnceState {
  /** Whether the `Once` was poisoned when this run began (an earlier run threw, or its thread died). */
  isPoisoned(): boolean;
}

/** What one thread keeps of a Once: its garbage collection ends the thread's count. */
interface OnceCore {
  readonly raw: RawOnce;
  readonly described: string;
}

let onceCoreOf: (object: Once) => OnceCore; // a private field read through a static block: unreachable from user code

const POISON_ADVICE = "callOnceForce(fn) runs a function anyway (and the Once is complete once it succeeds).";

/**
 * Runs a function exactly once program-wide: the first thread to call `callOnce` runs it, every concurrent caller
 * (in any thread that has this `Once`) waits until it has finished, and later calls return at once.
 *
 * If the function throws, or its thread dies while running it, the `Once` is poisoned: waiting callers wake and
 * later `callOnce` calls throw `PoisonError`; `callOnceForce` runs its function anyway.
 *
 * @example
 * import { Once, spawn } from "threadsafe";
 * const init = new Once({ name: "init" });
 * const workers = [1, 2, 3].map(() => spawn((init) => { init.callOnce(() => console.log("set up once")); }, [init]));
 * for (const w of workers) await w.join();   // "set up once" is printed exactly once
 * init.isCompleted();                       // true
 */
export class Once implements SharedObject {
  readonly #core: OnceCore;
  /** This thread has seen it complete: it can never change again, so no atomic is needed any more. */
  #done = false;

  /** @throws TypeError when an option is malformed; RangeError when too many shared objects are alive. */
  constructor(options?: OnceOptions) {
    if (reviving) {
      this.#core = reviving;
      reviving = undefined;
      return;
    }
    const name = nameOf(options, "new Once(options)");
    const rt = runtime();
    const id = allocateObject(rt, ObjectKind.Once, name, undefined, newDataTag());
    this.#core = makeCore(rt, id);
    countNew(rt, currentThreadId, id, this.#core);
  }

  /**
   * Runs `fn` if no call of this `Once` has completed yet; waits while another thread runs it; returns at once
   * when it has completed.
   * @throws what `fn` throws (the `Once` is then poisoned); PoisonError when it is poisoned; TypeError when `fn`
   *   returns a promise (use `callOnceAsync`); DeadlockError when called from inside its own `fn`, or when waiting
   *   closes a wait-for cycle; TimeoutError after `timeout` ms.
   */
  callOnce(fn: () => void, options?: OnceWaitOptions): void {
    checkFn(fn, "callOnce");
    if (this.#done) return;
    this.#run(fn, Claim.Normal, timeoutOf(options, "callOnce"), "callOnce");
  }

  /**
   * Like `callOnce`, but also runs when the `Once` is poisoned: `fn` gets a `OnceState` that says whether it is.
   * When `fn` returns, the `Once` is complete (and no longer poisoned).
   * @throws as `callOnce`, except PoisonError.
   */
  callOnceForce(fn: (state: OnceState) => void, options?: OnceWaitOptions): void {
    checkFn(fn, "callOnceForce");
    if (this.#done) return;
    this.#run(fn, Claim.Force, timeoutOf(options, "callOnceForce"), "callOnceForce");
  }

  /**
   * `callOnce` for async functions, without blocking the thread: waits with `Atomics.waitAsync` (keeping the
   * thread alive meanwhile), awaits `fn` when this call runs it.
   * @throws (rejects with) what `fn` throws (the `Once` is then poisoned), PoisonError, TimeoutError, or the
   *   signal's reason when aborted.
   */
  async callOnceAsync(fn: () => void | PromiseLike<void>, options?: OnceWaitAsyncOptions): Promise<void> {
    checkFn(fn, "callOnceAsync");
    if (this.#done) return;
    const timeout = timeoutOf(options, "callOnceAsync");
    const signal = signalOf(options, "callOnceAsync");
    const { raw, described } = this.#core;
    const begun = await raw.beginAsync(Claim.Normal, timeout, signal);
    if (begun === Begin.Poisoned) throw oncePoisonError(raw.rt, raw.id, described, POISON_ADVICE);
    if (begun === Begin.Claimed) {
      try {
        await fn();
      } catch (error) {
        raw.fail();
        throw error;
      }
      raw.finish();
    }
    this.#done = true;
  }

  /**
   * Blocks until a call of this `Once` has completed (Rust's `Once::wait`), without running anything.
   * @throws PoisonError when it is (or becomes) poisoned; TimeoutError; DeadlockError.
   */
  wait(options?: OnceWaitOptions): void {
    if (this.#done) return;
    this.#run(undefined, Claim.WaitOnly, timeoutOf(options, "wait"), "wait");
  }

  /** `wait` without blocking the thread. Rejects with PoisonError, TimeoutError, or the signal's reason. */
  async waitAsync(options?: OnceWaitAsyncOptions): Promise<void> {
    if (this.#done) return;
    const timeout = timeoutOf(options, "waitAsync");
    const signal = signalOf(options, "waitAsync");
    const { raw, described } = this.#core;
    const begun = await raw.beginAsync(Claim.WaitOnly, timeout, signal);
    if (begun === Begin.Poisoned) throw oncePoisonError(raw.rt, raw.id, described, POISON_ADVICE);
    this.#done = true;
  }

  /** Whether a call has completed (`false` while running, and while poisoned). */
  isCompleted(): boolean {
    if (this.#done) return true;
    return (this.#done = this.#core.raw.isComplete());
  }

  /** The object's name in reports: the one given, or `Once#<id>`. */
  get name(): string {
    return this.#core.raw.rt.objectName(this.#core.raw.id);
  }

  #run(fn: ((state: OnceState) => void) | undefined, mode: Claim, timeout: number, method: string): void {
    const { raw, described } = this.#core;
    const begun = raw.begin(mode, timeout);
    if (begun === Begin.Complete) {
      this.#done = true;
      return;
    }
    if (begun === Begin.Poisoned) throw oncePoisonError(raw.rt, raw.id, described, POISON_ADVICE);
    if (begun === Begin.RunningHere) throw reentrantError(raw.rt, raw.id, described, method);
    // Claimed: this thread runs it.
    const poisoned = raw.claimedPoisoned;
    let result: unknown;
    try {
      result = fn!({ isPoisoned: () => poisoned });
    } catch (error) {
      raw.fail();
      throw error;
    }
    if (isThenable(result)) {
      raw.fail();
      void Promise.resolve(result).then(undefined, () => {});
      throw new TypeError(`threadsafe: ${described}: ${method}(fn) got an async fn; use "await once.callOnceAsync(fn)". The Once was poisoned.`);
    }
    raw.finish();
    this.#done = true;
  }

  static {
    onceCoreOf = (object) => object.#core;
  }

  /** Where this object lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.Once };
  }
}

let reviving: OnceCore | undefined;

function makeCore(rt: Runtime, id: number): OnceCore {
  return { raw: new RawOnce(rt, id, OnFailure.Poison), described: `Once "${rt.objectName(id)}"` };
}

registerShareable({
  kind: ObjectKind.Once,
  name: "Once",
  coreOf: (value) => onceCoreOf(value as Once),
  handleParts: () => ({}),
  checkParts() {},
  wrap(core) {
    reviving = core as OnceCore;
    return new Once();
  },
  fromHandle(rt, id, _parts, retained) {
    const core = makeCore(rt, id);
    countArrived(rt, currentThreadId, id, core, retained);
    reviving = core;
    return new Once();
  },
});
