/**
 * `LazyLock<T>`: a value in shared memory computed on first use, by whichever thread uses it first (Rust's
 * `std::sync::LazyLock`). Its initializer crosses threads as source text, with the rules of `spawn`'s functions.
 */

import type { Snapshot } from "../layout/index.js";
import type { Layout } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { Begin, Claim, OnFailure } from "../raw/raw-once.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { countArrived, countNew } from "../runtime/lifetime.js";
import { checkFunctionSource, compileFunction } from "./compile.js";
import { checkedLayout, allocateValueObject } from "./data.js";
import { checkFn, isThenable, nameOf, oncePoisonError, reentrantError, type OnceOptions, type OnceWaitAsyncOptions, type OnceWaitOptions } from "./once-common.js";
import { completeCell, makeCellCore, readCell, type CellCore } from "./once-lock.js";
import { checkLayout, signalOf, timeoutOf } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

interface LazyCore<T> extends CellCore<T> {
  /** The initializer's source text (what every thread that may run it receives). */
  readonly source: string;
}

let lazyCoreOf: <T>(object: LazyLock<T>) => LazyCore<T>; // a private field read through a static block: unreachable from user code

const POISON_ADVICE = "A LazyLock whose initializer failed stays poisoned, as in Rust: create a new one.";

/**
 * A value in shared memory computed on first use: the first thread to read `.value` (or call `force()`) runs
 * `init`, concurrent readers in other threads wait for it, and every thread then reads the same value.
 *
 * `init` is sent to the other threads as source text, like `spawn`'s functions: it must be a standalone function
 * that sees nothing of its surrounding scope (a closure over a local variable fails with ReferenceError when it
 * runs). It runs the same way in the thread that created the `LazyLock`. If it throws, or its thread dies while
 * running it, the `LazyLock` is poisoned (as Rust's is): that call throws `init`'s error, later ones `PoisonError`.
 *
 * @example
 * import { LazyLock, spawn, array, u32 } from "threadsafe";
 * const primes = new LazyLock(array(u32, 10), () => {
 *   const out: number[] = [];
 *   for (let n = 2; out.length < 10; n++) if (out.every((p) => n % p !== 0)) out.push(n);
 *   return out;
 * });
 * const w = spawn((primes) => primes.value[9], [primes]);
 * console.log(await w.join(), primes.value[0]);   // 29 2 (computed once, by whichever thread came first)
 */
export class LazyLock<T> implements SharedObject {
  readonly #core: LazyCore<T>;
  #value: Snapshot<T> | undefined = undefined;

