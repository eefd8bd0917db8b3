/**
 * The runtime buffer: one growable `SharedArrayBuffer` per program that holds the state every thread must be able
 * to read about every other thread: the thread table (threads.ts), the object table (objects.ts), the reference
 * table (lifetime.ts) and the names of all of them (strings.ts). It is created lazily by the first thread that
 * needs it and reaches other threads inside the messages of `spawn` and `share`.
 *
 * ## Layout
 *
 * ```
 * [ header ][ thread table ][ object table ][ reference table ][ lock-order edges ][ reported cycles ][ arena → grows ]
 * ```
 *
 * - reference table (lifetime.ts): REF_WORDS Int32 words per entry, one entry per (holder, object) pair;
 * - lock-order edges (deadlock/order.ts): EDGE_SLOTS 64-bit keys `(from + 1) << 32 | (to + 1)`, open addressing,
 *   then EDGE_SLOTS Int32 triples of first-seen info (thread id, string ref of a copy of its name, a stack's ref);
 * - reported cycles: REPORTED_SLOTS Int32 hashes of cycles already reported, so each is reported once;
 * - the arena holds names, and each thread slot's dump area (runtime/dumps.ts) once stack capture first needs it.
 *
 * The fixed part has a fixed size, so its views are fixed-length (measured 4× faster for atomics than
 * length-tracking views); only the arena at the end grows. docs/memory-layout.md draws every record.
 */

