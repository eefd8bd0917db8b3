/**
 * The word protocol of one-time initialisation (`Once`, `OnceLock`, `LazyLock`), apart from any typed data: one
 * futex word that names the thread running the initializer, so that deadlock detection and owner death can read it
 * (as the Mutex word names its owner).
 *
 * ```
 *  31 ............................ 3 | 2      | 1 0
 *  runner thread id (while RUNNING)  | QUEUED | state: 0 incomplete, 1 running, 2 complete, 3 poisoned
 * ```
 *
 * - A caller claims an incomplete (or, when forced, a poisoned) word with one compare-and-swap to
 *   `runner << 3 | RUNNING`, keeping QUEUED; it then runs the initializer and stores COMPLETE (exactly 2, so the
 *   readers' check is one load and one comparison), or, when the initializer threw, INCOMPLETE (`OnceLock`: the next
 *   caller tries) or POISONED (`Once`, `LazyLock`: later callers get `PoisonError`).
 * - A waiter sets QUEUED before it sleeps; the runner notifies every waiter only when QUEUED was set.
 * - Completion publishes the value: the runner writes the data, then stores COMPLETE; a reader that loads COMPLETE
 *   reads the data after that load, so it sees the whole value.
 * - Who holds it (kinds.ts): the runner, for every wait kind: a thread waiting for the initializer waits for it, so
 *   a `getOrInit` whose initializer waits, through other threads, for the same cell is a wait-for cycle.
 * - A runner that dies: `releaseDead` stores INCOMPLETE (`OnceLock`) or POISONED with the poison record (`Once`,
 *   `LazyLock`) and wakes every waiter.
 */

import { currentThreadId } from "../runtime/current.js";
import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { PoisonCause } from "../runtime/objects.js";
import { clearPoisonRecord, recordPoison } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";

export const ONCE_STATE_MASK = 0b011;
export const INCOMPLETE = 0b000;
export const RUNNING = 0b001;
/** The whole word of a completed object: nothing else is ever set with it. */
export const COMPLETE = 0b010;
export const POISONED_ONCE = 0b011;
/** Some thread may be asleep waiting: whoever ends a run must notify. */
export const QUEUED = 0b100;
export const RUNNER_SHIFT = 3;

/** What a run ends in when its initializer fails: the next caller tries, or every later caller is refused. */
export const OnFailure = { Retry: 0, Poison: 1 } as const;
export type OnFailure = (typeof OnFailure)[keyof typeof OnFailure];

/** How a caller treats a poisoned object: refuse (`callOnce`), or run anyway (`callOnceForce`). */
export const Claim = { Normal: 0, Force: 1, WaitOnly: 2 } as const;
export type Claim = (typeof Claim)[keyof typeof Claim];

/** What `begin` and the waits end in. */
export const Begin = {
  /** The object is complete: read it. */
  Complete: 0,
  /** This thread now runs the initializer: it must call `finish` or `fail`. */
  Claimed: 1,
  /** The object is poisoned (and the caller does not force). */
  Poisoned: 2,
  /** The object is running its initializer in this same thread (a re-entrant call). */
  RunningHere: 3,
} as const;
export type Begin = (typeof Begin)[keyof typeof Begin];