  /**
   * A value for `layout`, computed by `init()` on first use.
   * @throws TypeError when `layout`, `init` (not a function, or not standalone source) or an option is malformed.
   */
  constructor(layout: Layout<T>, init: () => Assignable<T> | PromiseLike<Assignable<T>>, options?: OnceOptions) {
    if (reviving) {
      this.#core = reviving as LazyCore<T>;
      reviving = undefined;
      return;
    }
    checkLayout(layout, "new LazyLock(layout, init)");
    checkFn(init, "new LazyLock(layout, init)");
    const source = Function.prototype.toString.call(init);
    checkFunctionSource(source, "new LazyLock(layout, init): init");
    const name = nameOf(options, "new LazyLock(layout, init, options)");
    const { rt, id, views } = allocateValueObject(layout, ObjectKind.LazyLock, name, undefined);
    const data = views.buffer as SharedArrayBuffer;
    this.#core = { ...makeCellCore(rt, id, layout, data, OnFailure.Poison, "LazyLock"), source };
    countNew(rt, currentThreadId, id, this.#core);
  }

  /**
   * The value, computed first if no thread has yet (blocks while another thread computes it).
   * @throws what `init` throws, PoisonError, DeadlockError, as `force()`.
   */
  get value(): Snapshot<T> {
    const value = this.#value;
    return value !== undefined ? value : this.#force(Infinity, "value");
  }

  set value(_: unknown) {
    throw new TypeError("threadsafe: a LazyLock's value is computed once by its init and cannot be assigned; use a OnceLock to set a value");
  }

  /**
   * The value, computed first if no thread has yet (Rust's `LazyLock::force`).
   * @throws what `init` throws (the LazyLock is then poisoned); PoisonError when it is poisoned; TypeError when
   *   `init` returns a promise (use `forceAsync`) or a value that does not fit the layout; DeadlockError when
   *   `init` reads its own LazyLock, or when waiting closes a wait-for cycle; TimeoutError after `timeout` ms.
   */
  force(options?: OnceWaitOptions): Snapshot<T> {
    const value = this.#value;
    if (value !== undefined) return value;
    return this.#force(timeoutOf(options, "force"), "force");
  }

  /**
   * `force` without blocking the thread; `init` may be async here.
   * @throws (rejects with) what `init` throws, PoisonError, TimeoutError, or the signal's reason.
   */
  async forceAsync(options?: OnceWaitAsyncOptions): Promise<Snapshot<T>> {
    const value = this.#value;
    if (value !== undefined) return value;
    const timeout = timeoutOf(options, "forceAsync");
    const signal = signalOf(options, "forceAsync");
    const core = this.#core;
    const begun = await core.raw.beginAsync(Claim.Normal, timeout, signal);
    if (begun === Begin.Poisoned) throw oncePoisonError(core.raw.rt, core.raw.id, core.described, POISON_ADVICE);
    if (begun === Begin.Claimed) {
      try {
        completeCell(core, await compileFunction(core.source)(), "the value init returned");
      } catch (error) {
        core.raw.fail();
        throw error;
      }
    }
    return (this.#value = readCell(core));
  }

  /** Whether the value has been computed (by any thread). Never blocks, never computes. */
  isInitialized(): boolean {
    return this.#value !== undefined || this.#core.raw.isComplete();
  }

  /** The object's name in reports: the one given, or `LazyLock#<id>`. */
  get name(): string {
    return this.#core.raw.rt.objectName(this.#core.raw.id);
  }

  #force(timeout: number, method: string): Snapshot<T> {
    const core = this.#core;
    const { raw } = core;
    const begun = raw.begin(Claim.Normal, timeout);
    if (begun === Begin.Poisoned) throw oncePoisonError(raw.rt, raw.id, core.described, POISON_ADVICE);
    if (begun === Begin.RunningHere) throw reentrantError(raw.rt, raw.id, core.described, method);
    if (begun === Begin.Claimed) {
      try {
        const value = compileFunction(core.source)();
        if (isThenable(value)) {
          void Promise.resolve(value).then(undefined, () => {});
          throw new TypeError(`threadsafe: ${core.described}: init is async; use "await lazy.forceAsync()". The LazyLock was poisoned.`);
        }
        completeCell(core, value, "the value init returned");
      } catch (error) {
        raw.fail();
        throw error;
      }
    }
    return (this.#value = readCell(core));
  }

  static {
    lazyCoreOf = (object) => object.#core;
  }

  /** Where this object lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.LazyLock };
  }
}

let reviving: LazyCore<unknown> | undefined;

registerShareable({
  kind: ObjectKind.LazyLock,
  name: "LazyLock",
  checkParts(rt, id, parts) {
    checkedLayout(rt, id, parts);
    if (typeof parts["source"] !== "string") throw new TypeError("its init source is not a string");
  },
  coreOf: (value) => lazyCoreOf(value as LazyLock<unknown>),
  handleParts(value) {
    const core = lazyCoreOf(value as LazyLock<unknown>);
    return { data: core.data, layout: core.layout.describe(), source: core.source };
  },
  wrap(core) {
    reviving = core as LazyCore<unknown>;
    return new LazyLock<unknown>(undefined as never, undefined as never);
  },
  fromHandle(rt, id, parts, retained) {
    const layout = checkedLayout(rt, id, parts);
    const core: LazyCore<unknown> = {
      ...makeCellCore(rt, id, layout, parts["data"] as SharedArrayBuffer, OnFailure.Poison, "LazyLock"),
      source: parts["source"] as string,
    };
    countArrived(rt, currentThreadId, id, core, retained);
    reviving = core;
    return new LazyLock<unknown>(undefined as never, undefined as never);
  },
});
