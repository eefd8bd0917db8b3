/**
 * `lockAll` / `lockAllAsync`: take several mutexes without holding one of them while waiting for another
 * (design: reference/deadlock-prior-art.md §4.3, after libc++'s `std::lock`), so that a set taken this way is not
 * part of a wait-for cycle whatever order other code uses.
 *
 * The loop: wait for one lock of the set, then try the others without waiting; on the first that is busy, release
 * everything and wait for *that* one next. After POLITE_ROUNDS such rounds (a livelock guard) it falls back to
 * waiting for each in the canonical order (level, then creation order) while holding the earlier ones: still
 * deadlock-free against every other ordered or lockAll user, and covered by deadlock detection against code that
 * takes the same locks in another order.
 */

import { LockTimeoutError, type PoisonError } from "../errors.js";
import { timeoutError } from "../deadlock/report.js";
import { now } from "../platform/index.js";
import { Acquired } from "../raw/raw-mutex.js";
import type { MutexGuard } from "./guard.js";
import { beforeBlocking } from "./held.js";
import { Mutex } from "./mutex.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";
import { poisonError } from "./poison.js";

/** Rounds of "wait for one, try the rest" before falling back to waiting in canonical order. */
const POLITE_ROUNDS = 8;

/** The guards `lockAll` returns for a tuple of mutexes, in the same order. */
export type GuardsOf<M extends readonly Mutex<unknown>[]> = { -readonly [K in keyof M]: M[K] extends Mutex<infer T> ? MutexGuard<T> : never };

function checkSet(mutexes: unknown, method: string): Mutex<unknown>[] {
  if (!Array.isArray(mutexes)) throw new TypeError(`threadsafe: ${method}(mutexes): expected an array of mutexes, got ${describe(mutexes)}`);
  const seen = new Set<number>();
  mutexes.forEach((m, i) => {
    if (!(m instanceof Mutex)) throw new TypeError(`threadsafe: ${method}(mutexes): mutexes[${i}] is not a Mutex, got ${describe(m)}`);
    if (seen.has(m.lockId)) throw new TypeError(`threadsafe: ${method}(mutexes): Mutex "${m.name}" appears twice; locking it twice would deadlock`);
    seen.add(m.lockId);
  });
  return mutexes as Mutex<unknown>[];
}

/** The canonical order: by level (unleveled first), then by lock id. */
function canonical(mutexes: readonly Mutex<unknown>[]): Mutex<unknown>[] {
  return [...mutexes].sort((a, b) => (a.level ?? -Infinity) - (b.level ?? -Infinity) || a.lockId - b.lockId);
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - now());
}

function finish<M extends readonly Mutex<unknown>[]>(mutexes: M, poisoned: ReadonlySet<Mutex<unknown>>): GuardsOf<M> {
  const guards = mutexes.map((m) => m.guardFor("blocking")) as unknown as GuardsOf<M>;
  if (poisoned.size > 0) {
    const list = guards as unknown as MutexGuard<unknown>[];
    throw poisonError(
      mutexes.filter((m) => poisoned.has(m)).map((m) => m.poisonReason()),
      guards,
      mutexes.map((m, i) => ({ lockId: m.lockId, guard: list[i]! })),
    ) as PoisonError<GuardsOf<M>>;
  }
  return guards;
}

function releaseAll(held: readonly Mutex<unknown>[]): void {
  for (const m of held) m.raw.unlock(false);
}

function tryRest(order: readonly Mutex<unknown>[], first: Mutex<unknown>, held: Mutex<unknown>[], poisoned: Set<Mutex<unknown>>): Mutex<unknown> | undefined {
  const start = order.indexOf(first);
  for (let k = 1; k < order.length; k++) {
    const m = order[(start + k) % order.length]!;
    const result = m.raw.tryLock();
    if (result === Acquired.No) return m;
    held.push(m);
    if (result === Acquired.Poisoned) poisoned.add(m);
  }
  return undefined;
}

