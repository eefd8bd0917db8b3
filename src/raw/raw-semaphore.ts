/**
 * The Semaphore word protocol (the role of a futex semaphore): a count of free permits in the futex word, taken
 * with a compare-and-swap loop, and a count of parked waiters beside it so that a release notifies only when
 * someone may be asleep.
 *
 * ```
 *  O_STATE    free permits (0 … total)                                   the futex word waiters sleep on
 *  O_AUX      total permits (fixed at construction)
 *  O_AUX + 1  waiters: acquirers between "about to park" and "done"      a release notifies only when > 0
 *  O_AUX + 2  waiters that want more than one permit                     > 0: a release wakes every waiter
 * ```
 *
 * Who holds permits is not in these words (a permit has no owner field): each thread records how many permits it
 * holds in the `holds` word of its reference entry (runtime/lifetime.ts; encoding in holds-word.ts), with a plain
 * store after it took them and before it gives them back. A thread that ends holding permits (returns, throws, is
 * terminated) has them given back by its reaper (`releaseDead`), which wakes the waiters. The record lags the word
 * by a few instructions, always in the safe direction: a thread terminated in between leaks its permits rather than
 * giving back permits it never took.
 *
 * - Fast path: one compare-and-swap that guesses every permit is free (the uncontended case), then a CAS loop.
 * - Slow path: a short bounded spin, then parking (parking/park.ts) until the permits can be taken.
 * - Release: one `Atomics.add`, one load of the waiter count; a notify only when someone waits.
 *
 * There is no poisoning: a Semaphore guards no data, so a holder that fails or dies just gives its permits back
 * (Rust's std has no semaphore; tokio's, the usual reference, does not poison either).
 */

import { currentThreadId } from "../runtime/current.js";
import { sleepValue } from "../deadlock/detect.js";
import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { visitHolds } from "../runtime/lifetime.js";
import { O_AUX } from "../runtime/objects.js";
import type { Runtime } from "../runtime/runtime.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { pause } from "../platform/index.js";
import { PAYLOAD_MAX, holdsPayload, holdsTag, holdsWord } from "./holds-word.js";

/** The most permits a Semaphore may have (what a holds word can record: holds-word.ts). */
export const MAX_PERMITS = PAYLOAD_MAX;

/** Offsets in the object record (runtime/objects.ts). */
const A_TOTAL = O_AUX;
const A_WAITERS = O_AUX + 1;
const A_BIG_WAITERS = O_AUX + 2;

/** Spins before parking: the Mutex's measured best on 2 cores (docs/measurements.md). */
const SPIN_LIMIT = 100;

const TOOK = 0;

/** Writes the fields of a fresh semaphore record (its id was just allocated). */
export function initSemaphore(rt: Runtime, id: number, permits: number): void {
  const base = rt.objectBase(id);
  Atomics.store(rt.words, base + A_TOTAL, permits);
  Atomics.store(rt.words, base + A_WAITERS, 0);
  Atomics.store(rt.words, base + A_BIG_WAITERS, 0);
  Atomics.store(rt.words, rt.stateIndex(id), permits);
}

/** The total permits of semaphore `id`. */
export function totalPermits(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.objectBase(id) + A_TOTAL);
}

/**
 * One Semaphore of the runtime's object table, operated on from this thread; also this thread's record of the
 * permits it holds. One per semaphore per thread (it is the per-thread core whose collection ends the count).
 */
export class RawSemaphore {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  /** Index of the futex word: the free permits. */
  readonly index: number;
  readonly total: number;
  readonly #waiters: number;
  readonly #bigWaiters: number;
  /** Index of this thread's holds word (set once the thread is counted: `attach`). */
  #holds = -1;
  readonly #tag: number;
  /** Permits this thread holds (all its Permits together). */
  held = 0;

  constructor(rt: Runtime, id: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
    const base = rt.objectBase(id);
    this.total = Atomics.load(rt.words, base + A_TOTAL);
    this.#waiters = base + A_WAITERS;
    this.#bigWaiters = base + A_BIG_WAITERS;
    this.#tag = holdsTag(currentThreadId);
  }

  /**
   * Ties this core to this thread's reference entry, whose holds word records the permits this thread holds. A
   * thread that had the semaphore before (its old core was collected while a permit was never released) goes on
   * from what the word says.
   */
  attach(holdsIndex: number): void {
    this.#holds = holdsIndex;
    this.held = holdsPayload(Atomics.load(this.words, holdsIndex));
  }

  /** Records that this thread took `n` permits (a plain store: see holds-word.ts). */
  record(n: number): void {
    this.held += n;
    this.words[this.#holds] = holdsWord(this.#tag, this.held);
  }

  /** Takes `n` permits if they are free now; the first CAS guesses that every permit is free. Never blocks. */
  tryAcquire(n: number): boolean {
    const { words, index } = this;
    let free = this.total;
    for (;;) {
      if (free < n) return false;
      const seen = Atomics.compareExchange(words, index, free, free - n);
      if (seen === free) {
        this.record(n);
        return true;
      }
      free = seen;
    }
  }

  /** The free permits right now. */
  available(): number {
    return Atomics.load(this.words, this.index);
  }

  /**
   * Whether a blocking wait for `n` permits could never end: they are not free, and every permit that is not free
   * is held by this thread (which cannot release while it blocks). Exact: only this thread changes its own count.
   */
  wouldSelfDeadlock(n: number): boolean {
    const free = this.available();
    return free < n && this.held > 0 && this.held + free === this.total;
  }

