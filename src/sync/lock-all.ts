/**
 * `lockAll` / `lockAllAsync`: take several mutexes without holding one of them while waiting for another
 * (docs/deadlock-detection.md §7, after libc++'s `std::lock`), so that a set taken this way is not part of a
 * wait-for cycle whatever order other code uses.
 *
 * The loop: wait for one lock of the set, then try the others without waiting; on the first that is busy, release
 * everything and wait for *that* one next. After POLITE_ROUNDS such rounds (a livelock guard) it falls back to
 * waiting for each in the canonical order (level, then object id) while holding the earlier ones: still
 * deadlock-free against every other ordered or lockAll user, and covered by deadlock detection against code that
 * takes the same locks in another order.
 *
 * The loop is written once, as a generator that yields each lock it must wait for; `lockAll` waits by blocking and
 * `lockAllAsync` by awaiting, both through the acquisition pipeline (acquire.ts).
 */

import { LockTimeoutError } from "../errors.js";
import { lockTimeoutError } from "../deadlock/report.js";
import { now } from "../platform/index.js";
import { Acquired } from "../raw/raw-mutex.js";
import { WaitKind } from "../runtime/kinds.js";
import { checkBeforeWaiting, finishAcquireAll, waitFor } from "./acquire.js";
import type { MutexCore, MutexGuard } from "./guard.js";
import { Mutex, mutexCoreOf } from "./mutex.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";

/** Rounds of "wait for one, try the rest" before falling back to waiting in canonical order. */
const POLITE_ROUNDS = 8;

/** The guards `lockAll` returns for a tuple of mutexes, in the same order. */
export type GuardsOf<M extends readonly Mutex<unknown>[]> = { -readonly [K in keyof M]: M[K] extends Mutex<infer T> ? MutexGuard<T> : never };

type Core = MutexCore<unknown>;

function checkSet(mutexes: unknown, method: string): Core[] {
  if (!Array.isArray(mutexes)) throw new TypeError(`threadsafe: ${method}(mutexes): expected an array of mutexes, got ${describe(mutexes)}`);
  const seen = new Set<number>();
  return mutexes.map((m, i) => {
    if (!(m instanceof Mutex)) throw new TypeError(`threadsafe: ${method}(mutexes): mutexes[${i}] is not a Mutex, got ${describe(m)}`);
    if (seen.has(m.lockId)) throw new TypeError(`threadsafe: ${method}(mutexes): Mutex "${m.name}" appears twice; locking it twice would deadlock`);
    seen.add(m.lockId);
    return mutexCoreOf(m as Mutex<unknown>);
  });
}

/** The canonical order: by level (unleveled first), then by object id. */
function canonical(cores: readonly Core[]): Core[] {
  return [...cores].sort((a, b) => (a.level ?? -Infinity) - (b.level ?? -Infinity) || a.raw.id - b.raw.id);
}

function releaseAll(held: readonly Core[]): void {
  for (const core of held) core.raw.unlock(false);
}

/** Tries every member after `first` without waiting; returns the first that is busy, or undefined. */
function tryRest(order: readonly Core[], first: Core, held: Core[], poisoned: Set<Core>): Core | undefined {
  const start = order.indexOf(first);
  for (let k = 1; k < order.length; k++) {
    const core = order[(start + k) % order.length]!;
    const result = core.raw.tryLock();
    if (result === Acquired.No) return core;
    held.push(core);
    if (result === Acquired.Poisoned) poisoned.add(core);
  }
  return undefined;
}

/** The timeout error of a lockAll that gave up while `busy` was the member it could not get. */
function timedOut(order: readonly Core[], busy: Core, waited: number, timeout: number): LockTimeoutError {
  const names = order.map((core) => `"${core.name}"`).join(", ");
  const detail = lockTimeoutError(busy.raw.rt, busy.raw.id, WaitKind.Lock, waited, timeout);
  return new LockTimeoutError(`threadsafe: lockAll of ${names} ${detail.message}`, detail.lock, detail.owner, waited);
}

/**
 * The lockAll loop. Yields each member to wait for (the driver waits, with the time left, and sends back whether
 * it was poisoned, or throws the wait's error into the generator); returns the poisoned members once all are held.
 */
function* lockAllSteps(order: readonly Core[], start: number, timeout: number): Generator<Core, Set<Core>, boolean> {
  const poisoned = new Set<Core>();
  let first = order[0]!;
  for (let round = 0; round < POLITE_ROUNDS; round++) {
    if (round > 0 && now() - start >= timeout) throw timedOut(order, first, now() - start, timeout);
    const held: Core[] = [];
    poisoned.clear();
    if (yield first) poisoned.add(first); // nothing is held while waiting here
    held.push(first);
    const busy = tryRest(order, first, held, poisoned);
    if (!busy) return poisoned;
    releaseAll(held);
    first = busy;
  }
  // Livelock guard: wait for each in canonical order.
  const held: Core[] = [];
  poisoned.clear();
  try {
    for (const core of order) {
      if (yield core) poisoned.add(core);
      held.push(core);
    }
  } catch (error) {
    releaseAll(held);
    throw error;
  }
  return poisoned;
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
  const cores = checkSet(mutexes, "lockAll");
  const timeout = timeoutOf(options, "lockAll");
  if (cores.length === 0) return [] as unknown as GuardsOf<M>;
  for (const core of cores) checkBeforeWaiting(core);
  const start = now();
  const steps = lockAllSteps(canonical(cores), start, timeout);
  let step = steps.next();
  while (!step.done) {
    let poisoned: boolean;
    try {
      poisoned = waitFor(step.value, Math.max(0, start + timeout - now()));
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(poisoned);
  }
  return finishAcquireAll(cores, step.value, (guards) => guards as unknown as GuardsOf<M>) as GuardsOf<M>;
}

/**
 * `lockAll` without blocking the thread: waits with `lockAsync`. Resolves to the guards in the order given.
 * Rejects with the signal's reason when aborted.
 */
export async function lockAllAsync<const M extends readonly Mutex<unknown>[]>(mutexes: M, options?: LockAsyncOptions): Promise<GuardsOf<M>> {
  const cores = checkSet(mutexes, "lockAllAsync");
  const timeout = timeoutOf(options, "lockAllAsync");
  const signal = signalOf(options, "lockAllAsync");
  if (cores.length === 0) return [] as unknown as GuardsOf<M>;
  const start = now();
  const steps = lockAllSteps(canonical(cores), start, timeout);
  let step = steps.next();
  while (!step.done) {
    let poisoned: boolean;
    try {
      poisoned = await step.value.raw.lockAsync(Math.max(0, start + timeout - now()), signal);
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(poisoned);
  }
  return finishAcquireAll(cores, step.value, (guards) => guards as unknown as GuardsOf<M>) as GuardsOf<M>;
}
