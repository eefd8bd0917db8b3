/**
 * The Barrier word protocol: a generation counter and an arrival count in one futex word, so that an arrival, the
 * round's completion and a withdrawal are each one compare-and-swap and can never cross.
 *
 * ```
 *  O_STATE    31 ............ 16 | 15 ............. 0        the futex word waiters sleep on
 *             generation (wraps)  | arrivals this round
 *  O_AUX      parties n (fixed at construction)
 *  O_AUX + 1  sleepers: waiters between "about to park" and "done"   the leader notifies only when > 0
 * ```
 *
 * - Arrive: one CAS adding 1 to the count; the arrival that makes it n is the round's leader, and its CAS writes
 *   the next generation with a count of 0 (so exactly one leader per round, and the barrier is ready for the next
 *   round at once). It then wakes the sleepers, if any.
 * - Wait: spin briefly, then park (parking/park.ts) until the generation differs from the one arrived in.
 * - Withdraw (timeout, abort, any error while waiting): one CAS taking 1 from the count, if the generation is still
 *   the one arrived in; otherwise the round completed first and the waiter passes (its arrival was used).
 *
 * A thread that dies while waiting at a barrier has its arrival withdrawn: each thread records its pending arrivals
 * (the generation and how many) in the `holds` word of its reference entry (runtime/lifetime.ts, holds-word.ts), and
 * its reaper takes them from the count if their round has not completed (`releaseDead`). So a round never
 * completes counting a thread that is gone: the others wait for a live party instead of passing early.
 *
 * Nothing is held: a barrier wait is for an event (the rest of the round), so `holders` names nobody, and deadlock
 * detection sees no cycle through a barrier (the "all threads asleep" check covers those waits).
 */

import { currentThreadId } from "../runtime/current.js";
import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { O_AUX } from "../runtime/objects.js";
import type { Runtime } from "../runtime/runtime.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { pause } from "../platform/index.js";
import { holdsPayload, holdsTag, holdsWord } from "./holds-word.js";

/** The most parties a Barrier may have (its count field). */
export const MAX_PARTIES = 0xffff;
/** The most arrivals one thread may have pending on one barrier at once (async waits; the holds record's field). */
export const MAX_PENDING_PER_THREAD = 0xff;

/** Offsets in the object record (runtime/objects.ts). */
const A_PARTIES = O_AUX;
const A_SLEEPERS = O_AUX + 1;

const GEN_SHIFT = 16;
const COUNT_MASK = 0xffff;

/**
 * Polls of the generation before parking. A round of two busy threads completes in ~200 ns, a wake costs 5–50 µs
 * (docs: primitives-anchors.md §5), so waiting a few µs awake is worth it.
 */
const SPIN_LIMIT = 2000;

/** What `arrive` returns for the round's leader (other arrivals return their generation, ≥ 0). */
export const LEADER = -1;

function generationOf(word: number): number {
  return word >>> GEN_SHIFT;
}

/** Writes the fields of a fresh barrier record (its id was just allocated). */
export function initBarrier(rt: Runtime, id: number, parties: number): void {
  const base = rt.objectBase(id);
  Atomics.store(rt.words, base + A_PARTIES, parties);
  Atomics.store(rt.words, base + A_SLEEPERS, 0);
  Atomics.store(rt.words, rt.stateIndex(id), 0);
}

/** The parties of barrier `id`. */
export function partiesOf(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.objectBase(id) + A_PARTIES);
}

/** One Barrier of the runtime's object table, operated on from this thread (its per-thread core). */
export class RawBarrier {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  readonly parties: number;
  readonly #sleepers: number;
  #holds = -1;
  readonly #tag: number;
  /** The generation this thread's pending arrivals were made in, and how many there are. */
  #pendingGeneration = 0;
  #pending = 0;

  constructor(rt: Runtime, id: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
    const base = rt.objectBase(id);
    this.parties = Atomics.load(rt.words, base + A_PARTIES);
    this.#sleepers = base + A_SLEEPERS;
    this.#tag = holdsTag(currentThreadId);
  }

  /** Ties this core to this thread's reference entry, where pending arrivals are recorded. */
  attach(holdsIndex: number): void {
    this.#holds = holdsIndex;
    const payload = holdsPayload(Atomics.load(this.words, holdsIndex));
    this.#pendingGeneration = payload >>> 8;
    this.#pending = payload & MAX_PENDING_PER_THREAD;
  }

  /** Whether this thread may arrive once more (its pending-arrival record has room). */
  canArrive(): boolean {
    return this.#pending < MAX_PENDING_PER_THREAD;
  }

