// The control block shared by the scheduler (main thread) and the simulated threads (workers). Separate from the
// memory under test: the runtime buffer and the scenario buffer never see these words.
//
// Per simulated thread: a status word the two sides hand back and forth (the worker posts the shared-memory
// operation it is about to make and sleeps; the scheduler performs it, writes the result and grants), the
// operation's fields, and two text areas (the body's outcome; where in src/ an operation was made, for traces).

export const MAX_SIM_THREADS = 8;
export const CONTROL_BYTES = 64 * 1024;

// Global words.
/** Float64 index of the virtual clock (ms) that `performance.now` and `Date.now` read in a simulated thread. */
export const G_TIME_F64 = 1;
/** Int32: 1 while a replay wants source locations with every operation. */
export const G_VERBOSE = 4;

// Per-thread block: THREAD_WORDS Int32 words from threadBlock(t).
const THREAD_WORDS = 64;
export function threadBlock(t) {
  return 64 + t * THREAD_WORDS;
}
export const C_STATUS = 0;
export const C_OP = 1;
/** Which tracked buffer: 0 the runtime buffer, 1 the scenario buffer. */
export const C_BUF = 2;
/** Element index from the start of the buffer (not of the view). */
export const C_INDEX = 3;
/** 0: Int32 element, 1: BigInt64 element. */
export const C_WIDE = 4;
/** Grant mode: 0 one operation, 1 run on through loads until the next operation that is not a load. */
export const C_MODE = 5;
/** Outcome of a wait: 0 "ok", 1 "not-equal", 2 "timed-out". */
export const C_WAIT_RESULT = 6;
/** Which body to run (the thread's index in the scenario). */
export const C_BODY = 7;
export const C_OUTCOME_LEN = 8;
export const C_WHERE_LEN = 9;
/** Loads run without asking during a free run (reported for traces). */
export const C_FREE_LOADS = 10;
// BigInt64 / Float64 slots (index in 8-byte units) inside the block.
export const C_ARG1_I64 = 8;
export const C_ARG2_I64 = 9;
export const C_RESULT_I64 = 10;
export const C_TIMEOUT_F64 = 11;

export function textOffset(t) {
  return 16384 + t * 4096;
}
export const OUTCOME_BYTES = 2048;

// Status values.
export const S_IDLE = 0;
export const S_START = 1;
export const S_REQUEST = 2;
export const S_GRANT = 3;
export const S_ABORT = 4;
export const S_DONE = 5;
export const S_READY = 6;

// Operations.
export const Op = {
  load: 1,
  store: 2,
  compareExchange: 3,
  add: 4,
  sub: 5,
  and: 6,
  or: 7,
  xor: 8,
  exchange: 9,
  wait: 10,
  notify: 11,
  /** Not an Atomics call: the worker woke from a wait; nothing to perform. */
  wake: 12,
};
export const OP_NAMES = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));
export const WAIT_RESULTS = ["ok", "not-equal", "timed-out"];
/** A wait whose timeout is at least this long never times out in the model (a raised park slice). */
export const NEVER_MS = 1e7;
