/**
 * The Mutex word protocol, apart from any typed data (the role of `lock_api`'s RawMutex): a 3-state futex word
 * (Drepper, "Futexes Are Tricky") that carries its owner's thread id.
 *
 * ```
 *  31 ............................ 3 | 2        | 1 0
 *  owner thread id (0 when free)     | POISONED | state: 0 free, 1 locked, 2 locked and maybe waiters
 * ```
 *
 * The owner field is the holder's thread id (slot + generation, runtime/threads.ts), so a thread that acquires
 * writes `(id << OWNER_SHIFT) | LOCKED` with one compare-and-swap from 0. POISONED survives unlocking: a poisoned
 * free lock's word is `POISONED`, which the fast path's CAS from 0 does not match, so the poison check costs
 * nothing on the fast path. Because the word names its owner, a Mutex records no hold anywhere else: deadlock
 * detection and owner death read the owner from the word.
 *
 * - Fast path: one compare-and-swap from 0 to "held by me". No allocation, no clock, no stack.
 * - Slow path: a short bounded spin, then parking (parking/park.ts) until a claim succeeds.
 * - Unlock notifies only when the word says a waiter may exist.
 *
 * | word | meaning |
 * |---|---|
 * | O_STATE | the lock word above |
 * | O_AUX + 0 (A_PARKERS) | waits in progress past the spin (counted before they mark the word CONTENDED) |
 *
 * A waiter that takes the lock after a wake marks it CONTENDED only while other waits are counted. Drepper's
 * protocol marks it CONTENDED always (it cannot know), and so does Rust's: then the next unlock notifies nobody,
 * and, worse, a thread that finds the word CONTENDED parks at once instead of spinning, so two busy threads
 * stay in a sleep/wake convoy (measured: 2 workers × 1,000,000, 2× the ns/op of a lock that re-takes the word
 * as plain LOCKED). A woken waiter also spins before it marks the word again (as Rust's does): the thread that
 * woke it usually takes the lock again at once and holds it for a few ns only.
 */

import { currentThreadId } from "../runtime/current.js";
import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { O_AUX, PoisonCause } from "../runtime/objects.js";
import { clearPoisonRecord, poisonDetails, recordPoison, type PoisonDetails } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { selfDeadlockError } from "../deadlock/report.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { pause, terminateStopsAtOnce } from "../platform/index.js";
import { obeyTermination } from "../runtime/termination.js";

export const STATE_MASK = 0b011;
export const FREE = 0b000;
export const LOCKED = 0b001;
/** Locked, and some thread may be waiting: the unlocker must notify. */
export const CONTENDED = 0b010;
export const POISONED = 0b100;
export const OWNER_SHIFT = 3;

/** The lock word of a lock held by thread `id` with no waiters and no poison. */
export function heldWord(id: number): number {
  return ((id << OWNER_SHIFT) | LOCKED) | 0;
}

/** Spins before parking: measured best on 2 cores at ≤100 (docs/measurements.md). */
const SPIN_LIMIT = 100;
/** Offset from O_AUX of the count of waits in progress (see the table above). */
const A_PARKERS = 0;

/** What `attempt` returns when it took the lock: plain, or poisoned. */
const TOOK = 0;
const TOOK_POISONED = 1;

/** Result of an acquisition attempt that does not block. */
export const Acquired = { No: 0, Yes: 1, Poisoned: 2 } as const;
export type Acquired = (typeof Acquired)[keyof typeof Acquired];

export type { PoisonDetails };

/** One Mutex of the runtime's object table, operated on from this thread. */
export class RawMutex {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  /** Index of the count of waits in progress (A_PARKERS). */
  readonly parkers: number;
  /**
   * The word of this lock held by this thread, uncontended and unpoisoned. Computed once: a thread's id never
   * changes (runtime/current.ts), and V8 keeps imported module bindings in cells, so computing it on each lock and
   * unlock cost three cell loads, their checks and a shift (docs/measurements.md §13).
   */
  readonly #mine: number;

  constructor(rt: Runtime, id: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
    this.parkers = rt.objectBase(id) + O_AUX + A_PARKERS;
    if (currentThreadId === 0) throw new Error("threadsafe: internal: a RawMutex was made before this thread joined its runtime");
    this.#mine = heldWord(currentThreadId);
  }

