/**
 * Poisoning, in one place (as in Rust's `sync/poison.rs`), for every primitive's guards.
 *
 * The flag lives in the primitive's word and the record of who poisoned it beside it (runtime/poison.ts). This
 * module owns the other half: the `PoisonError` a thread gets when it acquires a poisoned object, and the lifetime of
 * the guard inside it. Rust drops that guard, and so unlocks, when the error is discarded; JavaScript cannot see a
 * discarded error, so an unclaimed guard would keep its lock forever. Instead:
 *
 * - guards that nobody takes with `intoInner()` before the current task ends are released then (the object stays
 *   poisoned), and so are those still unclaimed when the thread's function returns, which then ends normally;
 * - a blocking re-acquisition by this thread of an object held only through an unclaimed error releases it at once;
 * - `intoInner()` after such a release throws an Error that says so, never a guard that is not held.
 */

import { PoisonError as BasePoisonError, type PoisonError } from "../errors.js";
import type { PoisonDetails } from "../runtime/poison.js";

/** What this module needs of a guard. */
export interface ReleasableGuard {
  /** Whether the guard still holds its object. */
  readonly held: boolean;
  [Symbol.dispose](): void;
}

/** A guard inside a PoisonError, and the object it holds. */
export interface PoisonedHold {
  readonly objectId: number;
  readonly guard: ReleasableGuard;
}

/**
 * Guards inside PoisonErrors not yet claimed with `intoInner()`, by object id: a set, because one thread can hold one
 * object through several at once (two read guards of an RwLock, each from a PoisonError).
 */
const unclaimed = new Map<number, Set<ReleasableGuard>>();

/** Forgets `guard` as unclaimed; true when it was. */
function forget(objectId: number, guard: ReleasableGuard): boolean {
  const guards = unclaimed.get(objectId);
  if (!guards?.delete(guard)) return false;
  if (guards.size === 0) unclaimed.delete(objectId);
  return true;
}

/** A PoisonError that knows its guards (named PoisonError too: `constructor.name` is what users may print). */
const ClaimablePoisonError = class PoisonError<P> extends BasePoisonError<P> {
  readonly #held: readonly PoisonedHold[];
  constructor(message: string, payload: P, held: readonly PoisonedHold[]) {
    super(message, payload);
    this.#held = held;
  }
  override intoInner(): P {
    for (const { objectId, guard } of this.#held) {
      if (!forget(objectId, guard) && !guard.held) {
        throw new Error(
          "threadsafe: intoInner(): the guard in this PoisonError was already released, because nobody claimed it " +
            "before the task that raised the error ended (or this thread locked the same object again). Call " +
            "intoInner() right where you catch the error; to repair the data now, lock the object again.",
        );
      }
    }
    return super.intoInner();
  }
};

/** Describes how the object `described` (`Mutex "name"`) was poisoned. */
export function poisonMessage(described: string, details: PoisonDetails): string {
  const who = details.threadId === 0 ? "a thread" : `thread "${details.threadName ?? `thread-${details.threadId}`}" (id ${details.threadId})`;
  return `${described} is poisoned: ${who} ${details.cause}, ${Math.round(details.agoMs)} ms ago.`;
}

const ADVICE =
  "Its data may be half-updated. The lock is now held by this thread: call intoInner() on this error to get " +
  "the guard, check or repair the data, then clearPoison() (an unclaimed guard is released when this task ends).";

/**
 * Builds the PoisonError for objects this thread just acquired, some of them poisoned. `payload` is what
 * `intoInner()` returns; the guards of `held` are released if it is never called.
 */
export function poisonError<P>(reasons: readonly string[], payload: P, held: readonly PoisonedHold[]): PoisonError<P> {
  const error = new ClaimablePoisonError<P>(`threadsafe: ${reasons.join(" ")} ${ADVICE}`, payload, held);
  for (const { objectId, guard } of held) {
    let guards = unclaimed.get(objectId);
    if (!guards) unclaimed.set(objectId, (guards = new Set()));
    guards.add(guard);
  }
  setTimeout(() => {
    for (const { objectId, guard } of held) releaseUnclaimed(objectId, guard);
  }, 0);
  return error;
}

function releaseUnclaimed(objectId: number, guard: ReleasableGuard): void {
  if (forget(objectId, guard)) guard[Symbol.dispose]();
}

/**
 * Called when this thread finds an object it wants held by itself (a blocking wait that would deadlock on itself, a
 * try that failed): if it holds it through unclaimed PoisonErrors, releases those and returns true (the caller
 * retries).
 */
export function releaseUnclaimedOnRelock(objectId: number): boolean {
  const guards = unclaimed.get(objectId);
  if (!guards) return false;
  for (const guard of [...guards]) releaseUnclaimed(objectId, guard);
  return true;
}

/** Releases every unclaimed guard now (the thread's function has returned: Rust would have dropped them). */
export function releaseAllUnclaimed(): void {
  for (const [objectId, guards] of [...unclaimed]) for (const guard of [...guards]) releaseUnclaimed(objectId, guard);
}
