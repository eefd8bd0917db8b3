/**
 * The object table: one fixed-size record per shared object (a Mutex, an RwLock, a Condvar, an Arc…), in the
 * runtime buffer, so that any thread can read what any object is, who holds it and how it was poisoned, and so
 * that a dead thread's holds can be released by whoever notices the death.
 *
 * Records are reused: a record whose last reference is gone goes on a free list and comes back with its generation
 * bumped, so a handle naming the old generation is refused instead of aliasing the new object (runtime/lifetime.ts).
 *
 * ## The record: OBJECT_RECORD_WORDS Int32 words
 *
 * | word | meaning |
 * |---|---|
 * | O_STATE | the primitive's futex word; its bits belong to the primitive's word protocol (src/raw/) |
 * | O_KIND | `kind | (dataTag << KIND_BITS)`; 0 while the record is free |
 * | O_NAME | string ref of the object's name, 0 for none |
 * | O_LEVEL | lock level, or NO_LEVEL |
 * | O_POISON_* | the poison record: who poisoned it, how, when, and a copy of their name (runtime/poison.ts) |
 * | O_REFS | strong count: how many holders (threads, messages in flight) count a reference (runtime/lifetime.ts) |
 * | O_GENERATION | bumped each time the record is reused |
 * | O_NEXT_FREE | free-list link while free |
 * | O_AUX … | words the primitive's protocol may use beside O_STATE (a reader count, a sequence, permits) |
 */

/** The object's futex word (its bits belong to the primitive, see src/raw/). */
export const O_STATE = 0;
/**
 * `kind | (dataTag << KIND_BITS)`: the kind of primitive that owns the record (0 while free) and a random tag that
 * its data buffer also carries, so a handle naming this object with another buffer is refused.
 */
export const O_KIND = 1;
export const KIND_BITS = 8;
export const KIND_MASK = (1 << KIND_BITS) - 1;
/** String ref of the object's name; 0 for an unnamed object. */
export const O_NAME = 2;
/** The object's level for lock hierarchies, or NO_LEVEL. */
export const O_LEVEL = 3;
/** Thread id of the thread that poisoned the object, 0 if none or unknown. */
export const O_POISON_BY = 4;
/** How the object was poisoned (PoisonCause); 0 while no record is written. */
export const O_POISON_CAUSE = 5;
/** When the object was poisoned, in ms since the runtime's epoch. */
export const O_POISON_TIME = 6;
/** String ref of a copy of the poisoning thread's name (owned by this record). */
export const O_POISON_NAME = 7;
/** Strong count (see runtime/lifetime.ts). */
export const O_REFS = 8;
/** Generation of the record: bumped on every reuse. */
export const O_GENERATION = 9;
/** Next free record id + 1, while the record is on the free list. */
export const O_NEXT_FREE = 10;
/** First of the words a primitive's protocol may use beside O_STATE. */
export const O_AUX = 11;
export const AUX_WORDS = 5;
export const OBJECT_RECORD_WORDS = 16;

/** The level stored for objects that have none. */
export const NO_LEVEL = -0x80000000;

/** Why an object is poisoned. */
export const PoisonCause = {
  None: 0,
  /** A callback passed to `with`/`withAsync` threw while holding the lock. */
  Panicked: 1,
  /** The holder returned from its thread function without releasing. */
  Returned: 2,
  /** The holder's thread function threw. */
  Threw: 3,
  /** The holder's thread called `process.exit`. */
  Exited: 4,
  /** The holder's thread was terminated or crashed. */
  Terminated: 5,
} as const;

/** How each cause reads in a message. */
export function describePoisonCause(cause: number): string {
  switch (cause) {
    case PoisonCause.Panicked:
      return "threw while holding it (inside with/withAsync)";
    case PoisonCause.Returned:
      return "ended without releasing it";
    case PoisonCause.Threw:
      return "died of an uncaught error while holding it";
    case PoisonCause.Exited:
      return "called process.exit() while holding it";
    case PoisonCause.Terminated:
      return "was terminated (or crashed) while holding it";
    default:
      return "poisoned it";
  }
}
