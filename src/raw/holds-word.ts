/**
 * The `holds` word of a reference entry (runtime/lifetime.ts), as the Semaphore and Barrier protocols write it:
 *
 * ```
 *  31 | 30 ........ 24 | 23 ............................ 0
 *  0  | generation tag | payload (the protocol's: permits held, pending arrivals)
 * ```
 *
 * Only the thread that owns the entry writes it while it lives, with plain stores (no `Atomics` call on a fast
 * path): it is read by other threads only on slow paths (deadlock walks, reports), where a stale value is harmless,
 * and by reapers once the thread is dead. Reapers claim it with one compare-and-swap to 0, so that of several
 * reapers of one death exactly one gives the holds back. The tag (the low bits of the writer's generation) makes
 * that compare-and-swap fail on an entry that a later thread of the same slot has reused meanwhile.
 */

import { holdsIndexOf } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { generationOf, slotOf } from "../runtime/threads.js";

const TAG_SHIFT = 24;
const TAG_MASK = 0x7f;
/** The largest payload a holds word carries. */
export const PAYLOAD_MAX = 0xffffff;

/** The tag bits of thread `threadId` (or'ed into each word it writes). */
export function holdsTag(threadId: number): number {
  return (generationOf(threadId) & TAG_MASK) << TAG_SHIFT;
}

/** The payload of a holds word. */
export function holdsPayload(word: number): number {
  return word & PAYLOAD_MAX;
}

/** The holds word of a payload written by the thread whose tag is `tag` (0 for nothing held: the entry may go). */
export function holdsWord(tag: number, payload: number): number {
  return payload === 0 ? 0 : tag | payload;
}

/**
 * Takes what dead thread `threadId` recorded in its entry for object `id`: returns the payload and leaves 0, or
 * returns 0 when there is nothing (left) to take. Safe to race with other reapers of the same death.
 */
export function claimDeadHolds(rt: Runtime, id: number, threadId: number): number {
  const index = holdsIndexOf(rt, id, slotOf(threadId));
  if (index < 0) return 0;
  const tag = holdsTag(threadId);
  for (;;) {
    const word = Atomics.load(rt.words, index);
    if (word === 0 || (word & ~PAYLOAD_MAX) !== tag) return 0;
    if (Atomics.compareExchange(rt.words, index, word, 0) === word) return holdsPayload(word);
  }
}