  /** The fast path: takes a free, unpoisoned lock with one compare-and-swap. */
  tryLockFast(): boolean {
    return Atomics.compareExchange(this.words, this.index, FREE, this.#mine) === FREE;
  }

  /** Takes the lock if it is free right now (poisoned or not). Never blocks. */
  tryLock(): Acquired {
    if (this.tryLockFast()) return Acquired.Yes;
    const word = Atomics.load(this.words, this.index);
    if ((word & STATE_MASK) === FREE) {
      if (Atomics.compareExchange(this.words, this.index, word, (currentThreadId << OWNER_SHIFT) | LOCKED | (word & POISONED)) === word) {
        return word & POISONED ? Acquired.Poisoned : Acquired.Yes;
      }
    }
    return Acquired.No;
  }

  /** Whether this thread holds the lock right now. */
  heldByMe(): boolean {
    return Atomics.load(this.words, this.index) >>> OWNER_SHIFT === currentThreadId;
  }

  /** The id of the thread holding the lock, or 0. */
  owner(): number {
    return Atomics.load(this.words, this.index) >>> OWNER_SHIFT;
  }

  /** Takes a free lock (`word`) for this thread, marked CONTENDED or LOCKED, keeping its poison bit. */
  claim(word: number, contended: boolean): boolean {
    const target = (currentThreadId << OWNER_SHIFT) | (contended ? CONTENDED : LOCKED) | (word & POISONED);
    return Atomics.compareExchange(this.words, this.index, word, target) === word;
  }

  /**
   * Blocks until the lock is taken; returns true when it was poisoned.
   * @throws DeadlockError, LockTimeoutError, or Error where this thread may not block.
   */
  lock(timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): boolean {
    const { words, index } = this;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const word = Atomics.load(words, index);
      if ((word & STATE_MASK) === FREE) {
        if (this.claim(word, false)) return (word & POISONED) !== 0;
        continue;
      }
      if (word >>> OWNER_SHIFT === currentThreadId) throw selfDeadlockError(this.rt, currentThreadId, this.id);
      if ((word & STATE_MASK) === CONTENDED) break; // others are parked already: join them
      pause();
    }
    if (this.heldByMe()) throw selfDeadlockError(this.rt, currentThreadId, this.id);
    const wait = new MutexWait(this, true);
    try {
      return park(wait, WaitKind.Lock, timeoutMs, onPark, interrupted) === TOOK_POISONED;
    } finally {
      wait.leave();
    }
  }

  /**
   * Waits for the lock without blocking the thread; resolves to true when it was poisoned.
   * Keeps the thread alive while waiting. Rejects with the signal's reason when aborted.
   */
  async lockAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw signal.reason;
    const immediate = this.tryLock(); // a free lock needs no keep-alive, no published wait, no contended mark
    if (immediate !== Acquired.No) return immediate === Acquired.Poisoned;
    const wait = new MutexWait(this, false);
    try {
      return (await parkAsync(wait, WaitKind.Lock, timeoutMs, signal)) === TOOK_POISONED;
    } finally {
      wait.leave();
    }
  }

  /** Releases the lock, held by this thread; with `poison`, marks it poisoned first. */
  unlock(poison: boolean): void {
    if (poison) {
      this.unlockSlow(true, Atomics.load(this.words, this.index));
      return;
    }
    const held = this.#mine;
    const seen = Atomics.compareExchange(this.words, this.index, held, FREE);
    if (seen !== held) this.unlockSlow(false, seen); // contended or poisoned: the CAS told us the word
  }

  private unlockSlow(poison: boolean, word: number): void {
    const { rt, words, index } = this;
    for (let first = true; ; first = false) {
      if (word >>> OWNER_SHIFT !== currentThreadId || (word & STATE_MASK) === FREE) {
        throw new Error(
          `threadsafe: ${rt.describeObject(this.id)} is not held by this thread any more ` +
            `(it was released for a thread that was declared dead)`,
        );
      }
      // Written while we still hold it; an existing record (how an owner died) is kept, not overwritten.
      if (poison && first) recordPoison(rt, this.id, currentThreadId, PoisonCause.Panicked);
      const next = poison ? POISONED : word & POISONED;
      const seen = Atomics.compareExchange(words, index, word, next);
      if (seen === word) {
        if ((word & STATE_MASK) === CONTENDED) Atomics.notify(words, index, 1);
        return;
      }
      word = seen;
    }
  }

  isPoisoned(): boolean {
    return (Atomics.load(this.words, this.index) & POISONED) !== 0;
  }

  /** Clears the poison flag (and its record), whether or not the lock is held. */
  clearPoison(): void {
    if (!this.isPoisoned()) return;
    // The record goes first: a poisoning that races this one then writes a fresh record for its own flag.
    clearPoisonRecord(this.rt, this.id);
    for (;;) {
      const word = Atomics.load(this.words, this.index);
      if ((word & POISONED) === 0) return;
      if (Atomics.compareExchange(this.words, this.index, word, word & ~POISONED) === word) return;
    }
  }

  /** How the lock came to be poisoned (valid while it is poisoned). */
  poisonDetails(): PoisonDetails {
    return poisonDetails(this.rt, this.id);
  }
}