/** The timeout error of a lockAll that gave up while `busy` was the member it could not get. */
function timedOut(order: readonly Mutex<unknown>[], busy: Mutex<unknown>, waited: number, timeout: number): LockTimeoutError {
  const names = order.map((m) => `"${m.name}"`).join(", ");
  const detail = timeoutError(busy.raw.rt, busy.lockId, waited, timeout);
  return new LockTimeoutError(
    `threadsafe: lockAll of ${names} ${detail.message}`,
    detail.lock,
    detail.owner,
    waited,
  );
}

/**
 * Locks every mutex of `mutexes` without hold-and-wait, and returns their guards in the same order as given.
 * Blocks the thread. With `{ timeout }`, the whole set must be taken within it.
 *
 * @example
 * const [from, to] = lockAll([accounts[i], accounts[j]]);
 * from.value -= 10; to.value += 10;
 * from.unlock(); to.unlock();
 * @throws PoisonError (every lock is held; `intoInner()` gives all the guards), LockTimeoutError, DeadlockError,
 *   LockOrderError (lock levels, lock-order checking), TypeError for a bad set.
 */
export function lockAll<const M extends readonly Mutex<unknown>[]>(mutexes: M, options?: LockOptions): GuardsOf<M> {
  const set = checkSet(mutexes, "lockAll");
  const timeout = timeoutOf(options, "lockAll");
  if (set.length === 0) return [] as unknown as GuardsOf<M>;
  for (const m of set) beforeBlocking(m.tracked);
  const order = canonical(set);
  const start = now();
  const deadline = start + timeout;
  const poisoned = new Set<Mutex<unknown>>();
  let first = order[0]!;
  for (let round = 0; round < POLITE_ROUNDS; round++) {
    if (remaining(deadline) <= 0 && round > 0) throw timedOut(order, first, now() - start, timeout);
    const held: Mutex<unknown>[] = [];
    poisoned.clear();
    if (first.raw.lock(remaining(deadline))) poisoned.add(first);
    held.push(first);
    const busy = tryRest(order, first, held, poisoned);
    if (!busy) return finish(mutexes, poisoned);
    releaseAll(held);
    first = busy;
  }
  // Livelock guard: wait for each in canonical order.
  const held: Mutex<unknown>[] = [];
  poisoned.clear();
  try {
    for (const m of order) {
      if (m.raw.lock(remaining(deadline))) poisoned.add(m);
      held.push(m);
    }
  } catch (error) {
    releaseAll(held);
    throw error;
  }
  return finish(mutexes, poisoned);
}

/**
 * `lockAll` without blocking the thread: waits with `lockAsync`. Resolves to the guards in the order given.
 * Rejects with the signal's reason when aborted.
 */
export async function lockAllAsync<const M extends readonly Mutex<unknown>[]>(mutexes: M, options?: LockAsyncOptions): Promise<GuardsOf<M>> {
  const set = checkSet(mutexes, "lockAllAsync");
  const timeout = timeoutOf(options, "lockAllAsync");
  const signal = signalOf(options, "lockAllAsync");
  if (set.length === 0) return [] as unknown as GuardsOf<M>;
  const order = canonical(set);
  const start = now();
  const deadline = start + timeout;
  const poisoned = new Set<Mutex<unknown>>();
  let first = order[0]!;
  for (let round = 0; ; round++) {
    if (remaining(deadline) <= 0 && round > 0) throw timedOut(order, first, now() - start, timeout);
    const held: Mutex<unknown>[] = [];
    poisoned.clear();
    if (round < POLITE_ROUNDS) {
      if (await first.raw.lockAsync(remaining(deadline), signal)) poisoned.add(first);
      held.push(first);
      const busy = tryRest(order, first, held, poisoned);
      if (!busy) return finish(mutexes, poisoned);
      releaseAll(held);
      first = busy;
      continue;
    }
    try {
      for (const m of order) {
        if (await m.raw.lockAsync(remaining(deadline), signal)) poisoned.add(m);
        held.push(m);
      }
    } catch (error) {
      releaseAll(held);
      throw error;
    }
    return finish(mutexes, poisoned);
  }
}
