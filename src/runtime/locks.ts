/**
 * The lock table: one fixed-size record per lock, in the runtime buffer, so that any thread can read any
 * lock's owner (deadlock detection) and release the locks of a thread that died (owner death).
 *
 * ## The lock word (record word 0), an Int32 futex word
 *
 * ```
 *  31 ............................ 3 | 2        | 1 0
 *  owner thread id (0 when free)     | POISONED | state: 0 free, 1 locked, 2 locked and maybe waiters
 * ```
 *
 * The owner field is the holder's thread id (slot + generation, see threads.ts), so a thread that acquires
 * writes `(id << OWNER_SHIFT) | LOCKED` with one compare-and-swap from 0. POISONED survives unlocking: a
 * poisoned free lock's word is `POISONED`, which the fast path's CAS from 0 does not match, so the poison
 * check costs nothing on the fast path.
 */

export const STATE_MASK = 0b011;
export const FREE = 0b000;
export const LOCKED = 0b001;
/** Locked, and some thread may be waiting: the unlocker must notify. */
export const CONTENDED = 0b010;
export const POISONED = 0b100;
export const OWNER_SHIFT = 3;

/** The thread id that owns a lock word, or 0 when free. */
export function ownerOf(word: number): number {
  return word >>> OWNER_SHIFT;
}

/** The lock word of a lock held by thread `id` with no waiters and no poison. */
export function heldWord(id: number): number {
  return ((id << OWNER_SHIFT) | LOCKED) | 0;
}

// ## The lock record: LOCK_RECORD_WORDS Int32 words per lock.
/** The futex word described above. */
export const L_STATE = 0;
/**
 * `kind | (dataTag << KIND_BITS)`: the kind of primitive that owns the record (LockKind; 0 while unused) and a
 * random tag that its data buffer also carries, so a handle naming this lock with another buffer is refused.
 */
export const L_KIND = 1;
export const KIND_BITS = 8;
export const KIND_MASK = (1 << KIND_BITS) - 1;
/** String ref of the lock's name; 0 for an unnamed lock. */
export const L_NAME = 2;
/** The lock's level for lock hierarchies, or NO_LEVEL. */
export const L_LEVEL = 3;
/** Thread id of the thread that poisoned the lock, 0 if none or unknown. */
export const L_POISON_BY = 4;
/** How the lock was poisoned (PoisonCause). */
export const L_POISON_CAUSE = 5;
/** When the lock was poisoned, in ms since the runtime's epoch. */
export const L_POISON_TIME = 6;
/** String ref of the poisoning thread's name. */
export const L_POISON_NAME = 7;
export const LOCK_RECORD_WORDS = 8;

/** The level stored for locks that have none. */
export const NO_LEVEL = -0x80000000;

/** Which primitive a lock record belongs to (checked when a handle arrives from another thread). */
export const LockKind = { Mutex: 1 } as const;

/** Why a lock is poisoned. */
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