import {
  ARENA_FIRST_REF,
  MAX_NAME_BYTES,
  MAX_TEXT_BYTES,
  SIZE_CLASSES,
  freeString,
  loadString,
  storeString,
  utf8Length,
  type ArenaSite,
} from "./strings.js";
import { OBJECT_RECORD_WORDS, KIND_BITS, KIND_MASK, O_KIND, O_LEVEL, O_NAME, O_STATE, NO_LEVEL } from "./objects.js";
import {
  MAX_THREADS,
  THREAD_RECORD_WORDS,
  T_DUMP_REF,
  T_REF_ENTRIES,
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
import { kindName, relationOf } from "./kinds.js";
import { clearDump } from "./dumps.js";
import { PoisonCause } from "./objects.js";
import { platformThreadId, requireSharedMemory, wallClock } from "../platform/index.js";

// ## Header: Int32 word indexes.
const H_MAGIC = 0;
const H_VERSION = 1;
/** Two random words that identify this runtime. */
const H_ID = 2;
const H_MAX_OBJECTS = 4;
/** Object records handed out so far (a high-water mark: freed records are reused first, see objects). */
export const H_OBJECT_COUNT = 5;
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
/** BigInt64 index of the object free-list head (`tag << 32 | id + 1`). */
export const H_FREE_OBJECTS_I64 = 8;
/** BigInt64 index of the first string free-list head (SIZE_CLASSES of them). */
const H_FREE_STRINGS_I64 = 9;
/** Counter of references in flight (lifetime.ts). */
export const H_TRANSIT_TICKETS = 2 * (H_FREE_STRINGS_I64 + SIZE_CLASSES);
/** Longest single sleep of a parked waiter in ms; 0 means the default (parking/park.ts). Tests raise it. */
export const H_PARK_SLICE_MS = H_TRANSIT_TICKETS + 1;
/** Bumped and notified when a channel that a `select` waits on gets a message or loses a side (raw/raw-channel.ts). */
export const H_SELECT_SEQ = H_PARK_SLICE_MS + 1;
const HEADER_WORDS = 64;
/** Capacity of the lock-order edge table. */
export const EDGE_SLOTS = 1 << 15;
/** Int32 words per edge-info entry: first-seen thread id, string ref of its name, string ref of the stack. */
export const EDGE_INFO_WORDS = 3;
export const REPORTED_SLOTS = 1 << 12;
/** Int32 words of one reference-table entry (lifetime.ts). */
export const REF_WORDS = 3;

/**
 * Entries of the reference table for a runtime of `maxObjects` objects: a power of two, four per object (an object
 * is typically had by its creator and a few workers; a full table says to raise `maxLocks`).
 */
function refSlotsFor(maxObjects: number): number {
  let slots = 4096;
  while (slots < maxObjects * 4) slots *= 2;
  return slots;
}

/** Int32 words of everything before the arena, for a runtime of `maxObjects` objects. */
function fixedWordsFor(maxObjects: number): number {
  return (
    HEADER_WORDS +
    MAX_THREADS * THREAD_RECORD_WORDS +
    maxObjects * OBJECT_RECORD_WORDS +
    refSlotsFor(maxObjects) * REF_WORDS +
    (refSlotsFor(maxObjects) * REF_WORDS) % 2 + // 8-byte alignment of the edge keys
    EDGE_SLOTS * 2 +
    EDGE_SLOTS * EDGE_INFO_WORDS +
    REPORTED_SLOTS
  );
}

const MAGIC = 0x54534146; // "TSAF"
const VERSION = 2;

/** Default number of live shared objects a runtime can hold. */
export const DEFAULT_MAX_LOCKS = 65536;
/** The most objects a runtime can be configured for (ids must fit the 29-bit-safe edge keys and typed arrays). */
export const MAX_LOCKS_LIMIT = 1 << 24;
/** Initial and largest size of the arena, in bytes. */
const ARENA_INITIAL_BYTES = 64 * 1024;
const ARENA_MAX_BYTES = 16 * 1024 * 1024;

/** Sizing used when this thread creates the runtime; `configure({ maxLocks })` changes it before that. */
export const sizing: { maxLocks: number } = { maxLocks: DEFAULT_MAX_LOCKS };

/** One program's shared runtime state, as seen from this thread. */
export class Runtime {
  readonly buffer: SharedArrayBuffer;
  /** Header, thread table, object table and reference table as Int32 words. */
  readonly words: Int32Array;
  /** The same fixed region as 64-bit words (tickets, free-list heads). */
  readonly wide: BigInt64Array;
  readonly epoch: number;
  /** How many objects can be alive at once (`configure({ maxLocks })`). */
  readonly maxObjects: number;
  readonly id: string;
  readonly arena: ArenaSite;
  /** Int32 index of the thread table, the object table and the reference table. */
  readonly threadsBase = HEADER_WORDS;
  readonly objectsBase = HEADER_WORDS + MAX_THREADS * THREAD_RECORD_WORDS;
  readonly refsBase: number;
  /** Entries of the reference table (a power of two). */
  readonly refSlots: number;
  /** BigInt64 index of the edge keys; Int32 indexes of the edge info and reported cycles. */
  readonly edgeKeysBase64: number;
  readonly edgeInfoBase: number;
  readonly reportedBase: number;

  private constructor(buffer: SharedArrayBuffer, maxObjects: number) {
    this.buffer = buffer;
    this.maxObjects = maxObjects;
    const fixedWords = fixedWordsFor(maxObjects);
    this.words = new Int32Array(buffer, 0, fixedWords);
    this.refsBase = this.objectsBase + maxObjects * OBJECT_RECORD_WORDS;
    this.refSlots = refSlotsFor(maxObjects);
    const refWords = this.refSlots * REF_WORDS;
    const edgesBase = this.refsBase + refWords + (refWords % 2);
    this.edgeKeysBase64 = edgesBase / 2;
    this.edgeInfoBase = edgesBase + EDGE_SLOTS * 2;
    this.reportedBase = this.edgeInfoBase + EDGE_SLOTS * EDGE_INFO_WORDS;
    this.wide = new BigInt64Array(buffer, 0, fixedWords / 2);
    this.epoch = new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_F64]!;
    this.id =
      (this.words[H_ID]! >>> 0).toString(16).padStart(8, "0") + (this.words[H_ID + 1]! >>> 0).toString(16).padStart(8, "0");
    this.arena = { buffer, start: fixedWords * 4, words: this.words, bumpIndex: H_ARENA_USED, wide: this.wide, freeHeads64: H_FREE_STRINGS_I64 };
  }

  /** Creates a fresh runtime buffer. */
  static create(maxObjects: number): Runtime {
    requireSharedMemory();
    const fixedBytes = fixedWordsFor(maxObjects) * 4;
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
    words[H_MAX_OBJECTS] = maxObjects;
    words[H_ARENA_USED] = ARENA_FIRST_REF;
    new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_F64] = wallClock();
    Atomics.store(words, H_MAGIC, MAGIC); // last: a buffer with the magic is complete
    return new Runtime(buffer, maxObjects);
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
    const maxObjects = words[H_MAX_OBJECTS]!;
    const fixedBytes =
      Number.isInteger(maxObjects) && maxObjects > 0 && maxObjects <= MAX_LOCKS_LIMIT ? fixedWordsFor(maxObjects) * 4 : Infinity;
    if (
      Atomics.load(words, H_MAGIC) !== MAGIC ||
      words[H_VERSION] !== VERSION ||
      !Number.isInteger(maxObjects) ||
      maxObjects < 1 ||
      buffer.byteLength < fixedBytes + ARENA_FIRST_REF ||
      !(words[H_ARENA_USED]! >= ARENA_FIRST_REF && words[H_ARENA_USED]! <= buffer.maxByteLength - fixedBytes) ||
      !(Atomics.load(words, H_OBJECT_COUNT) >= 0)
    ) {
      throw new TypeError("threadsafe: corrupted or foreign runtime buffer (bad magic, version or size)");
    }
    return new Runtime(buffer, maxObjects);
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
      // The predecessor's name was kept for reports about it until now (see threadName); so were its stacks.
      const predecessorName = Atomics.exchange(this.words, base + T_NAME, 0);
      if (predecessorName !== 0) freeString(this.arena, predecessorName);
      clearDump(this, id);
      // A reused slot starts clean: nothing awaited, no requests, no transaction, no stacks of its predecessor.
      // (Its dump area, T_DUMP_REF, is kept for the slot's next thread; so is T_REF_ENTRIES, which a late reaper of
      // the predecessor may still be lowering.)
      for (let word = T_STATE + 1; word < THREAD_RECORD_WORDS; word++) {
        if (word !== T_DUMP_REF && word !== T_REF_ENTRIES) Atomics.store(this.words, base + word, 0);
      }
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
    if (nameRef !== 0) freeString(this.arena, nameRef);
    throw new RangeError(
      `threadsafe: too many threads: all ${MAX_THREADS - 1} thread slots of the runtime are in use; join or end threads before starting more`,
    );
  }

  /** Whether thread `id` is still alive (its slot has not died or moved on to another generation). */
  isAlive(id: number): boolean {
    const state = Atomics.load(this.words, this.threadBase(slotOf(id)) + T_STATE);
    return statusOf(state) === ThreadStatus.Alive && stateGeneration(state) === generationOf(id);
  }

  /** The string ref of thread `id`'s name (valid while its slot has not been freed). */
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

  /**
   * The name of thread `id`: while it lives, while it is being reaped, and after, until its slot is reused (a
   * report about a dead thread names it); then `thread-<id>`.
   */
  threadName(id: number): string {
    const base = this.threadBase(slotOf(id));
    const state = Atomics.load(this.words, base + T_STATE);
    const own =
      statusOf(state) === ThreadStatus.Free
        ? stateGeneration(state) === nextGeneration(generationOf(id))
        : stateGeneration(state) === generationOf(id);
    if (!own) return `thread-${id}`;
    const name = loadString(this.arena, Atomics.load(this.words, base + T_NAME));
    // Read again: a slot freed meanwhile may have given its name's block to another string.
    if (Atomics.load(this.words, base + T_STATE) !== state) return `thread-${id}`;
    return name ?? `thread-${id}`;
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

  /**
   * Frees thread `id`'s slot for a new generation (the last step of reaping it). Its name stays readable for
   * reports until the slot is reused, and is freed then (allocateThread).
   */
  freeThreadSlot(id: number): void {
    Atomics.store(this.words, this.threadBase(slotOf(id)) + T_STATE, stateWord(nextGeneration(generationOf(id)), ThreadStatus.Free));
  }

  // ## Objects

  /** Int32 index of an object's record. */
  objectBase(id: number): number {
    return this.objectsBase + id * OBJECT_RECORD_WORDS;
  }

  /** Int32 index of an object's futex word. */
  stateIndex(id: number): number {
    return this.objectsBase + id * OBJECT_RECORD_WORDS + O_STATE;
  }

  /** How many object records have ever been handed out (ids below this may be in use). */
  objectCount(): number {
    return Math.min(Atomics.load(this.words, H_OBJECT_COUNT), this.maxObjects);
  }

  /** The kind of object record `id` (0 when free or out of range). */
  objectKind(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.objectCount()) return 0;
    return Atomics.load(this.words, this.objectBase(id) + O_KIND) & KIND_MASK;
  }

  /** The data tag of object record `id` (see objects.ts O_KIND). */
  objectDataTag(id: number): number {
    return Atomics.load(this.words, this.objectBase(id) + O_KIND) >>> KIND_BITS;
  }

  /** The object's display name: its own name, or `<Kind>#<id>`. */
  objectName(id: number): string {
    const base = this.objectBase(id);
    const ref = Atomics.load(this.words, base + O_NAME);
    return loadString(this.arena, ref) ?? `${kindName(Atomics.load(this.words, base + O_KIND) & KIND_MASK)}#${id}`;
  }

  /** The object's level, or undefined. */
  objectLevel(id: number): number | undefined {
    const level = Atomics.load(this.words, this.objectBase(id) + O_LEVEL);
    return level === NO_LEVEL ? undefined : level;
  }

  /** "Mutex \"name\"" (`Condvar "c" of Mutex "m"` while tied to another object): how messages refer to object `id`. */
  describeObject(id: number): string {
    const kind = this.objectKind(id);
    return `${kindName(kind)} "${this.objectName(id)}"${relationOf(this, kind, id)}`;
  }

  // ## Strings

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

  /** Gives a name stored with `storeName` back (its owner is gone). */
  freeName(ref: number): void {
    freeString(this.arena, ref);
  }

  /**
   * Stores a longer text (a stack) in the arena, cut to MAX_TEXT_BYTES; returns 0 instead when the arena is over
   * three quarters full, so diagnostics never crowd out names.
   */
  storeText(text: string): number {
    if (!this.arenaHasRoomFor(MAX_TEXT_BYTES)) return 0;
    let cut = text;
    while (utf8Length(cut) > MAX_TEXT_BYTES) cut = cut.slice(0, Math.floor(cut.length * 0.9));
    return storeString(this.arena, cut);
  }

  /** Whether diagnostics may take `bytes` more of the arena (they may fill it to three quarters). */
  arenaHasRoomFor(bytes: number): boolean {
    const used = Atomics.load(this.words, H_ARENA_USED);
    return used + bytes <= (this.buffer.maxByteLength - this.arena.start) * 0.75;
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
