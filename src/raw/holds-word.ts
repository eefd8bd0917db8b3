/**
 * The `holds` word of a reference entry (runtime/lifetime.ts), as the Semaphore and Barrier protocols write it (and
 * the channels, for the waits a thread has registered; they write it by compare-and-swap: raw-channel.ts, "A thread
 * that dies waiting"):
 *
 * ```
 *  31 | 30 ........ 24 | 23 ............................ 0
 *  0  | generation tag | payload (the protocol's: permits held, pending arrivals)
 * ```
 *
 * Only the thread that owns the entry writes it while it lives, with plain stores (no `Atomics` call on a fast
 * path): it is read by other threads only on slow paths (deadlock walks, reports), where a stale value is harmless,
 * and by reapers once the thread is dead: the core takes the word with one exchange and hands it to the kind's
 * `releaseDead` (runtime/lifetime.ts, dropEntriesOf), so of several reapers of one death exactly one gives the holds
 * back. The tag (the low bits of the writer's generation) tells a word written by this thread from a stale one.
 */

import { generationOf } from "../runtime/threads.js";

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
