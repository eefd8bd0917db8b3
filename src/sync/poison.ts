/**
 * Poisoning, in one place (as in Rust's `sync/poison.rs`).
 *
 * A `PoisonError` carries the guard of a lock that this thread now holds. Rust drops that guard (and so unlocks)
 * when the error is discarded; JavaScript cannot see a discarded error, so an unclaimed guard would keep the lock
 * forever. Instead, a guard that nobody takes with `intoInner()` before this thread's current task ends is
 * released then (the lock stays poisoned), and a blocking re-lock of it by this thread releases it at once.
 */

import { PoisonError } from "../errors.js";
import type { MutexGuard, MutexCore } from "./guard.js";

/** Guards inside PoisonErrors not yet claimed with `intoInner()`, by lock id. */
const unclaimed = new Map<number, MutexGuard<unknown>>();

class ClaimablePoisonError<T> extends PoisonError<MutexGuard<T>> {
  readonly #lockId: number;
  constructor(message: string, guard: MutexGuard<T>, lockId: number) {
    super(message, guard);
    this.#lockId = lockId;
  }
  override intoInner(): MutexGuard<T> {
    const guard = super.intoInner();
    if (unclaimed.get(this.#lockId) === (guard as MutexGuard<unknown>)) unclaimed.delete(this.#lockId);
    return guard;
  }
}

/** Describes how `core`'s mutex was poisoned. */
export function poisonMessage<T>(core: MutexCore<T>): string {
  const details = core.raw.poisonDetails();
  const who = details.threadId === 0 ? "a thread" : `thread "${details.threadName ?? `thread-${details.threadId}`}" (id ${details.threadId})`;
  return (
    `threadsafe: Mutex "${core.name}" is poisoned: ${who} ${details.cause}, ${Math.round(details.agoMs)} ms ago. ` +
    `Its data may be half-updated. The lock is now held by this thread: call intoInner() on this error to get ` +
    `the guard, check or repair the data, then clearPoison() on the mutex (an unclaimed guard is released when ` +
    `this task ends).`
  );
}

/** Builds the PoisonError for a lock this thread just acquired in poisoned state. */
export function poisonError<T>(core: MutexCore<T>, guard: MutexGuard<T>): PoisonError<MutexGuard<T>> {
  const lockId = core.raw.id;
  const error = new ClaimablePoisonError<T>(poisonMessage(core), guard, lockId);
  unclaimed.set(lockId, guard as MutexGuard<unknown>);
  setTimeout(() => releaseUnclaimed(lockId, guard as MutexGuard<unknown>), 0);
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
