/**
 * The runtime buffer: one growable `SharedArrayBuffer` per program that holds the state every thread must be able
 * to read about every other thread: the thread table (threads.ts), the lock table (locks.ts) and the names of both
 * (strings.ts). It is created lazily by the first thread that needs it and reaches other threads inside the
 * messages of `spawn` and `share`.
 *
 * ## Layout
 *
 * ```
 * [ header ][ thread table ][ lock table ][ lock-order edges ][ reported cycles ][ dump areas ][ arena → grows ]
 * ```
 *
 * - lock-order edges (deadlock/order.ts): EDGE_SLOTS 64-bit keys `(from + 1) << 32 | (to + 1)`, open addressing,
 *   then EDGE_SLOTS Int32 triples of first-seen info (thread id, its name's string ref, a stack's string ref);
 * - reported cycles: REPORTED_SLOTS Int32 hashes of cycles already reported, so each is reported once;
 * - dump areas (runtime/dumps.ts): DUMP_WORDS per thread slot, where a thread keeps the stacks of its acquisitions
 *   (when stack capture is on) for reports made in other threads.
 *
 * The header, thread table and lock table have a fixed size, so their views are fixed-length (measured 4× faster
 * for atomics than length-tracking views); only the arena at the end grows.
 */

import {
  ARENA_FIRST_REF,
  MAX_NAME_BYTES,
  MAX_TEXT_BYTES,
  loadString,
  storeString,
  utf8Length,
  type ArenaSite,
} from "./strings.js";
import {
  LOCK_RECORD_WORDS,
  KIND_BITS,
  KIND_MASK,
  L_KIND,
  L_LEVEL,
  L_NAME,
  L_POISON_BY,
  L_POISON_CAUSE,
  PoisonCause,
  L_STATE,
  NO_LEVEL,
  OWNER_SHIFT,
} from "./locks.js";
import {
  MAX_THREADS,
  THREAD_RECORD_WORDS,
  T_EXIT_CAUSE,
  T_NAME,
  T_PLATFORM_ID,
  T_STATE,
  ThreadStatus,
  slotOf,
  stateGeneration,
  stateWord,
  statusOf,
  threadIdOf,
  generationOf,
  nextGeneration,
} from "./threads.js";
import { DUMP_WORDS, clearDump } from "./dumps.js";
import { platformThreadId, wallClock } from "../platform/index.js";

// ## Header: Int32 word indexes.
const H_MAGIC = 0;
const H_VERSION = 1;
/** Two random words that identify this runtime. */
const H_ID = 2;
const H_MAX_LOCKS = 4;
/** Lock ids handed out so far. */
const H_LOCK_COUNT = 5;
/** Bytes of the arena in use. */
const H_ARENA_USED = 6;
/** Program-wide settings made with `configure` (see config.ts). */
export const H_CONFIG = 7;
export const H_STALL_WARN_MS = 8;
/** Where the next search for a free thread slot starts (round robin keeps ids small for longer). */
const H_NEXT_SLOT = 9;
/** Float64 index of the wall-clock time the runtime was created (epoch of all stored times). */
const H_EPOCH_F64 = 5;
/** BigInt64 index of the global wait-ticket counter (deadlock detection). */
export const H_WAIT_TICKETS_I64 = 6;
/** BigInt64 index of the global transaction-ticket counter. */
export const H_TXN_TICKETS_I64 = 7;
const HEADER_WORDS = 32;
/** Capacity of the lock-order edge table. */
export const EDGE_SLOTS = 1 << 15;
/** Int32 words per edge-info entry: first-seen thread id, string ref of its name, string ref of the stack. */
export const EDGE_INFO_WORDS = 3;
export const REPORTED_SLOTS = 1 << 12;

