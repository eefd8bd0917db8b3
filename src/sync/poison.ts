/**
 * Poisoning, in one place (as in Rust's `sync/poison.rs`).
 *
 * A `PoisonError` carries the guard of a lock that this thread now holds (or, from `lockAll`, all the guards).
 * Rust drops that guard, and so unlocks, when the error is discarded; JavaScript cannot see a discarded error, so an
 * unclaimed guard would keep its lock forever. Instead, guards that nobody takes with `intoInner()` before this
 * thread's current task ends are released then (the lock stays poisoned), and a blocking re-lock by this thread of
 * a lock held only through an unclaimed error releases it at once.
 */

import { PoisonError } from "../errors.js";
import type { MutexGuard, MutexCore } from "./guard.js";

/** Guards inside PoisonErrors not yet claimed with `intoInner()`, by lock id. */
const unclaimed = new Map<number, MutexGuard<unknown>>();

interface Held {
  readonly lockId: number;
  readonly guard: MutexGuard<unknown>;
}

class ClaimablePoisonError<P> extends PoisonError<P> {
  readonly #held: readonly Held[];
  constructor(message: string, payload: P, held: readonly Held[]) {
    super(message, payload);
    this.#held = held;
  }
  override intoInner(): P {
    for (const { lockId, guard } of this.#held) if (unclaimed.get(lockId) === guard) unclaimed.delete(lockId);
    return super.intoInner();
  }
}

/** Describes how `core`'s mutex was poisoned. */
export function poisonMessage<T>(core: MutexCore<T>): string {
  const details = core.raw.poisonDetails();
  const who = details.threadId === 0 ? "a thread" : `thread "${details.threadName ?? `thread-${details.threadId}`}" (id ${details.threadId})`;
  return `Mutex "${core.name}" is poisoned: ${who} ${details.cause}, ${Math.round(details.agoMs)} ms ago.`;
}

const ADVICE =
  "Its data may be half-updated. The lock is now held by this thread: call intoInner() on this error to get " +
  "the guard, check or repair the data, then clearPoison() on the mutex (an unclaimed guard is released when " +
  "this task ends).";

/**
 * Builds the PoisonError for locks this thread just acquired, some of them poisoned. `payload` is what
 * `intoInner()` returns; `guards` are released if it is never called.
 */
export function poisonError<P>(reasons: readonly string[], payload: P, guards: ReadonlyArray<{ lockId: number; guard: MutexGuard<unknown> }>): PoisonError<P> {
  const error = new ClaimablePoisonError<P>(`threadsafe: ${reasons.join(" ")} ${ADVICE}`, payload, guards);
  for (const { lockId, guard } of guards) unclaimed.set(lockId, guard);
  setTimeout(() => {
    for (const { lockId, guard } of guards) releaseUnclaimed(lockId, guard);
  }, 0);
  return error;
}

function releaseUnclaimed(lockId: number, guard: MutexGuard<unknown>): void {
  if (unclaimed.get(lockId) !== guard) return;
  unclaimed.delete(lockId);
  guard[Symbol.dispose]();
}

/**
 * Called before this thread blocks on a lock that it holds itself: if it holds it only through an unclaimed
 * PoisonError, releases it and returns true (the caller retries).
 */
export function releaseUnclaimedOnRelock(lockId: number): boolean {
  const guard = unclaimed.get(lockId);
  if (!guard) return false;
  unclaimed.delete(lockId);
  guard[Symbol.dispose]();
  return true;
}