/** One wait for a RawMutex past its spin, as parking drives it (one per wait: async waits of a thread overlap). */
class MutexWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  /** The word `attempt` last asked the parker to sleep on. */
  expected = 0;
  readonly #raw: RawMutex;
  /** Whether this wait is counted in A_PARKERS. */
  #counted = false;
  /** Whether to spin before marking the word again after a wake (blocking waits; an async one must not stall its loop). */
  #spin = false;
  readonly #spins: boolean;

  constructor(raw: RawMutex, spins: boolean) {
    this.#raw = raw;
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = raw.index;
    this.#spins = spins;
  }

  /** One step of a parked wait (see Parkable): take the lock if free, else mark it contended and sleep on that. */
  attempt(): number {
    const { words, index } = this;
    const spin = this.#spin;
    this.#spin = this.#spins; // the first attempt follows lock()'s own spin; every later one follows a sleep
    for (let spun = spin ? 0 : SPIN_LIMIT; ; ) {
      const word = Atomics.load(words, index);
      if ((word & STATE_MASK) === FREE) {
        // CONTENDED only while other waits are counted: one of them may be asleep and needs the unlock's notify.
        const others = Atomics.load(words, this.#raw.parkers) - (this.#counted ? 1 : 0);
        if (this.#raw.claim(word, others > 0)) {
          this.leave();
          return word & POISONED ? TOOK_POISONED : TOOK;
        }
        continue;
      }
      if ((word & STATE_MASK) === LOCKED && spun < SPIN_LIMIT) {
        // Held by a running thread that no one waits for: it will usually release within a few ns.
        spun++;
        pause();
        continue;
      }
      if (!this.#counted) {
        // Counted before the word is marked: a waiter that takes the lock meanwhile then keeps it CONTENDED.
        Atomics.add(words, this.#raw.parkers, 1);
        this.#counted = true;
        continue;
      }
      if ((word & STATE_MASK) === CONTENDED) {
        this.expected = word;
        return PARKED;
      }
      const contended = (word & ~STATE_MASK) | CONTENDED;
      if (Atomics.compareExchange(words, index, word, contended) === word) {
        this.expected = contended;
        return PARKED;
      }
    }
  }

  /** Ends this wait's count (it took the lock, or gave up: timeout, deadlock, abort). */
  leave(): void {
    if (this.#counted) {
      this.#counted = false;
      Atomics.sub(this.words, this.#raw.parkers, 1);
    }
  }
}

registerKind({
  kind: ObjectKind.Mutex,
  displayName: "Mutex",
  holders(rt, id, _waitKind, out) {
    const owner = Atomics.load(rt.words, rt.stateIndex(id)) >>> OWNER_SHIFT;
    if (owner !== 0) out.push(owner);
  },
  isPoisoned(rt, id) {
    return (Atomics.load(rt.words, rt.stateIndex(id)) & POISONED) !== 0;
  },
  releaseDead(rt, id, threadId, _holds, cause) {
    const index = rt.stateIndex(id);
    let word = Atomics.load(rt.words, index);
    while (word >>> OWNER_SHIFT === threadId) {
      // The poison record is written while the dead thread still owns the word, so the next owner reads it whole.
      recordPoison(rt, id, threadId, cause);
      const seen = Atomics.compareExchange(rt.words, index, word, POISONED);
      if (seen === word) {
        Atomics.notify(rt.words, index); // every waiter: one will take it and see the poison
        return true;
      }
      word = seen;
    }
    return false;
  },
});

// Where terminate() is only a request (Deno, browsers: runtime/termination.ts), a thread busy taking and releasing
// uncontended mutexes would seldom reach a wait or its event loop, so it also obeys on these fast paths: before it
// takes a mutex, and before it releases one (it then dies holding it, as a thread terminated inside its critical
// section does on Node: the mutex is poisoned). Chosen once, at start-up: on Node and Bun each stays one
// compare-and-swap.
if (!terminateStopsAtOnce) {
  const fast = RawMutex.prototype.tryLockFast;
  RawMutex.prototype.tryLockFast = function tryLockFastObeying(this: RawMutex): boolean {
    obeyTermination(this.rt);
    return fast.call(this);
  };
  const unlock = RawMutex.prototype.unlock;
  RawMutex.prototype.unlock = function unlockObeying(this: RawMutex, poison: boolean): void {
    obeyTermination(this.rt);
    unlock.call(this, poison);
  };
}