/** Int32 words of everything before the arena, for a runtime of `maxLocks` locks. */
function fixedWordsFor(maxLocks: number): number {
  return (
    HEADER_WORDS +
    MAX_THREADS * THREAD_RECORD_WORDS +
    maxLocks * LOCK_RECORD_WORDS +
    EDGE_SLOTS * 2 +
    EDGE_SLOTS * EDGE_INFO_WORDS +
    REPORTED_SLOTS +
    MAX_THREADS * DUMP_WORDS
  );
}

const MAGIC = 0x54534146; // "TSAF"
const VERSION = 1;

/** Default number of locks a runtime can hold. */
export const DEFAULT_MAX_LOCKS = 65536;
/** The most locks a runtime can be configured for (lock ids must fit the 29-bit-safe edge keys and typed arrays). */
export const MAX_LOCKS_LIMIT = 1 << 24;
/** Initial and largest size of the name arena, in bytes. */
const ARENA_INITIAL_BYTES = 64 * 1024;
const ARENA_MAX_BYTES = 16 * 1024 * 1024;

/** Settings fixed when a runtime is created. */
export interface RuntimeSizing {
  readonly maxLocks: number;
}

/** Sizing used when this thread creates the runtime; `configure({ maxLocks })` changes it before that. */
export const sizing: { maxLocks: number } = { maxLocks: DEFAULT_MAX_LOCKS };

/** One program's shared runtime state, as seen from this thread. */
export class Runtime {
  readonly buffer: SharedArrayBuffer;
  /** Header, thread table and lock table as Int32 words. */
  readonly words: Int32Array;
  /** The same fixed region as 64-bit words (tickets). */
  readonly wide: BigInt64Array;
  readonly epoch: number;
  readonly maxLocks: number;
  readonly id: string;
  readonly arena: ArenaSite;
  /** Int32 index of the thread table and of the lock table. */
  readonly threadsBase = HEADER_WORDS;
  readonly locksBase = HEADER_WORDS + MAX_THREADS * THREAD_RECORD_WORDS;
  /** BigInt64 index of the edge keys; Int32 indexes of the edge info, reported cycles and dump areas. */
  readonly edgeKeysBase64: number;
  readonly edgeInfoBase: number;
  readonly reportedBase: number;
  readonly dumpsBase: number;

