/**
 * The RwLock word protocol, apart from any typed data: Rust std's futex rwlock (`sys/sync/rwlock/futex.rs`), with
 * a poison bit, the writer's id beside the state word, and read holds recorded in each reader's reference entry.
 *
 * ## Words of the object record (runtime/objects.ts)
 *
 * | word | meaning |
 * |---|---|
 * | O_STATE | the state word below; readers sleep on it |
 * | O_AUX + 0 (A_WRITER) | the writer's thread id while write-locked (0 otherwise, or for an instant after a take) |
 * | O_AUX + 1 (A_WRITER_NOTIFY) | a counter writers sleep on: bumped by every wake of a writer (Rust's `writer_notify`) |
 *
 * ```
 *  31              | 30              | 29       | 28 ....................... 0
 *  WRITERS_WAITING | READERS_WAITING | POISONED | readers (MASK when write-locked)
 * ```
 *
 * - Read-lockable: fewer than MAX_READERS readers, not write-locked, and no waiting bit set. A waiting writer
 *   therefore holds back new readers (writer preference: a stream of readers cannot starve a writer).
 * - Read fast path: one compare-and-swap adding a reader (from 0, or from the value a failed one returned), and a
 *   plain store of the reader's count in its reference entry's `holds` word (runtime/lifetime.ts), so that deadlock
 *   detection can name readers and a reaper can give a dead reader's holds back.
 * - Write fast path: one compare-and-swap from 0 to WRITE_LOCKED, then the writer's id into A_WRITER. Because the
 *   id is not in the state word, a thread killed between the two leaves the lock held with no owner named; and a
 *   reader killed between its compare-and-swap and its holds store leaves a read hold nobody can release. Both
 *   windows are a few instructions wide. The order (take, then record; forget, then release) is chosen so that a
 *   death can leak a hold but never release one twice.
 * - Unlock notifies only when a waiting bit says someone may sleep.
 * - POISONED is set by a writer's `withWrite` callback throwing or a writer dying; it survives unlocking, and the
 *   fast paths' compare-and-swap from a flagless value does not match it, so checking it costs nothing there.
 */

import { lockRef, threadRef } from "../deadlock/report.js";
import { DeadlockError } from "../errors.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { pause } from "../platform/index.js";
import { currentThreadId } from "../runtime/current.js";
import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { visitHolds } from "../runtime/lifetime.js";
import { O_AUX, PoisonCause } from "../runtime/objects.js";
import { clearPoisonRecord, poisonDetails, recordPoison, type PoisonDetails } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { MAX_THREADS, T_STATE, T_TICKET_I64, T_WAIT_KIND, T_WAIT_OBJECT, ThreadStatus, TICKET_NONE, stateGeneration, statusOf, threadIdOf } from "../runtime/threads.js";
import { Acquired } from "./raw-mutex.js";

/** Readers field; all ones means write-locked. */
export const MASK = (1 << 29) - 1;
export const WRITE_LOCKED = MASK;
export const MAX_READERS = MASK - 1;
export const POISONED = 1 << 29;
export const READERS_WAITING = 1 << 30;
export const WRITERS_WAITING = 1 << 31;
const WAITING = READERS_WAITING | WRITERS_WAITING;
/** What a downgrade adds: from write-locked to one reader. */
const DOWNGRADE = 1 - WRITE_LOCKED;

/** Offsets from the object's O_STATE word. */
const A_WRITER = O_AUX;
const A_WRITER_NOTIFY = O_AUX + 1;

/** Spins before parking (docs/measurements.md: best on 2 cores at ≤100). */
const SPIN_LIMIT = 100;

const TOOK = 0;
const TOOK_POISONED = 1;

function isReadLockable(state: number): boolean {
  return (state & MASK) < MAX_READERS && (state & WAITING) === 0;
}
function isUnlocked(state: number): boolean {
  return (state & MASK) === 0;
}
function isWriteLocked(state: number): boolean {
  return (state & MASK) === WRITE_LOCKED;
}

