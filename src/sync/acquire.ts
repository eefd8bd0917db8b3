/**
 * The acquisition pipeline, in one place, for every primitive and every way of acquiring (`lock`, `tryLock`,
 * `lockAsync`, `with…`, `lockAll`, transactions):
 *
 *   checks before waiting (lock levels, lock order: held.ts) → the raw wait (src/raw/) → record the hold (levels,
 *   order, stacks) → build the guard → a PoisonError carrying it if the object was poisoned (poison.ts)
 *
 * A blocking wait that finds this thread holding the object only through an unclaimed PoisonError releases that
 * guard and waits again; a wait that ends without the object forgets where it was blocked. The fast paths of the
 * primitives (one compare-and-swap) do not come here: only when something needs doing.
 */

import { DeadlockError } from "../errors.js";
import { Acquired } from "../raw/raw-mutex.js";
import type { PoisonDetails } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { settings } from "../runtime/config.js";
import { acquired, beforeBlocking, beforeParking, waitAbandoned, type AcquisitionKind, type TrackedLock } from "./held.js";
import { isThenable } from "./options.js";
import { poisonError, poisonMessage, releaseUnclaimedOnRelock, type ReleasableGuard } from "./poison.js";

/** A raw lock as the pipeline drives it (RawMutex, and the exclusive side of other primitives). */
export interface RawLock {
  readonly rt: Runtime;
  readonly id: number;
  /** Blocks until taken; true when poisoned. */
  lock(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean;
  tryLock(): Acquired;
  lockAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean>;
  unlock(poison: boolean): void;
  poisonDetails(): PoisonDetails;
}

/** What a primitive gives the pipeline, once per object per thread. */
export interface LockCore<G extends ReleasableGuard> {
  readonly raw: RawLock;
  /** The object as held.ts tracks it (made once, so tracking allocates nothing per acquisition). */
  readonly tracked: TrackedLock;
  /** How messages name it: `Mutex "name"`. */
  readonly described: string;
  /** A guard for a hold this thread has just taken. */
  makeGuard(): G;
}

/** Options of a blocking acquisition. */
export interface BlockingOptions {
  /** Polled while waiting; true stops the wait with `interruptedWait` (a wounded transaction). */
  readonly interrupted?: () => boolean;
  /**
   * Whether to record lock-order edges (default true). Transactions do not: wound-wait lets them take locks in any
   * order without deadlock, so their order is no evidence of a bug. Lock levels apply to every acquisition.
   */
  readonly checkOrder?: boolean;
}

/** Describes how `core`'s object was poisoned, for a PoisonError. */
export function poisonReason<G extends ReleasableGuard>(core: LockCore<G>): string {
  return poisonMessage(core.described, core.raw.poisonDetails());
}

/**
 * The guard for a hold this thread has just taken through `core.raw`; throws the PoisonError carrying it when the
 * object was poisoned.
 */
export function finishAcquire<G extends ReleasableGuard>(core: LockCore<G>, poisoned: boolean, kind: AcquisitionKind): G {
  acquired(core.tracked, kind);
  const guard = core.makeGuard();
  if (poisoned) throw poisonError([poisonReason(core)], guard, [{ objectId: core.raw.id, guard }]);
  return guard;
}

/**
 * Guards for several holds taken together (lockAll), in the order given; one PoisonError carrying all of them
 * (as `payload(guards)`) when any was poisoned.
 */
export function finishAcquireAll<G extends ReleasableGuard, P>(
  cores: readonly LockCore<G>[],
  poisoned: ReadonlySet<LockCore<G>>,
  payload: (guards: G[]) => P,
): P {
  const guards = cores.map((core) => {
    acquired(core.tracked, "blocking");
    return core.makeGuard();
  });
  const result = payload(guards);
  if (poisoned.size > 0) {
    throw poisonError(
      cores.filter((core) => poisoned.has(core)).map(poisonReason),
      result,
      cores.map((core, i) => ({ objectId: core.raw.id, guard: guards[i]! })),
    );
  }
  return result;
}

/** The checks made before a blocking wait may start. @throws LockOrderError */
export function checkBeforeWaiting<G extends ReleasableGuard>(core: LockCore<G>, checkOrder = true): void {
  beforeBlocking(core.tracked, checkOrder);
}

/**
 * Blocks until `core`'s object is taken through its raw `lock`; returns whether it was poisoned. Releases an
 * unclaimed PoisonError's hold of the same object first, and forgets the blocking site when the wait fails.
 */
export function waitFor<G extends ReleasableGuard>(core: LockCore<G>, timeout: number, interrupted?: () => boolean): boolean {
  const raw = core.raw;
  const onPark = settings.stacks === "off" ? undefined : () => beforeParking(raw.rt);
  for (;;) {
    try {
      return raw.lock(timeout, onPark, interrupted);
    } catch (error) {
      waitAbandoned(raw.rt);
      if (error instanceof DeadlockError && error.kind === "self" && releaseUnclaimedOnRelock(raw.id)) continue;
      throw error;
    }
  }
}

/**
 * Blocks until this thread holds `core`'s object; returns the guard.
 * @throws PoisonError (the object is held: `intoInner()` gives the guard), LockTimeoutError, DeadlockError,
 *   LockOrderError, or Error where blocking is forbidden.
 */
export function acquireBlocking<G extends ReleasableGuard>(core: LockCore<G>, timeout: number, options?: BlockingOptions): G {
  checkBeforeWaiting(core, options?.checkOrder ?? true);
  return finishAcquire(core, waitFor(core, timeout, options?.interrupted), "blocking");
}

/** Takes `core`'s object if it is free right now; undefined instead of waiting. @throws PoisonError */
export function acquireNow<G extends ReleasableGuard>(core: LockCore<G>): G | undefined {
  let result = core.raw.tryLock();
  // Held by this thread only through unclaimed PoisonErrors: released (as Rust drops a discarded error's guard), then
  // tried once more, so a try reports the poison rather than "would block".
  if (result === Acquired.No && releaseUnclaimedOnRelock(core.raw.id)) result = core.raw.tryLock();
  return result === Acquired.No ? undefined : finishAcquire(core, result === Acquired.Poisoned, "try");
}

/**
 * Waits for `core`'s object without blocking the thread; resolves to the guard.
 * @throws PoisonError, LockTimeoutError, or the signal's reason.
 */
export async function acquireAsync<G extends ReleasableGuard>(core: LockCore<G>, timeout: number, signal: AbortSignal | undefined): Promise<G> {
  return finishAcquire(core, await core.raw.lockAsync(timeout, signal), "async");
}

/**
 * Runs `fn` with `guard` (the body of `with`-style methods), then releases the guard. If `fn` throws, the guard is
 * released poisoned (`poison`), as a panic poisons a Rust lock, and the error propagates. If `fn` returns a promise,
 * its critical section would go on past an `await` without the lock: the guard is released poisoned and a TypeError
 * says to use `asyncTwin`. The message's parts (`kind "name": call`) are joined only then: building it on every
 * call cost a string allocation per `with`.
 */
export function runWithGuard<G extends ReleasableGuard, R>(
  guard: G,
  fn: (guard: G) => R,
  poison: (guard: G) => void,
  kind: string,
  name: string,
  call: string,
  asyncTwin: string,
): R {
  let result: R;
  try {
    result = fn(guard);
  } catch (error) {
    poison(guard);
    throw error;
  }
  if (isThenable(result)) {
    poison(guard);
    void Promise.resolve(result).catch(() => {});
    throw new TypeError(
      `threadsafe: ${kind} "${name}": ${call} got an async fn, which would keep running after the lock is released; use "await ${asyncTwin}". ` +
        `The lock was poisoned.`,
    );
  }
  guard[Symbol.dispose]();
  return result;
}

/**
 * `runWithGuard` for async callbacks: awaits `fn`, then releases the guard (poisoned if `fn` threw or rejected).
 * A callback that returns a plain value is not awaited: the guard is released before this returns.
 */
export async function runWithGuardAsync<G extends ReleasableGuard, R>(guard: G, fn: (guard: G) => R | PromiseLike<R>, poison: (guard: G) => void): Promise<R> {
  let result: R;
  try {
    const returned = fn(guard);
    result = isThenable(returned) ? await returned : returned;
  } catch (error) {
    poison(guard);
    throw error;
  }
  guard[Symbol.dispose]();
  return result;
}