  /**
   * Arrives: returns LEADER when this arrival completed the round (the barrier is already in the next round and
   * the sleepers are woken), else the generation to wait for the end of.
   */
  arrive(): number {
    const { words, index } = this;
    const last = this.parties - 1;
    for (;;) {
      const word = Atomics.load(words, index);
      const count = word & COUNT_MASK;
      if (count >= last) {
        const next = (((generationOf(word) + 1) & COUNT_MASK) << GEN_SHIFT) | 0;
        if (Atomics.compareExchange(words, index, word, next) !== word) continue;
        if (Atomics.load(words, this.#sleepers) !== 0) Atomics.notify(words, index);
        return LEADER;
      }
      if (Atomics.compareExchange(words, index, word, word + 1) !== word) continue;
      // Recorded right after the CAS, with no call in between (see the module comment on death).
      const generation = generationOf(word);
      if (this.#pending === 0 || this.#pendingGeneration !== generation) {
        // Arrivals recorded for an older generation were all used: that round completed.
        this.#pendingGeneration = generation;
        this.#pending = 1;
      } else {
        this.#pending++;
      }
      words[this.#holds] = holdsWord(this.#tag, (generation << 8) | this.#pending);
      return generation;
    }
  }

  /** Whether the round of `generation` has completed. */
  passed(generation: number): boolean {
    return generationOf(Atomics.load(this.words, this.index)) !== generation;
  }

  /** Forgets one pending arrival of `generation` (used by its round, or withdrawn). */
  #forget(generation: number): void {
    if (this.#pending === 0 || this.#pendingGeneration !== generation) return;
    this.#pending--;
    this.words[this.#holds] = holdsWord(this.#tag, this.#pending === 0 ? 0 : (generation << 8) | this.#pending);
  }

  /**
   * Withdraws an arrival of `generation` if its round has not completed. Returns false when the round completed
   * first (the arrival was used: the caller passes).
   */
  withdraw(generation: number): boolean {
    const { words, index } = this;
    for (;;) {
      const word = Atomics.load(words, index);
      if (generationOf(word) !== generation) {
        this.#forget(generation);
        return false;
      }
      if (Atomics.compareExchange(words, index, word, word - 1) === word) {
        this.#forget(generation);
        return true;
      }
    }
  }

  /**
   * Blocks until the round of `generation` completes. On timeout (or any error) the arrival is withdrawn and the
   * error thrown, unless the round completed first.
   * @throws TimeoutError, DeadlockError ("all asleep"), or Error where this thread may not block.
   */
  wait(generation: number, timeoutMs: number): void {
    const { words, index } = this;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      if (generationOf(Atomics.load(words, index)) !== generation) {
        this.#forget(generation);
        return;
      }
      pause();
    }
    Atomics.add(words, this.#sleepers, 1);
    try {
      park(new RoundWait(this, generation), WaitKind.Barrier, timeoutMs);
    } catch (error) {
      if (this.withdraw(generation)) throw error;
      return;
    } finally {
      Atomics.sub(words, this.#sleepers, 1);
    }
    this.#forget(generation);
  }

  /** Waits without blocking the thread until the round of `generation` completes; withdraws as `wait` does. */
  async waitAsync(generation: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (!this.passed(generation)) {
      Atomics.add(this.words, this.#sleepers, 1);
      try {
        await parkAsync(new RoundWait(this, generation), WaitKind.Barrier, timeoutMs, signal);
      } catch (error) {
        if (this.withdraw(generation)) throw error;
        return;
      } finally {
        Atomics.sub(this.words, this.#sleepers, 1);
      }
    }
    this.#forget(generation);
  }
}

/** One wait for the end of a round (its own object: several async waits of one thread may be pending). */
class RoundWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  readonly #generation: number;

  constructor(raw: RawBarrier, generation: number) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = raw.index;
    this.#generation = generation;
  }

  attempt(): number {
    const word = Atomics.load(this.words, this.index);
    if (generationOf(word) !== this.#generation) return 0;
    this.expected = word;
    return PARKED;
  }
}

registerKind({
  kind: ObjectKind.Barrier,
  displayName: "Barrier",
  holders() {
    // A barrier wait is for an event (the rest of the round): nothing held makes it wait.
  },
  isPoisoned: () => false,
  releaseDead(rt, id, _threadId, holds) {
    const payload = holdsPayload(holds);
    if (payload === 0) return false;
    const generation = payload >>> 8;
    const pending = payload & MAX_PENDING_PER_THREAD;
    const index = rt.stateIndex(id);
    for (;;) {
      const word = Atomics.load(rt.words, index);
      if (generationOf(word) !== generation) return false; // that round completed: its arrivals were used
      const withdrawn = Math.min(pending, word & COUNT_MASK);
      if (Atomics.compareExchange(rt.words, index, word, word - withdrawn) === word) return withdrawn > 0;
    }
  },
});