/**
 * Wakes whoever an unlock (or an abandoned writer's wait) lets go on: one writer if writers may be waiting, else
 * every reader if readers may be waiting. A woken writer that cannot take the lock sets WRITERS_WAITING again.
 * `state` is a recent value of the state word.
 */
function wakeWriterOrReaders(words: Int32Array, index: number, state: number): void {
  for (;;) {
    if (state & WRITERS_WAITING) {
      const cleared = state & ~WRITERS_WAITING;
      const seen = Atomics.compareExchange(words, index, state, cleared);
      if (seen !== state) {
        state = seen;
        continue;
      }
      Atomics.add(words, index + A_WRITER_NOTIFY, 1);
      if (Atomics.notify(words, index + A_WRITER_NOTIFY, 1) > 0) return;
      state = cleared; // nobody was asleep: readers may go
    }
    if ((state & READERS_WAITING) === 0 || isWriteLocked(state)) return;
    const seen = Atomics.compareExchange(words, index, state, state & ~READERS_WAITING);
    if (seen !== state) {
      state = seen;
      continue;
    }
    Atomics.notify(words, index);
    return;
  }
}

/**
 * The `DeadlockError` of a blocking `read` while this thread holds the write lock, or a blocking `write` while it
 * holds a read (an upgrade): the wait would never end, because what it waits for is this thread's own hold.
 */
function selfDeadlock(rt: Runtime, id: number, wants: "read" | "write", holds: "read" | "write"): DeadlockError {
  const thread = threadRef(rt, currentThreadId);
  const lock = lockRef(rt, id);
  const advice =
    holds === "read"
      ? `An RwLock read cannot be upgraded: release the read guard, then take write() (and check again what you ` +
        `read, since another writer may get in between), or take write() from the start.`
      : `Use the write guard itself to read, or call downgrade() on it to turn it into a read guard atomically.`;
  return new DeadlockError(
    `thread "${thread.name}" (id ${thread.id}) asked to ${wants} RwLock "${lock.name}" while it holds ${holds === "read" ? "a read lock of it" : "its write lock"}: ` +
      `a blocking wait here would never end, because the hold it waits for is this thread's own.\n  ${advice} ` +
      `(If the holder is a pending async task of this thread, use ${wants}Async() so the task can finish.)`,
    "self",
    [{ thread, waitsFor: lock, holds: [lock] }],
  );
}

/** One RwLock of the runtime's object table, operated on from this thread. */
export class RawRwLock {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  /** The state word. */
  readonly index: number;
  /** This thread's `holds` word (its reference entry): how many read holds it has of this lock. */
  holdsAt = -1;

  /** Set `holdsAt` (this thread's reference entry) before the first acquisition. */
  constructor(rt: Runtime, id: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
  }

  // ## Read side

  /** The read fast path: adds a reader to a read-lockable, unpoisoned state. */
  tryReadFast(): boolean {
    const { words, index } = this;
    let seen = Atomics.compareExchange(words, index, 0, 1);
    if (seen !== 0) {
      if ((seen & ~MASK) !== 0 || (seen & MASK) >= MAX_READERS) return false;
      if (Atomics.compareExchange(words, index, seen, seen + 1) !== seen) return false;
    }
    // A plain store: only this thread writes its holds word while it lives; the walk and the reaper read it after
    // an atomic operation of this thread (its next wait publication, its death) has made it visible.
    words[this.holdsAt]! += 1;
    return true;
  }

  /** Takes a read hold if the lock is read-lockable now (poisoned or not). Never blocks. */
  tryRead(): Acquired {
    if (this.tryReadFast()) return Acquired.Yes;
    const { words, index } = this;
    for (;;) {
      const state = Atomics.load(words, index);
      if (!isReadLockable(state)) return Acquired.No;
      if (Atomics.compareExchange(words, index, state, state + 1) === state) {
        words[this.holdsAt]! += 1;
        return state & POISONED ? Acquired.Poisoned : Acquired.Yes;
      }
    }
  }

  /** How many read holds this thread has of the lock. */
  readHolds(): number {
    return this.words[this.holdsAt]!;
  }

  /** Whether this thread holds the write lock. */
  writeHeldByMe(): boolean {
    return isWriteLocked(Atomics.load(this.words, this.index)) && Atomics.load(this.words, this.index + A_WRITER) === currentThreadId;
  }

