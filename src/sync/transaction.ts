/**
 * Wound-wait transactions (as Linux's ww_mutex; docs/deadlock-detection.md §8). A transaction takes
 * locks one by one as its code needs them, with no order to follow, and still cannot deadlock with other
 * transactions:
 *
 * - each transaction has an age (a ticket taken at its first start and kept across retries);
 * - when an older transaction needs a lock a younger one holds, it *wounds* the younger: the younger rolls back
 *   (releases everything it took), waits for the contended lock with nothing held, and runs again;
 * - a younger transaction that needs a lock an older one holds simply waits.
 *
 * The oldest transaction is never wounded, so every transaction finishes eventually (no starvation). Locks held
 * by code outside any transaction cannot be wounded: against such code, deadlock detection still applies, and a
 * DeadlockError inside a transaction also rolls it back and retries.
 */

import { DeadlockError } from "../errors.js";
import { interruptedWait } from "../parking/park.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { H_TXN_TICKETS_I64, type Runtime } from "../runtime/runtime.js";
import { T_FLAGS, T_TXN_I64, T_WAIT_OBJECT, ThreadFlag, slotOf } from "../runtime/threads.js";
import { checkBeforeWaiting, finishAcquire, waitFor } from "./acquire.js";
import { MutexGuard, unlockPoisoned } from "./guard.js";
import { Mutex, mutexCoreOf } from "./mutex.js";
import { describe } from "./options.js";

/** Handed to a transaction's function: takes locks for the transaction. */
export interface Transaction {
  /**
   * Locks `mutex` for the rest of the transaction (locking one it already holds returns the same guard). May roll
   * the transaction back by throwing an internal error: let it propagate (do not catch everything inside `fn`).
   */
  lock<T>(mutex: Mutex<T>): MutexGuard<T>;
  /** How many times this transaction has been rolled back and restarted so far. */
  readonly retries: number;
}

/** Options of `transaction`. */
export interface TransactionOptions {
  /** Give up (rethrowing the last cause) after this many rollbacks. Default 10 000. */
  readonly maxRetries?: number;
}

/** Thrown inside a transaction to roll it back; caught by `transaction`. */
class Rollback extends Error {
  override name = "TransactionRollback";
  constructor(readonly contended: Mutex<unknown>, readonly reason: unknown) {
    super("threadsafe: transaction rolled back (wounded by an older transaction, or part of a deadlock); it will retry");
  }
}

function ticketIndex(rt: Runtime, id: number): number {
  return rt.threadBase(slotOf(id)) / 2 + T_TXN_I64;
}

function flagsIndex(rt: Runtime, id: number): number {
  return rt.threadBase(slotOf(id)) + T_FLAGS;
}

/** Asks the (younger) transaction of thread `owner` to roll back, and wakes it if it is blocked. */
function wound(rt: Runtime, owner: number): void {
  Atomics.or(rt.words, flagsIndex(rt, owner), ThreadFlag.Wounded);
  const waitLock = Atomics.load(rt.words, rt.threadBase(slotOf(owner)) + T_WAIT_OBJECT) - 1;
  if (waitLock >= 0) Atomics.notify(rt.words, rt.stateIndex(waitLock));
}

class RunningTransaction implements Transaction {
  readonly guards = new Map<Mutex<unknown>, MutexGuard<unknown>>();
  constructor(
    readonly rt: Runtime,
    readonly ticket: bigint,
    readonly retries: number,
  ) {}

  wounded(): boolean {
    return (Atomics.load(this.rt.words, flagsIndex(this.rt, currentThreadId)) & ThreadFlag.Wounded) !== 0;
  }

  lock<T>(mutex: Mutex<T>): MutexGuard<T> {
    if (!(mutex instanceof Mutex)) throw new TypeError(`threadsafe: tx.lock(mutex): expected a Mutex, got ${describe(mutex)}`);
    const had = this.guards.get(mutex as Mutex<unknown>);
    if (had?.held) return had as MutexGuard<T>;
    const core = mutexCoreOf(mutex);
    const raw = core.raw;
    for (;;) {
      if (this.wounded()) throw this.rollback(mutex as Mutex<unknown>, "wounded");
      if (raw.tryLockFast()) return this.#keep(mutex, false);
      const owner = raw.owner();
      if (owner !== 0 && owner !== currentThreadId) {
        const ownerTicket = Atomics.load(this.rt.wide, ticketIndex(this.rt, owner));
        if (ownerTicket !== 0n && this.ticket < ownerTicket) wound(this.rt, owner);
      }
      try {
        // Lock levels apply; lock order is not recorded: wound-wait makes any order safe among transactions.
        checkBeforeWaiting(core, false);
        return this.#keep(mutex, waitFor(core, Infinity, () => this.wounded()));
      } catch (error) {
        if (error === interruptedWait) throw this.rollback(mutex as Mutex<unknown>, "wounded");
        if (error instanceof DeadlockError && error.kind === "cycle") throw this.rollback(mutex as Mutex<unknown>, error);
        throw error;
      }
    }
  }

