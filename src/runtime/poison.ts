/**
 * The poison record, in one place: who poisoned an object, how and when, written beside the object in its record
 * (objects.ts, O_POISON_*) so that the next holder, in any thread, can say what happened. The flag itself belongs
 * to the primitive's word (a Mutex keeps it in its futex word, where the fast path's compare-and-swap ignores it).
 *
 * A record is written once: the first poisoning of an object is the one reported, and a later one (a thread that
 * took the poisoned lock, ignored the PoisonError and then died) does not overwrite it. Clearing the poison clears
 * the record too.
 */

import { O_POISON_BY, O_POISON_CAUSE, O_POISON_NAME, O_POISON_TIME, describePoisonCause } from "./objects.js";
import type { Runtime } from "./runtime.js";

/** What a poisoned object knows about how it was poisoned. */
export interface PoisonDetails {
  readonly threadId: number;
  readonly threadName: string | undefined;
  readonly cause: string;
  /** Milliseconds since the poisoning. */
  readonly agoMs: number;
}

/**
 * Records that thread `threadId` poisoned object `id` with `cause` (objects.ts, PoisonCause), unless a record is
 * there already. Called while the poisoner still holds the object, so the next holder reads it whole.
 */
export function recordPoison(rt: Runtime, id: number, threadId: number, cause: number): void {
  const base = rt.objectBase(id);
  if (Atomics.load(rt.words, base + O_POISON_CAUSE) !== 0) {
    awaitRecord(rt, base); // the caller releases the object once the record there is whole
    return;
  }
  // The name is copied first (the thread's own goes with its slot), while the caller still sees it hold the object.
  let nameRef = 0;
  try {
    nameRef = rt.storeName(rt.threadName(threadId));
  } catch {
    // a full arena costs the report its name, nothing else
  }
  if (Atomics.compareExchange(rt.words, base + O_POISON_CAUSE, 0, WRITING) !== 0) {
    if (nameRef !== 0) rt.freeName(nameRef);
    // Another reaper of the same death is writing the record: the caller releases the object once it is whole.
    awaitRecord(rt, base);
    return;
  }
  Atomics.store(rt.words, base + O_POISON_BY, threadId);
  Atomics.store(rt.words, base + O_POISON_TIME, rt.elapsed());
  const old = Atomics.exchange(rt.words, base + O_POISON_NAME, nameRef);
  if (old !== 0) rt.freeName(old);
  Atomics.store(rt.words, base + O_POISON_CAUSE, cause); // last: a record with a cause is whole
}

/** O_POISON_CAUSE while a record is being written. */
const WRITING = -1;

/** Waits (briefly: a record is a few stores) until the record of the object at `base` is whole. */
function awaitRecord(rt: Runtime, base: number): void {
  for (let spins = 0; spins < 100_000 && Atomics.load(rt.words, base + O_POISON_CAUSE) === WRITING; spins++);
}

/** Forgets the poison record of object `id` (its poison was cleared). */
export function clearPoisonRecord(rt: Runtime, id: number): void {
  const base = rt.objectBase(id);
  const old = Atomics.exchange(rt.words, base + O_POISON_NAME, 0);
  Atomics.store(rt.words, base + O_POISON_BY, 0);
  Atomics.store(rt.words, base + O_POISON_CAUSE, 0);
  if (old !== 0) rt.freeName(old);
}

/** How object `id` came to be poisoned (meaningful while it is poisoned). */
export function poisonDetails(rt: Runtime, id: number): PoisonDetails {
  const base = rt.objectBase(id);
  awaitRecord(rt, base);
  return {
    threadId: Atomics.load(rt.words, base + O_POISON_BY),
    threadName: rt.loadName(Atomics.load(rt.words, base + O_POISON_NAME)),
    cause: describePoisonCause(Atomics.load(rt.words, base + O_POISON_CAUSE)),
    agoMs: Math.max(0, rt.elapsed() - Atomics.load(rt.words, base + O_POISON_TIME)),
  };
}

/** Whether object `id`'s poison record says a thread died holding it (rather than a callback throwing). */
export function poisonedByDeathOf(rt: Runtime, id: number, threadId: number): boolean {
  const base = rt.objectBase(id);
  const cause = Atomics.load(rt.words, base + O_POISON_CAUSE);
  return Atomics.load(rt.words, base + O_POISON_BY) === threadId && cause > 1;
}