  /**
   * Blocks until a read hold is taken; returns true when the lock was poisoned.
   * @throws DeadlockError (this thread holds the write lock), LockTimeoutError, or Error where it may not block.
   */
  read(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean {
    const { words, index } = this;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const state = Atomics.load(words, index);
      if (isReadLockable(state)) {
        if (Atomics.compareExchange(words, index, state, state + 1) === state) {
          words[this.holdsAt]! += 1;
          return (state & POISONED) !== 0;
        }
        continue;
      }
      if (isWriteLocked(state) && this.writeHeldByMe()) throw selfDeadlock(this.rt, this.id, "read", "write");
      if (state & WAITING) break; // others are asleep already: join them
      pause();
    }
    if (this.writeHeldByMe()) throw selfDeadlock(this.rt, this.id, "read", "write");
    return park(new ReadWait(this), WaitKind.Read, timeoutMs, onPark, interrupted) === TOOK_POISONED;
  }

  /** Waits for a read hold without blocking the thread; resolves to true when the lock was poisoned. */
  async readAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw signal.reason;
    const immediate = this.tryRead();
    if (immediate !== Acquired.No) return immediate === Acquired.Poisoned;
    return (await parkAsync(new ReadWait(this), WaitKind.Read, timeoutMs, signal)) === TOOK_POISONED;
  }

  /** Releases one read hold of this thread. */
  readUnlock(): void {
    const { words, index } = this;
    words[this.holdsAt]! -= 1; // forget first: a death in between leaks the hold rather than releasing it twice
    const before = Atomics.sub(words, index, 1);
    if ((before & MASK) === 1 && before & WRITERS_WAITING) wakeWriterOrReaders(words, index, before - 1);
  }

  // ## Write side

  /** The write fast path: takes a free, unpoisoned lock with no waiters. */
  tryWriteFast(): boolean {
    if (Atomics.compareExchange(this.words, this.index, 0, WRITE_LOCKED) !== 0) return false;
    Atomics.store(this.words, this.index + A_WRITER, currentThreadId);
    return true;
  }

  /** Takes the write lock if it is free right now (poisoned or not). Never blocks. */
  tryWrite(): Acquired {
    if (this.tryWriteFast()) return Acquired.Yes;
    const { words, index } = this;
    for (;;) {
      const state = Atomics.load(words, index);
      if (!isUnlocked(state)) return Acquired.No;
      if (Atomics.compareExchange(words, index, state, state | WRITE_LOCKED) === state) {
        Atomics.store(words, index + A_WRITER, currentThreadId);
        return state & POISONED ? Acquired.Poisoned : Acquired.Yes;
      }
    }
  }

  /**
   * Blocks until the write lock is taken; returns true when it was poisoned.
   * @throws DeadlockError (this thread holds a read or the write), LockTimeoutError, or Error where it may not block.
   */
  write(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean {
    const { words, index } = this;
    if (this.readHolds() > 0) throw selfDeadlock(this.rt, this.id, "write", "read");
    if (this.writeHeldByMe()) throw selfDeadlock(this.rt, this.id, "write", "write");
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const state = Atomics.load(words, index);
      if (isUnlocked(state)) {
        if (Atomics.compareExchange(words, index, state, state | WRITE_LOCKED) === state) {
          Atomics.store(words, index + A_WRITER, currentThreadId);
          return (state & POISONED) !== 0;
        }
        continue;
      }
      if (state & WRITERS_WAITING) break;
      pause();
    }
    const wait = new WriteWait(this);
    try {
      return park(wait, WaitKind.Write, timeoutMs, onPark, interrupted) === TOOK_POISONED;
    } catch (error) {
      wait.abandon();
      throw error;
    }
  }

  /** Waits for the write lock without blocking the thread; resolves to true when it was poisoned. */
  async writeAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw signal.reason;
    const immediate = this.tryWrite();
    if (immediate !== Acquired.No) return immediate === Acquired.Poisoned;
    const wait = new WriteWait(this);
    try {
      return (await parkAsync(wait, WaitKind.Write, timeoutMs, signal)) === TOOK_POISONED;
    } catch (error) {
      wait.abandon();
      throw error;
    }
  }

  /** Releases the write lock, held by this thread; with `poison`, marks the lock poisoned first. */
  writeUnlock(poison: boolean): void {
    const { rt, words, index } = this;
    // Written while still held, so the next holder reads it whole.
    if (poison) recordPoison(rt, this.id, currentThreadId, PoisonCause.Panicked);
    // Forget first (see the module comment); the exchange also checks that the lock is still ours.
    if (Atomics.exchange(words, index + A_WRITER, 0) !== currentThreadId) {
      throw new Error(
        `threadsafe: ${rt.describeObject(this.id)} is not write-held by this thread any more ` +
          `(it was released for a thread that was declared dead)`,
      );
    }
    if (!poison && Atomics.compareExchange(words, index, WRITE_LOCKED, 0) === WRITE_LOCKED) return;
    let state = Atomics.load(words, index);
    for (;;) {
      const next = (state - WRITE_LOCKED) | (poison ? POISONED : 0);
      const seen = Atomics.compareExchange(words, index, state, next);
      if (seen === state) {
        if (next & WAITING) wakeWriterOrReaders(words, index, next);
        return;
      }
      state = seen;
    }
  }

  /**
   * Turns this thread's write hold into a read hold, atomically: no writer can take the lock in between. Readers
   * that were waiting are woken (those not held back by a waiting writer get in beside this one).
   */
  downgrade(): void {
    const { words, index } = this;
    words[this.holdsAt]! += 1; // record first: between the two the thread is named as writer and reader, harmlessly
    const before = Atomics.add(words, index, DOWNGRADE);
    Atomics.store(words, index + A_WRITER, 0);
    if (before & READERS_WAITING) {
      // Only a writer could clear this bit, and we were the writer.
      Atomics.and(words, index, ~READERS_WAITING);
      Atomics.notify(words, index);
    }
  }

  // ## Poison

  isPoisoned(): boolean {
    return (Atomics.load(this.words, this.index) & POISONED) !== 0;
  }

  /** Clears the poison flag (and its record), whether or not the lock is held. */
  clearPoison(): void {
    if ((Atomics.and(this.words, this.index, ~POISONED) & POISONED) !== 0) clearPoisonRecord(this.rt, this.id);
  }

  poisonDetails(): PoisonDetails {
    return poisonDetails(this.rt, this.id);
  }
}