  /**
   * Blocks until `n` permits are taken.
   * @throws DeadlockError, LockTimeoutError, or Error where this thread may not block.
   */
  acquire(n: number, timeoutMs: number): void {
    const { words, index } = this;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const free = Atomics.load(words, index);
      if (free >= n) {
        if (Atomics.compareExchange(words, index, free, free - n) === free) {
          this.record(n);
          return;
        }
        continue;
      }
      pause();
    }
    const wait = new PermitWait(this, n, true);
    this.#enter(n);
    try {
      park(wait, WaitKind.Permits, timeoutMs);
    } finally {
      this.#leave(n);
    }
  }

  /** Waits for `n` permits without blocking the thread. Rejects with the signal's reason when aborted. */
  async acquireAsync(n: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (this.tryAcquire(n)) return;
    const wait = new PermitWait(this, n, false);
    this.#enter(n);
    try {
      await parkAsync(wait, WaitKind.Permits, timeoutMs, signal);
    } finally {
      this.#leave(n);
    }
  }

  /** Counts a waiter before its first look at the word, so a release that the look misses sees the count. */
  #enter(n: number): void {
    Atomics.add(this.words, this.#waiters, 1);
    if (n > 1) Atomics.add(this.words, this.#bigWaiters, 1);
  }

  #leave(n: number): void {
    if (n > 1) Atomics.sub(this.words, this.#bigWaiters, 1);
    Atomics.sub(this.words, this.#waiters, 1);
  }

  /**
   * Gives back `n` permits this thread holds. The record drops first: a thread that dies in between leaks them
   * rather than having its reaper give them back a second time.
   */
  release(n: number): void {
    const words = this.words;
    this.held -= n;
    words[this.#holds] = holdsWord(this.#tag, this.held);
    Atomics.add(words, this.index, n);
    if (Atomics.load(words, this.#waiters) !== 0) wake(words, this.index, this.#bigWaiters, n);
  }
}

/**
 * Wakes waiters after `n` permits came back: `n` of them when every waiter wants one permit (each woken one can
 * take one), else all of them (a waiter for 3 must not be the only one woken by a single permit that a waiter
 * for 1 could use).
 */
function wake(words: Int32Array, index: number, bigWaiters: number, n: number): void {
  Atomics.notify(words, index, Atomics.load(words, bigWaiters) !== 0 ? Infinity : n);
}

/** One slow-path wait for `n` permits (its own object: several async waits of one thread may be pending). */
class PermitWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  readonly #raw: RawSemaphore;
  readonly #n: number;
  /** Whether to spin before sleeping again (blocking waits; an async one must not stall its event loop). */
  readonly #spins: boolean;
  /** Whether the next attempt follows a sleep (the first follows acquire()'s own spin). */
  #woken = false;

  constructor(raw: RawSemaphore, n: number, spins: boolean) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = raw.index;
    this.#raw = raw;
    this.#n = n;
    this.#spins = spins;
  }

  attempt(): number {
    const { words, index } = this;
    const n = this.#n;
    // After a wake the permits are often already taken again by the thread that released them, which gives them
    // back within a few hundred ns: spinning briefly then beats going back to sleep (the Mutex's wake does the same).
    let spins = this.#woken ? SPIN_LIMIT : 0;
    this.#woken = this.#spins;
    for (;;) {
      let free = Atomics.load(words, index);
      while (free >= n) {
        const seen = Atomics.compareExchange(words, index, free, free - n);
        if (seen === free) {
          this.#raw.record(n);
          return TOOK;
        }
        free = seen;
      }
      if (spins-- <= 0) {
        this.expected = free;
        return PARKED;
      }
      pause();
    }
  }
}

registerKind({
  kind: ObjectKind.Semaphore,
  displayName: "Semaphore",
  holders(rt, id, waitKind, out, waiter) {
    if (waitKind !== WaitKind.Permits) {
      // Reports and dumps: every thread that holds permits.
      visitHolds(rt, id, (threadId) => out.push(threadId));
      return;
    }
    // A permits wait is satisfied by the release of ANY holder, while the detector follows a path through one
    // holder. So the holders that make a waiter wait are named only when one live thread other than the waiter holds
    // every permit that is not free: then that thread is the only way out, and a cycle through it is a real
    // deadlock. With several such holders, none is named (no false positive; a cycle through several holders goes
    // undetected). Dead holders are named alone, so that the waiter's check after a sleep gives their permits back
    // (the detector skips them); permits in flight (taken or given back, their record not yet written) name nobody.
    const live: number[] = [];
    const dead: number[] = [];
    let recorded = 0;
    visitHolds(rt, id, (threadId, holds) => {
      recorded += holdsPayload(holds);
      // The waiter's own permits cannot come back while it waits: it is not one of the holders that could let it in.
      if (threadId !== waiter) (rt.isAlive(threadId) ? live : dead).push(threadId);
    });
    if (dead.length > 0) {
      out.push(...dead);
      return;
    }
    // The one live holder is named only while the waiter is stuck: the free count is still the one it decided to
    // sleep on (fewer than it wants), so only a release can let it in. Once a permit comes back, the waiter may be
    // about to take it (it has not woken yet): naming the holder then would report a cycle that is dissolving (seen
    // on Deno). Without a waiter to ask about (reports), a holder is named only when no permit is free.
    const index = rt.stateIndex(id);
    const free = Atomics.load(rt.words, index);
    const stuckAt = waiter === undefined ? 0 : sleepValue(rt, waiter, index);
    if (free === stuckAt && live.length === 1 && recorded + free === totalPermits(rt, id)) out.push(live[0]!);
  },
  isPoisoned: () => false,
  releaseDead(rt, id, _threadId, holds) {
    const permits = holdsPayload(holds);
    if (permits === 0) return false;
    const index = rt.stateIndex(id);
    Atomics.add(rt.words, index, permits);
    Atomics.notify(rt.words, index); // every waiter: they may want different numbers of permits
    return true;
  },
});