  private constructor(buffer: SharedArrayBuffer, maxLocks: number) {
    this.buffer = buffer;
    this.maxLocks = maxLocks;
    const fixedWords = fixedWordsFor(maxLocks);
    this.words = new Int32Array(buffer, 0, fixedWords);
    const edgesBase = this.locksBase + maxLocks * LOCK_RECORD_WORDS;
    this.edgeKeysBase64 = edgesBase / 2;
    this.edgeInfoBase = edgesBase + EDGE_SLOTS * 2;
    this.reportedBase = this.edgeInfoBase + EDGE_SLOTS * EDGE_INFO_WORDS;
    this.dumpsBase = this.reportedBase + REPORTED_SLOTS;
    this.wide = new BigInt64Array(buffer, 0, fixedWords / 2);
    this.epoch = new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_F64]!;
    this.id =
      (this.words[H_ID]! >>> 0).toString(16).padStart(8, "0") + (this.words[H_ID + 1]! >>> 0).toString(16).padStart(8, "0");
    this.arena = { buffer, start: fixedWords * 4, words: this.words, bumpIndex: H_ARENA_USED };
  }

  /** Creates a fresh runtime buffer. */
  static create(maxLocks: number): Runtime {
    const fixedBytes = fixedWordsFor(maxLocks) * 4;
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(fixedBytes + ARENA_INITIAL_BYTES, { maxByteLength: fixedBytes + ARENA_MAX_BYTES });
    } catch {
      buffer = new SharedArrayBuffer(fixedBytes + ARENA_MAX_BYTES); // no growable buffers here: reserve it all
    }
    const words = new Int32Array(buffer, 0, HEADER_WORDS);
    words[H_VERSION] = VERSION;
    const id = new Int32Array(2);
    crypto.getRandomValues(id);
    words[H_ID] = id[0]!;
    words[H_ID + 1] = id[1]!;
    words[H_MAX_LOCKS] = maxLocks;
    words[H_ARENA_USED] = ARENA_FIRST_REF;
    new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_F64] = wallClock();
    Atomics.store(words, H_MAGIC, MAGIC); // last: a buffer with the magic is complete
    return new Runtime(buffer, maxLocks);
  }

  /**
   * Rebuilds this thread's view of a runtime buffer that came from another thread.
   * @throws TypeError when `buffer` is not a runtime buffer.
   */
  static attach(buffer: unknown): Runtime {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_WORDS * 4) {
      throw new TypeError("threadsafe: not a runtime buffer (expected the SharedArrayBuffer made by threadsafe)");
    }
    const words = new Int32Array(buffer, 0, HEADER_WORDS);
    const maxLocks = words[H_MAX_LOCKS]!;
    const fixedBytes = Number.isInteger(maxLocks) && maxLocks > 0 && maxLocks <= MAX_LOCKS_LIMIT ? fixedWordsFor(maxLocks) * 4 : Infinity;
    if (
      Atomics.load(words, H_MAGIC) !== MAGIC ||
      words[H_VERSION] !== VERSION ||
      !Number.isInteger(maxLocks) ||
      maxLocks < 1 ||
      buffer.byteLength < fixedBytes + ARENA_FIRST_REF ||
      !(words[H_ARENA_USED]! >= ARENA_FIRST_REF && words[H_ARENA_USED]! <= buffer.maxByteLength - fixedBytes) ||
      !(Atomics.load(words, H_LOCK_COUNT) >= 0)
    ) {
      throw new TypeError("threadsafe: corrupted or foreign runtime buffer (bad magic, version or size)");
    }
    return new Runtime(buffer, maxLocks);
  }

  /** Milliseconds since this runtime was created, for timestamps stored in shared memory. */
  elapsed(): number {
    return Math.round(wallClock() - this.epoch);
  }

  // ## Threads

  /** Int32 index of a thread slot's record. */
  threadBase(slot: number): number {
    return this.threadsBase + slot * THREAD_RECORD_WORDS;
  }

  /**
   * Claims a free thread slot and returns the new thread's id.
   * @throws RangeError when all MAX_THREADS - 1 slots are in use.
   */
  allocateThread(name: string | undefined): number {
    // The name is checked and stored before a slot is claimed, so a bad name cannot leak a slot.
    const nameRef = name === undefined ? 0 : this.storeName(name);
    const first = Atomics.add(this.words, H_NEXT_SLOT, 1);
    for (let tried = 0; tried < MAX_THREADS - 1; tried++) {
      const slot = (((first >>> 0) + tried) % (MAX_THREADS - 1)) + 1;
      const index = this.threadBase(slot) + T_STATE;
      // Read before the state: a platform id read after the slot was claimed could be the new owner's own.
      const oldPlatform = Atomics.load(this.words, this.threadBase(slot) + T_PLATFORM_ID);
      const state = Atomics.load(this.words, index);
      if (statusOf(state) !== ThreadStatus.Free) continue;
      const generation = stateGeneration(state);
      // Forget the dead predecessor's platform id *before* the slot reads Alive, or watch() hearing that predecessor's
      // exit could find this new thread by it (threadOnPlatform) and reap it. A CAS: never overwrite a newer owner's.
      Atomics.compareExchange(this.words, this.threadBase(slot) + T_PLATFORM_ID, oldPlatform, 0);
      if (Atomics.compareExchange(this.words, index, state, stateWord(generation, ThreadStatus.Alive)) !== state) continue;
      const id = threadIdOf(slot, generation);
      const base = this.threadBase(slot);
      // A reused slot starts clean: nothing awaited, no requests, no transaction, no stacks of its predecessor.
      for (let word = T_STATE + 1; word < THREAD_RECORD_WORDS; word++) Atomics.store(this.words, base + word, 0);
      clearDump(this, id);
      let ref = nameRef;
      try {
        ref ||= this.storeName(`thread-${id}`);
      } catch (error) {
        Atomics.store(this.words, index, stateWord(nextGeneration(generation), ThreadStatus.Free)); // give the slot back
        throw error;
      }
      Atomics.store(this.words, base + T_NAME, ref);
      return id;
    }
    throw new RangeError(
      `threadsafe: too many threads: all ${MAX_THREADS - 1} thread slots of the runtime are in use; join or end threads before starting more`,
    );
  }

  /** Whether thread `id` is still alive (its slot has not died or moved on to another generation). */
  isAlive(id: number): boolean {
    const state = Atomics.load(this.words, this.threadBase(slotOf(id)) + T_STATE);
    return statusOf(state) === ThreadStatus.Alive && stateGeneration(state) === generationOf(id);
  }

  /** The string ref of thread `id`'s name (valid while its slot has not been reused). */
  threadNameRef(id: number): number {
    return Atomics.load(this.words, this.threadBase(slotOf(id)) + T_NAME);
  }

  /**
   * How dead thread `id` ended (a PoisonCause), as its reaper recorded it; 0 while a reap is still recording it;
   * `Terminated` when the slot has moved on (freed or reused) and nothing more is known.
   */
  exitCauseOf(id: number): number {
    const base = this.threadBase(slotOf(id));
    const state = Atomics.load(this.words, base + T_STATE);
    if (statusOf(state) === ThreadStatus.Dead && stateGeneration(state) === generationOf(id)) {
      return Atomics.load(this.words, base + T_EXIT_CAUSE);
    }
    return PoisonCause.Terminated;
  }

  /** The name of thread `id` (also after it died, as long as its slot was not reused). */
  threadName(id: number): string {
    const ref = Atomics.load(this.words, this.threadBase(slotOf(id)) + T_NAME);
    return loadString(this.arena, ref) ?? `thread-${id}`;
  }

  /** The id of the live thread running on platform thread `platformId` (Node's threadId), if any. */
  threadOnPlatform(platformId: number): number | undefined {
    if (platformId <= 0) return undefined; // 0: the main thread or a slot not yet running; -1: a worker already gone
    for (let slot = 1; slot < MAX_THREADS; slot++) {
      const base = this.threadBase(slot);
      const state = Atomics.load(this.words, base + T_STATE);
      if (statusOf(state) !== ThreadStatus.Alive || Atomics.load(this.words, base + T_PLATFORM_ID) !== platformId) continue;
      return threadIdOf(slot, stateGeneration(state));
    }
    return undefined;
  }

  /** Records which platform thread this thread id runs on. */
  setPlatformId(id: number): void {
    Atomics.store(this.words, this.threadBase(slotOf(id)) + T_PLATFORM_ID, platformThreadId());
  }

  // ## Locks

  /** Int32 index of a lock's record. */
  lockBase(lockId: number): number {
    return this.locksBase + lockId * LOCK_RECORD_WORDS;
  }

  /** Int32 index of a lock's futex word. */
  lockWordIndex(lockId: number): number {
    return this.locksBase + lockId * LOCK_RECORD_WORDS + L_STATE;
  }

  /** How many lock ids have been handed out. */
  lockCount(): number {
    return Math.min(Atomics.load(this.words, H_LOCK_COUNT), this.maxLocks);
  }

  /**
   * Creates a lock record and returns its id.
   * @throws RangeError when the lock table is full.
   */
  allocateLock(kind: number, name: string | undefined, level: number | undefined, dataTag: number): number {
    const nameRef = name === undefined ? 0 : this.storeName(name);
    const lockId = Atomics.add(this.words, H_LOCK_COUNT, 1);
    if (lockId >= this.maxLocks) {
      throw new RangeError(
        `threadsafe: the runtime's lock table is full (${this.maxLocks} locks). Locks are never freed: reuse them, ` +
          `or call configure({ maxLocks }) with a larger number before creating the first lock`,
      );
    }
    const base = this.lockBase(lockId);
    this.words[base + L_NAME] = nameRef;
    this.words[base + L_LEVEL] = level ?? NO_LEVEL;
    Atomics.store(this.words, base + L_KIND, kind | (dataTag << KIND_BITS)); // last: a record with a kind is complete
    return lockId;
  }

  /** Ids of the locks whose word names thread `id` as owner (a scan of the lock table: slow paths only). */
  locksHeldBy(id: number): number[] {
    const held: number[] = [];
    const count = this.lockCount();
    for (let lockId = 0; lockId < count; lockId++) {
      if (Atomics.load(this.words, this.lockWordIndex(lockId)) >>> OWNER_SHIFT === id) held.push(lockId);
    }
    return held;
  }

  /** Ids of the locks whose poison record says thread `id` died holding them (not poisoned by a throw in `with`). */
  locksLeftByDeadThread(id: number): number[] {
    const left: number[] = [];
    const count = this.lockCount();
    for (let lockId = 0; lockId < count; lockId++) {
      const base = this.lockBase(lockId);
      if (Atomics.load(this.words, base + L_POISON_BY) !== id) continue;
      if (Atomics.load(this.words, base + L_POISON_CAUSE) !== PoisonCause.Panicked) left.push(lockId);
    }
    return left;
  }

  /** The kind of lock record `lockId` (0 when unused or out of range). */
  lockKind(lockId: number): number {
    if (!Number.isInteger(lockId) || lockId < 0 || lockId >= this.lockCount()) return 0;
    return Atomics.load(this.words, this.lockBase(lockId) + L_KIND) & KIND_MASK;
  }

  /** The data tag of lock record `lockId` (see locks.ts L_KIND). */
  lockDataTag(lockId: number): number {
    return Atomics.load(this.words, this.lockBase(lockId) + L_KIND) >>> KIND_BITS;
  }

  /** The lock's display name: its own name, or `Mutex#<id>`. */
  lockName(lockId: number): string {
    const ref = this.words[this.lockBase(lockId) + L_NAME]!;
    return loadString(this.arena, ref) ?? `Mutex#${lockId}`;
  }

  /** The lock's level, or undefined. */
  lockLevel(lockId: number): number | undefined {
    const level = this.words[this.lockBase(lockId) + L_LEVEL]!;
    return level === NO_LEVEL ? undefined : level;
  }

  /**
   * Stores a name in the arena.
   * @throws RangeError when the name is longer than MAX_NAME_BYTES.
   */
  storeName(name: string): number {
    if (utf8Length(name) > MAX_NAME_BYTES) {
      throw new RangeError(`threadsafe: names are at most ${MAX_NAME_BYTES} UTF-8 bytes; got "${name.slice(0, 40)}…"`);
    }
    return storeString(this.arena, name);
  }

  /**
   * Stores a longer text (a stack) in the arena, cut to MAX_TEXT_BYTES; returns 0 instead when the arena is over
   * three quarters full, so diagnostics never crowd out names.
   */
  storeText(text: string): number {
    const used = Atomics.load(this.words, H_ARENA_USED);
    if (used > (this.buffer.maxByteLength - this.arena.start) * 0.75) return 0;
    let cut = text;
    while (utf8Length(cut) > MAX_TEXT_BYTES) cut = cut.slice(0, Math.floor(cut.length * 0.9));
    return storeString(this.arena, cut);
  }

  /** Reads a text stored with `storeText`. */
  loadText(ref: number): string | undefined {
    return loadString(this.arena, ref, MAX_TEXT_BYTES);
  }

  /** Reads a name stored with `storeName`. */
  loadName(ref: number): string | undefined {
    return loadString(this.arena, ref);
  }
}