/** One blocking or async wait for a read hold. */
class ReadWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  readonly #raw: RawRwLock;

  constructor(raw: RawRwLock) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = raw.index;
    this.#raw = raw;
  }

  attempt(): number {
    const { words, index } = this;
    for (;;) {
      const state = Atomics.load(words, index);
      if (isReadLockable(state)) {
        if (Atomics.compareExchange(words, index, state, state + 1) !== state) continue;
        words[this.#raw.holdsAt]! += 1;
        return state & POISONED ? TOOK_POISONED : TOOK;
      }
      // Make sure the unlocker knows to wake us, then sleep while nothing changes.
      const waiting = state | READERS_WAITING;
      if (waiting !== state && Atomics.compareExchange(words, index, state, waiting) !== state) continue;
      this.expected = waiting;
      return PARKED;
    }
  }
}

/** One blocking or async wait for the write lock; sleeps on the writers' notify counter. */
class WriteWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  readonly #state: number;
  /** Set once this wait has slept: other writers may be asleep too, so the taker keeps WRITERS_WAITING set. */
  #slept = false;

  constructor(raw: RawRwLock) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.#state = raw.index;
    this.index = raw.index + A_WRITER_NOTIFY;
  }

  attempt(): number {
    const words = this.words;
    const index = this.#state;
    for (;;) {
      let state = Atomics.load(words, index);
      if (isUnlocked(state)) {
        const taken = state | WRITE_LOCKED | (this.#slept ? WRITERS_WAITING : 0);
        if (Atomics.compareExchange(words, index, state, taken) !== state) continue;
        Atomics.store(words, index + A_WRITER, currentThreadId);
        return state & POISONED ? TOOK_POISONED : TOOK;
      }
      if ((state & WRITERS_WAITING) === 0) {
        if (Atomics.compareExchange(words, index, state, state | WRITERS_WAITING) !== state) continue;
      }
      this.#slept = true;
      // Read the counter before re-checking the state, so a wake in between changes what we would sleep on.
      const seq = Atomics.load(words, this.index);
      state = Atomics.load(words, index);
      if (isUnlocked(state) || (state & WRITERS_WAITING) === 0) continue;
      this.expected = seq;
      return PARKED;
    }
  }

  /**
   * The wait ended without the lock (timeout, abort, deadlock): the WRITERS_WAITING bit it may have set must not
   * hold readers back for a writer that is gone, and a wake it consumed must reach someone. Wakes the next writer,
   * or the readers; a writer still waiting sets the bit again.
   */
  abandon(): void {
    if (!this.#slept) return;
    const state = Atomics.load(this.words, this.#state);
    if (state & WAITING) wakeWriterOrReaders(this.words, this.#state, state);
  }
}

/** Appends the threads published as blocked waiting to write lock `id` (they hold back new readers). */
function waitingWriters(rt: Runtime, id: number, out: number[]): void {
  const words = rt.words;
  for (let slot = 1; slot < MAX_THREADS; slot++) {
    const base = rt.threadBase(slot);
    if (words[base + T_WAIT_OBJECT] !== id + 1) continue;
    if (Atomics.load(words, base + T_WAIT_KIND) !== WaitKind.Write) continue;
    if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) <= TICKET_NONE) continue;
    const state = Atomics.load(words, base + T_STATE);
    if (statusOf(state) !== ThreadStatus.Alive) continue;
    out.push(threadIdOf(slot, stateGeneration(state)));
  }
}

registerKind({
  kind: ObjectKind.RwLock,
  displayName: "RwLock",
  holders(rt, id, waitKind, out) {
    const index = rt.stateIndex(id);
    const state = Atomics.load(rt.words, index);
    if (isWriteLocked(state)) {
      const writer = Atomics.load(rt.words, index + A_WRITER);
      if (writer !== 0) out.push(writer);
      // A downgrading writer names itself as reader too, for an instant: fall through to the readers.
    }
    if (waitKind !== WaitKind.Read && !isWriteLocked(state) && (state & MASK) !== 0) {
      // A writer waits for every reader (a reader waits for readers only through a writer, below).
      visitHolds(rt, id, (thread) => {
        if (!out.includes(thread)) out.push(thread);
      });
    }
    if (waitKind === WaitKind.Read && !isWriteLocked(state) && (state & WRITERS_WAITING) !== 0) {
      // Writer preference: a new reader waits behind the writers waiting, who wait for the readers. A reader that
      // holds a read and asks for another behind a waiting writer is in a real cycle (Rust documents this one).
      waitingWriters(rt, id, out);
    }
  },
  isPoisoned(rt, id) {
    return (Atomics.load(rt.words, rt.stateIndex(id)) & POISONED) !== 0;
  },
  releaseDead(rt, id, threadId, holds, cause) {
    const words = rt.words;
    const index = rt.stateIndex(id);
    let state = Atomics.load(words, index);
    if (isWriteLocked(state) && Atomics.load(words, index + A_WRITER) === threadId) {
      // The poison record is written while the dead writer still owns the lock, so the next holder reads it whole.
      recordPoison(rt, id, threadId, cause);
      Atomics.store(words, index + A_WRITER, 0);
      for (;;) {
        const next = (state - WRITE_LOCKED) | POISONED;
        const seen = Atomics.compareExchange(words, index, state, next);
        if (seen === state) {
          if (next & WAITING) wakeWriterOrReaders(words, index, next); // the next holder sees the poison
          return true;
        }
        state = seen;
      }
    }
    if (holds <= 0) return false;
    // A dead reader's holds are given back; readers never poison.
    const before = Atomics.sub(words, index, holds);
    if ((before & MASK) === holds && before & WRITERS_WAITING) wakeWriterOrReaders(words, index, before - holds);
    return true;
  },
});
