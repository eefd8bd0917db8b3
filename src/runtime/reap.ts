/**
 * Owner death, in one place: when a thread ends, whatever it held of every shared object is released as the
 * object's kind prescribes (a write hold poisons, a read hold or a permit is given back: runtime/kinds.ts), its
 * references are dropped (runtime/lifetime.ts), and its slot is freed for a new generation. Like the kernel's walk
 * of a robust-futex list, but the list is the thread's entries in the reference table: whoever notices the death
 * can walk them without the dead thread's help.
 */

import { dropEntriesOf, visitEntriesOf } from "./lifetime.js";
import { ANY_WAIT, protocolOf } from "./kinds.js";
import type { Runtime } from "./runtime.js";
import {
  T_ASYNC_OBJECT,
  T_ASYNC_WAITS,
  T_EXIT_CAUSE,
  T_STATE,
  T_TICKET_I64,
  T_WAIT_OBJECT,
  ThreadStatus,
  TICKET_NONE,
  generationOf,
  slotOf,
  stateGeneration,
  stateWord,
  statusOf,
} from "./threads.js";

/** Releases what dead thread `id` held of object `objectId`; returns whether it held anything. */
function releaseOne(rt: Runtime, objectId: number, id: number, holds: number, cause: number): boolean {
  return protocolOf(rt.objectKind(objectId))?.releaseDead(rt, objectId, id, holds, cause) ?? false;
}

/**
 * Releases every hold of thread `id`, which is dead (or ending: its own last act), recording `cause`; returns the
 * objects it held. Safe to call
 * from any thread, any number of times, while the thread's slot has not been freed.
 */
export function releaseHoldsOf(rt: Runtime, id: number, cause: number): number[] {
  const released: number[] = [];
  dropEntriesOf(rt, id, (objectId, holds) => {
    if (releaseOne(rt, objectId, id, holds, cause)) released.push(objectId);
  });
  return released;
}

/**
 * Marks thread `id` dead, releases what it held, clears what it was waiting for, drops its references and frees its
 * slot for a new generation. Idempotent: only the first caller for a given id does the work; a later caller (the
 * first may have died mid-way) makes sure the holds are released.
 * Returns the ids of the objects that were released, or undefined if the thread was already being reaped.
 */
export function reapThread(rt: Runtime, id: number, cause: number): number[] | undefined {
  const base = rt.threadBase(slotOf(id));
  const state = Atomics.load(rt.words, base + T_STATE);
  const generation = generationOf(id);
  const claimed =
    statusOf(state) === ThreadStatus.Alive &&
    stateGeneration(state) === generation &&
    Atomics.compareExchange(rt.words, base + T_STATE, state, stateWord(generation, ThreadStatus.Dead)) === state;
  if (!claimed) {
    const now = Atomics.load(rt.words, base + T_STATE);
    if (statusOf(now) === ThreadStatus.Dead && stateGeneration(now) === generation) releaseHoldsOf(rt, id, cause);
    return undefined;
  }
  Atomics.store(rt.words, base + T_EXIT_CAUSE, cause);
  Atomics.store(rt.words, base + T_WAIT_OBJECT, 0);
  Atomics.store(rt.words, base + T_ASYNC_WAITS, 0);
  Atomics.store(rt.words, base + T_ASYNC_OBJECT, 0);
  Atomics.store(rt.wide, base / 2 + T_TICKET_I64, TICKET_NONE);
  const released = releaseHoldsOf(rt, id, cause);
  rt.freeThreadSlot(id);
  return released;
}

/**
 * Run by a waiter on object `objectId` after each sleep: the holds of holders that are no longer alive are released
 * here, with the cause their reaper recorded (a reap still recording it is left to finish first). Someone is then
 * always awake to notice a death, even a reaper that died mid-way.
 */
export function recoverDeadHolders(rt: Runtime, objectId: number, holders: readonly number[]): void {
  for (const holder of holders) {
    if (rt.isAlive(holder)) continue;
    const cause = rt.exitCauseOf(holder);
    if (cause === 0) continue;
    const base = rt.threadBase(slotOf(holder));
    const state = Atomics.load(rt.words, base + T_STATE);
    if (statusOf(state) === ThreadStatus.Dead && stateGeneration(state) === generationOf(holder)) {
      releaseHoldsOf(rt, holder, cause);
    } else {
      // The slot moved on, so its reaper already released every hold recorded in its entries; what can still name
      // this holder is the object's own word (a lock it took after its reaper ran).
      releaseOne(rt, objectId, holder, 0, cause);
    }
  }
}

/** The objects thread `id` holds (slow: a scan of the reference table; reports only). */
export function objectsHeldBy(rt: Runtime, id: number): number[] {
  const held: number[] = [];
  const found: number[] = [];
  visitEntriesOf(rt, id, (objectId) => found.push(objectId));
  for (const objectId of found) {
    const protocol = protocolOf(rt.objectKind(objectId));
    if (!protocol) continue;
    const holders: number[] = [];
    protocol.holders(rt, objectId, ANY_WAIT, holders);
    if (holders.includes(id)) held.push(objectId);
  }
  return held;
}