/** One Once-family object of the runtime's object table, operated on from this thread. */
export class RawOnce implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  readonly onFailure: OnFailure;
  expected = 0;
  /** How the current wait treats a poisoned or incomplete word (set before each wait). */
  private claimMode: Claim = Claim.Normal;
  /** Whether the state this thread claimed was poisoned (callOnceForce tells its fn). */
  claimedPoisoned = false;

  constructor(rt: Runtime, id: number, onFailure: OnFailure) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
    this.onFailure = onFailure;
  }

  /** Whether the object is complete (one atomic load). */
  isComplete(): boolean {
    return Atomics.load(this.words, this.index) === COMPLETE;
  }

  isPoisoned(): boolean {
    return (Atomics.load(this.words, this.index) & ONCE_STATE_MASK) === POISONED_ONCE;
  }

  /** The thread running the initializer, or 0. */
  runner(): number {
    const word = Atomics.load(this.words, this.index);
    return (word & ONCE_STATE_MASK) === RUNNING ? word >>> RUNNER_SHIFT : 0;
  }

  /**
   * One attempt that never sleeps: complete, claimed by this thread, poisoned, running here, or PARKED when another
   * thread runs the initializer (QUEUED is set then, and `expected` is the word to sleep on).
   */
  attempt(): number {
    const { words, index } = this;
    const mode: number = this.claimMode;
    for (;;) {
      const word = Atomics.load(words, index);
      const state = word & ONCE_STATE_MASK;
      if (word === COMPLETE) return Begin.Complete;
      if (state === RUNNING) {
        if (word >>> RUNNER_SHIFT === currentThreadId) return Begin.RunningHere;
      } else if (state === POISONED_ONCE && mode !== Claim.Force) {
        return Begin.Poisoned;
      } else if (mode !== Claim.WaitOnly) {
        // Incomplete, or poisoned and forced: claim it, keeping QUEUED for whoever ends the run.
        const claimed = (currentThreadId << RUNNER_SHIFT) | RUNNING | (word & QUEUED);
        if (Atomics.compareExchange(words, index, word, claimed) === word) {
          this.claimedPoisoned = state === POISONED_ONCE;
          return Begin.Claimed;
        }
        continue;
      }
      // Running in another thread, or (WaitOnly) not complete yet: ask to be woken, then sleep.
      if ((word & QUEUED) === 0 && Atomics.compareExchange(words, index, word, word | QUEUED) !== word) continue;
      this.expected = word | QUEUED;
      return PARKED;
    }
  }

  /** Tries to finish or claim without waiting (see `attempt`). */
  tryBegin(mode: Claim): number {
    this.claimMode = mode;
    return this.attempt();
  }

  /**
   * Blocks until the object is complete, claimed by this thread, or poisoned.
   * @throws DeadlockError, TimeoutError, or Error where this thread may not block.
   */
  begin(mode: Claim, timeoutMs: number): Begin {
    this.claimMode = mode;
    const first = this.attempt();
    if (first !== PARKED) return first as Begin;
    return park(this, WaitKind.Once, timeoutMs) as Begin;
  }

  /** Waits without blocking the thread; resolves as `begin` returns. Rejects with the signal's reason when aborted. */
  async beginAsync(mode: Claim, timeoutMs: number, signal: AbortSignal | undefined): Promise<Begin> {
    if (signal?.aborted) throw signal.reason;
    this.claimMode = mode;
    const first = this.attempt();
    // Another task of this thread runs the initializer: wait for it like any other runner.
    if (first !== PARKED && first !== Begin.RunningHere) return first as Begin;
    return (await parkAsync(new AsyncWait(this, mode), WaitKind.Once, timeoutMs, signal)) as Begin;
  }

  /** Ends this thread's run: the object is complete. Wakes every waiter if any may sleep. */
  finish(): void {
    if (this.claimedPoisoned) clearPoisonRecord(this.rt, this.id);
    const old = Atomics.exchange(this.words, this.index, COMPLETE);
    if (old & QUEUED) Atomics.notify(this.words, this.index);
  }

  /** Ends this thread's run after its initializer threw: incomplete again, or poisoned. Wakes every waiter. */
  fail(): void {
    const poison = this.onFailure === OnFailure.Poison;
    // Written while this thread is still the runner, so a waiter woken by the store below reads it whole.
    if (poison) recordPoison(this.rt, this.id, currentThreadId, PoisonCause.Panicked);
    const old = Atomics.exchange(this.words, this.index, poison ? POISONED_ONCE : INCOMPLETE);
    if (old & QUEUED) Atomics.notify(this.words, this.index);
  }
}

/**
 * An async wait on a RawOnce: its own claim mode, so that tasks of one thread waiting in different modes (and a
 * blocking call made meanwhile) do not change each other's. A task of the runner's own thread waits too.
 */
class AsyncWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  readonly #raw: RawOnce;
  readonly #mode: Claim;

  constructor(raw: RawOnce, mode: Claim) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = raw.index;
    this.#raw = raw;
    this.#mode = mode;
  }

  attempt(): number {
    const result = this.#raw.tryBegin(this.#mode);
    if (result === PARKED) this.expected = this.#raw.expected;
    if (result === Begin.RunningHere) {
      // Another task of this thread runs it: sleep on the word as it is (its end changes the word and notifies).
      const word = Atomics.load(this.words, this.index);
      if ((word & QUEUED) === 0 && Atomics.compareExchange(this.words, this.index, word, word | QUEUED) !== word) return this.attempt();
      this.expected = word | QUEUED;
      return PARKED;
    }
    return result;
  }
}

function registerOnceKind(kind: number, displayName: string, onFailure: OnFailure): void {
  registerKind({
    kind,
    displayName,
    holders(rt, id, _waitKind, out) {
      const word = Atomics.load(rt.words, rt.stateIndex(id));
      if ((word & ONCE_STATE_MASK) === RUNNING) out.push(word >>> RUNNER_SHIFT);
    },
    isPoisoned(rt, id) {
      return (Atomics.load(rt.words, rt.stateIndex(id)) & ONCE_STATE_MASK) === POISONED_ONCE;
    },
    releaseDead(rt, id, threadId, _holds, cause) {
      const index = rt.stateIndex(id);
      let word = Atomics.load(rt.words, index);
      while ((word & ONCE_STATE_MASK) === RUNNING && word >>> RUNNER_SHIFT === threadId) {
        if (onFailure === OnFailure.Poison) recordPoison(rt, id, threadId, cause);
        const seen = Atomics.compareExchange(rt.words, index, word, onFailure === OnFailure.Poison ? POISONED_ONCE : INCOMPLETE);
        if (seen === word) {
          Atomics.notify(rt.words, index); // every waiter: one runs the initializer again, or all see the poison
          return true;
        }
        word = seen;
      }
      return false;
    },
  });
}

registerOnceKind(ObjectKind.Once, "Once", OnFailure.Poison);
registerOnceKind(ObjectKind.OnceLock, "OnceLock", OnFailure.Retry);
registerOnceKind(ObjectKind.LazyLock, "LazyLock", OnFailure.Poison);
