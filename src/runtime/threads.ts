/**
 * The thread table: one fixed-size record per thread slot, in the runtime buffer. A thread's id is its slot plus
 * a generation (`id = generation * MAX_THREADS + slot`), so the first 1023 threads get ids 1..1023 and a slot
 * reused later gets a new id: a lock word naming a dead thread can never be mistaken for its successor.
 *
 * A thread publishes here what it is waiting for (deadlock detection reads it) and how it ended (owner death).
 */

export const SLOT_BITS = 10;
/** Thread slots in a runtime; slot 0 is never used, so thread id 0 means "nobody". */
export const MAX_THREADS = 1 << SLOT_BITS;
const SLOT_MASK = MAX_THREADS - 1;
/** Generations wrap after this many reuses of one slot. */
const GENERATION_LIMIT = 1 << (29 - SLOT_BITS);

export function slotOf(id: number): number {
  return id & SLOT_MASK;
}
export function generationOf(id: number): number {
  return id >>> SLOT_BITS;
}
export function threadIdOf(slot: number, generation: number): number {
  return ((generation % GENERATION_LIMIT) << SLOT_BITS) | slot;
}

// ## The thread record: THREAD_RECORD_WORDS Int32 words per slot (128 bytes, so T_TICKET is 8-byte aligned).
/** `(generation << STATUS_BITS) | status`. */
export const T_STATE = 0;
/** String ref of the thread's name. */
export const T_NAME = 1;
/** The object this thread is blocked on in a synchronous wait, plus one; 0 when not waiting. */
export const T_WAIT_OBJECT = 2;
/** When the current synchronous wait started (ms since the runtime's epoch). */
export const T_WAIT_SINCE = 3;
/** How many asynchronous waits (lockAsync) this thread has pending. */
export const T_ASYNC_WAITS = 4;
/** The object of the most recent pending asynchronous wait, plus one (for reports). */
export const T_ASYNC_OBJECT = 5;
/** The runtime's own id for the thread (Node's threadId), for reports. */
export const T_PLATFORM_ID = 6;
/** How the thread ended (PoisonCause), once it has. */
export const T_EXIT_CAUSE = 7;
/** BigInt64 index offset (in 8-byte units from the record start) of the wait ticket: 0 none, -1 publishing. */
export const T_TICKET_I64 = 4;
/** Requests to the thread (ThreadFlag bits), set by other threads. */
export const T_FLAGS = 10;
/** How the thread waits on T_WAIT_OBJECT (kinds.ts, WaitKind), plus UNTIMED_WAIT when the wait has no timeout. */
export const T_WAIT_KIND = 11;
/** Bit of T_WAIT_KIND: the wait has no timeout and cannot be interrupted (it ends only when another thread acts). */
export const UNTIMED_WAIT = 1 << 8;
/** How the most recent pending asynchronous wait waits on T_ASYNC_OBJECT (WaitKind). */
export const T_ASYNC_KIND = 14;
/** Byte offset in the arena of the slot's dump area (runtime/dumps.ts), 0 until one is needed. Kept across reuse. */
export const T_DUMP_REF = 15;
/** BigInt64 index offset of the thread's current transaction ticket (its age; 0 when not in a transaction). */
export const T_TXN_I64 = 6;
/** Int32 index (in the runtime's fixed region) of the word a blocking wait sleeps on, or -1 if it is elsewhere. */
export const T_WAIT_WORD = 16;
/** The value of that word the wait sleeps on: while the word holds it, the wait cannot end by itself. */
export const T_WAIT_VALUE = 17;
/**
 * The id of this slot's thread once another thread has asked it to terminate (runtime/termination.ts), else 0. An
 * id, not a flag: a request that lands after the slot moved on to a new thread names the old one and is ignored.
 */
export const T_TERMINATE = 18;
/**
 * How many reference entries (runtime/lifetime.ts) name a thread of this slot as their holder. Raised before an
 * entry is claimed and lowered after one is dropped, so it is never below the number a scan can see: a reaper's scan
 * of the table stops once it has found that many, and a thread that counted nothing (an empty spawned function) is
 * reaped without one. It is the slot's, not one generation's (a late reaper of the previous thread may still lower
 * it): an entry of another generation, or one left half-claimed by a thread killed inside `claimEntry`, keeps it too
 * high, which costs a longer scan, never a missed entry.
 */
export const T_REF_ENTRIES = 19;
/**
 * A channel send in progress (raw/raw-channel.ts): the channel record this thread is claiming a ring slot of, plus
 * one, and the position, plus one. Set before the claim and cleared once the message is published, so a receiver that
 * finds a claimed slot unpublished can tell a slow sender (alive, with this claim) from a dead one.
 */
export const T_CHANNEL_CLAIM = 28;
export const T_CHANNEL_POS = 29;
/**
 * A channel receive in progress (raw/raw-channel.ts): the channel record this thread is taking a ring slot of, plus
 * one, and the position, plus one. Set before the head is claimed and cleared once the slot is freed, so a thread that
 * finds a slot taken but never freed can tell a slow receiver (alive, with this take) from a dead one.
 */
export const T_CHANNEL_TAKE = 30;
export const T_CHANNEL_TAKE_POS = 31;
export const THREAD_RECORD_WORDS = 32;

/** Bits of T_FLAGS. */
export const ThreadFlag = {
  /** An older transaction needs a lock this thread's transaction holds: it must roll back and retry. */
  Wounded: 1,
} as const;

export const STATUS_BITS = 2;
export const STATUS_MASK = 0b11;
export const ThreadStatus = {
  Free: 0,
  Alive: 1,
  /** Dead, with its locks being released by a reaper. */
  Dead: 2,
} as const;
export type ThreadStatus = (typeof ThreadStatus)[keyof typeof ThreadStatus];

/** Wait-ticket value while a thread is between announcing a wait and taking its ticket. */
export const TICKET_PUBLISHING = -1n;
/** Wait-ticket value of a thread that is not blocked. */
export const TICKET_NONE = 0n;

export function stateWord(generation: number, status: ThreadStatus): number {
  return ((generation % GENERATION_LIMIT) << STATUS_BITS) | status;
}
export function statusOf(state: number): ThreadStatus {
  return (state & STATUS_MASK) as ThreadStatus;
}
export function stateGeneration(state: number): number {
  return state >>> STATUS_BITS;
}
export function nextGeneration(generation: number): number {
  return (generation + 1) % GENERATION_LIMIT;
}