  #keep<T>(mutex: Mutex<T>, poisoned: boolean): MutexGuard<T> {
    // A PoisonError owns its guard (intoInner() gives it, held); the transaction does not release it.
    const guard = finishAcquire(mutexCoreOf(mutex), poisoned, "blocking");
    this.guards.set(mutex as Mutex<unknown>, guard as MutexGuard<unknown>);
    return guard;
  }

  /** Set when this attempt threw a rollback (even if `fn` caught it). */
  rolledBack = false;

  rollback(mutex: Mutex<unknown>, reason: unknown): Rollback {
    this.rolledBack = true;
    return new Rollback(mutex, reason);
  }

  releaseAll(poison: boolean): void {
    for (const guard of this.guards.values()) {
      if (poison) unlockPoisoned(guard as MutexGuard<unknown>);
      else guard[Symbol.dispose]();
    }
    this.guards.clear();
  }
}

/**
 * Runs `fn` as a wound-wait transaction: it may lock any mutexes in any order through `tx.lock(m)`; if that could
 * deadlock with another transaction, the younger of the two rolls back (all its locks are released) and `fn` runs
 * again. So `fn` must be safe to run more than once: do side effects other than writes to the locked data after it
 * returns. All locks are released when `fn` returns; if `fn` throws, they are poisoned (as in `with`).
 *
 * @example
 * transaction((tx) => {
 *   const from = tx.lock(accounts[a]);
 *   const to = tx.lock(accounts[b]);     // any order, in any thread: no deadlock
 *   from.value -= 10;
 *   to.value += 10;
 * });
 */
export function transaction<R>(fn: (tx: Transaction) => R, options?: TransactionOptions): R {
  if (typeof fn !== "function") throw new TypeError(`threadsafe: transaction(fn): fn must be a function, got ${describe(fn)}`);
  const maxRetries = options?.maxRetries ?? 10_000;
  if (typeof maxRetries !== "number" || !(maxRetries >= 0)) {
    throw new RangeError(`threadsafe: transaction(fn, { maxRetries }): expected a number of retries, 0 or more, got ${String(maxRetries)}`);
  }
  const rt = runtime();
  const me = currentThreadId;
  const txIndex = ticketIndex(rt, me);
  if (Atomics.load(rt.wide, txIndex) !== 0n) {
    throw new Error("threadsafe: transaction(fn): transactions do not nest; take the locks through the outer tx instead");
  }
  const ticket = Atomics.add(rt.wide, H_TXN_TICKETS_I64, 1n) + 1n;
  Atomics.store(rt.wide, txIndex, ticket);
  let seed: Mutex<unknown> | undefined;
  try {
    for (let retries = 0; ; retries++) {
      Atomics.and(rt.words, flagsIndex(rt, me), ~ThreadFlag.Wounded);
      const tx = new RunningTransaction(rt, ticket, retries);
      let result: R;
      try {
        if (seed) tx.lock(seed); // the lock that made us roll back: taken first, with nothing else held
        result = fn(tx);
      } catch (error) {
        if (error instanceof Rollback) {
          tx.releaseAll(false);
          if (retries >= maxRetries) throw error.reason instanceof Error ? error.reason : error;
          seed = error.contended;
          continue;
        }
        tx.releaseAll(true);
        throw error;
      }
      if (tx.rolledBack && retries < maxRetries) {
        // fn caught the rollback itself: its work may be incomplete, so run it again.
        tx.releaseAll(false);
        continue;
      }
      tx.releaseAll(false);
      return result;
    }
  } finally {
    Atomics.store(rt.wide, txIndex, 0n);
    Atomics.and(rt.words, flagsIndex(rt, me), ~ThreadFlag.Wounded);
  }
}
