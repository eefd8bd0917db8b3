/**
 * Owner death, in one place: when a thread ends while holding locks, every lock it held is marked poisoned and
 * released, and its waiters are woken (they then acquire it and see `PoisonError`). Like the kernel's walk of a
 * robust-futex list, but the lock table itself is the list: a lock word names its owner.
 */

import {
  L_POISON_BY,
  L_POISON_CAUSE,
  L_POISON_NAME,
  L_POISON_TIME,
  OWNER_SHIFT,
  POISONED,
} from "./locks.js";
import type { Runtime } from "./runtime.js";
import {
  T_ASYNC_LOCK,
  T_ASYNC_WAITS,
  T_EXIT_CAUSE,
  T_NAME,
  T_STATE,
  T_TICKET_I64,
  T_WAIT_LOCK,
  ThreadStatus,
  TICKET_NONE,
  generationOf,
  nextGeneration,
  slotOf,
  stateGeneration,
  stateWord,
  statusOf,
} from "./threads.js";

/**
 * Poisons and releases every lock that thread `id` still holds, recording `cause`. Returns the released lock ids.
 * Safe to call from any thread, any number of times.
 */
export function releaseLocksOf(rt: Runtime, id: number, cause: number): number[] {
  const released: number[] = [];
  const nameRef = Atomics.load(rt.words, rt.threadBase(slotOf(id)) + T_NAME);
  const count = rt.lockCount();
  for (let lockId = 0; lockId < count; lockId++) {
    const index = rt.lockWordIndex(lockId);
    let word = Atomics.load(rt.words, index);
    while (word >>> OWNER_SHIFT === id) {
      const base = rt.lockBase(lockId);
      // The poison record is written while the dead thread still owns the word, so the next owner reads it whole.
      Atomics.store(rt.words, base + L_POISON_BY, id);
      Atomics.store(rt.words, base + L_POISON_CAUSE, cause);
      Atomics.store(rt.words, base + L_POISON_TIME, rt.elapsed());
      Atomics.store(rt.words, base + L_POISON_NAME, nameRef);
      const seen = Atomics.compareExchange(rt.words, index, word, POISONED);
      if (seen === word) {
        released.push(lockId);
        Atomics.notify(rt.words, index); // every waiter: one will take it and see the poison
        break;
      }
      word = seen;
    }
  }
  return released;
}

/**
 * Marks thread `id` dead, releases (poisoning) the locks it held, clears what it was waiting for, and frees its
 * slot for a new generation. Idempotent: only the first caller for a given id does the work.
 * Returns the ids of the locks that were released, or undefined if the thread was already reaped.
 */
export function reapThread(rt: Runtime, id: number, cause: number): number[] | undefined {
  const base = rt.threadBase(slotOf(id));
  const state = Atomics.load(rt.words, base + T_STATE);
  const generation = generationOf(id);
  if (statusOf(state) !== ThreadStatus.Alive || stateGeneration(state) !== generation) {
    // Already dead, or being reaped by someone who may itself have died mid-way: make sure its locks are free.
    releaseLocksOf(rt, id, cause);
    return undefined;
  }
  if (Atomics.compareExchange(rt.words, base + T_STATE, state, stateWord(generation, ThreadStatus.Dead)) !== state) {
    releaseLocksOf(rt, id, cause);
    return undefined;
  }
  Atomics.store(rt.words, base + T_EXIT_CAUSE, cause);
  Atomics.store(rt.words, base + T_WAIT_LOCK, 0);
  Atomics.store(rt.words, base + T_ASYNC_WAITS, 0);
  Atomics.store(rt.words, base + T_ASYNC_LOCK, 0);
  Atomics.store(rt.wide, base / 2 + T_TICKET_I64, TICKET_NONE);
  const released = releaseLocksOf(rt, id, cause);
  Atomics.store(rt.words, base + T_STATE, stateWord(nextGeneration(generation), ThreadStatus.Free));
  return released;
}
