/**
 * The Condvar word protocol, apart from the typed layer (src/sync/condvar.ts): Rust std's futex condvar
 * (`sys/sync/condvar/futex.rs`), a sequence counter in the futex word, plus two words that let a notify skip the
 * wake when nobody waits and catch a condvar used with two mutexes at once.
 *
 * | word | meaning |
 * |---|---|
 * | O_STATE | the sequence: every notify adds 1 and wakes; a waiter sleeps while it still has the value it read |
 * | O_AUX + W_WAITERS | waits in progress (incremented before the waiter reads the sequence, decremented after it holds the mutex again) |
 * | O_AUX + W_BOUND | id + 1 of the mutex the waits in progress use; 0 while nobody waits |
 *
 * A wait: count itself in W_WAITERS (binding W_BOUND to its mutex, or finding it bound to that same mutex), read the
 * sequence, release the mutex, sleep while the sequence is unchanged (parking/park.ts, `WaitKind.Condvar`), take
 * the mutex again, then leave W_WAITERS. A notify that runs after the mutex was released, so after the waiter read
 * the sequence, changes it: the waiter's sleep either does not start (the value differs) or is woken. That is why
 * nothing is lost though the waiter reads the sequence before it releases: as in Rust, a notify needs no lock.
 *
 * The notify skips `Atomics.notify` when W_WAITERS is 0: a waiter counts itself before it reads the sequence, so a
 * notify that reads 0 ran before that read, and the waiter will sleep on the new value (a notify is never owed to
 * a wait that had not begun).
 *
 * W_BOUND is set and cleared by waiters that hold the mutex it names, so for one mutex those updates are serialised
 * by the mutex itself; a waiter with another mutex that finds W_BOUND naming a different mutex throws (Rust
 * panics). A waiter records its waits in progress in its reference entry too (lifetime.ts, `holds`), so that when
 * it dies mid-wait its reaper takes them back out of W_WAITERS and W_BOUND is freed.
 *
 * Nobody holds a condvar: a waiter waits for a notify, which anyone may send, so `holders` is always empty (the
 * deadlock walk ends there; the "all threads asleep" check counts such waits instead).
 */

import { ObjectKind, WaitKind, kindName, registerKind } from "../runtime/kinds.js";
import { O_AUX } from "../runtime/objects.js";
import type { Runtime } from "../runtime/runtime.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { POLL_AGAIN, SPIN_MS, spin } from "../parking/spin.js";

/** Offsets from O_AUX. */
const W_WAITERS = 0;
const W_BOUND = 1;

/** What `attempt` returns once the sequence moved (a notify, or a spurious wake that Rust also allows). */
const NOTIFIED = 0;

/** No mutex is bound (see `enter`). */
export const NOT_BOUND = -1;

/** One Condvar of the runtime's object table, operated on from this thread. */
export class RawCondvar implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  /** The sequence word. */
  readonly index: number;
  /** The sequence value read before the mutex was released: the sleep lasts while the word still has it. */
  expected = 0;
  readonly #waiters: number;
  readonly #bound: number;
  /** Int32 index of this thread's `holds` word for this condvar (its waits in progress, for owner death). */
  readonly #holds: number;

  constructor(rt: Runtime, id: number, holdsIndex: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.stateIndex(id);
    const aux = rt.objectBase(id) + O_AUX;
    this.#waiters = aux + W_WAITERS;
    this.#bound = aux + W_BOUND;
    this.#holds = holdsIndex;
  }

  /**
   * Starts a wait with mutex `mutexId`, held by this thread: counts it, and leaves in `expected` the sequence value
   * to sleep on. Returns NOT_BOUND, or, when the condvar is in use with another mutex right now, that mutex's id
   * (and counts nothing).
   */
  enter(mutexId: number): number {
    const words = this.words;
    const want = mutexId + 1;
    for (;;) {
      const bound = Atomics.load(words, this.#bound);
      if (bound === want) break;
      if (bound !== 0) return bound - 1;
      if (Atomics.compareExchange(words, this.#bound, 0, want) === 0) break;
    }
    // The count goes up before the holds record and comes down after it: a thread that dies between the two leaves
    // the count too high (the condvar stays bound a little longer), never too low.
    Atomics.add(words, this.#waiters, 1);
    Atomics.add(words, this.#holds, 1);
    // Read after counting itself: a notify that skipped waking (it saw no waiter) has already moved the sequence.
    this.expected = Atomics.load(words, this.index);
    return NOT_BOUND;
  }

  /** Ends a wait started by `enter(mutexId)` (this thread holds the mutex again, or failed to take it back). */
  leave(mutexId: number): void {
    const words = this.words;
    Atomics.sub(words, this.#holds, 1);
    if (Atomics.sub(words, this.#waiters, 1) === 1) Atomics.compareExchange(words, this.#bound, mutexId + 1, 0);
  }

  /** One step of the wait (see Parkable): done once the sequence moved. */
  attempt(): number {
    return Atomics.load(this.words, this.index) === this.expected ? PARKED : NOTIFIED;
  }

  /**
   * Sleeps until notified (or woken spuriously). Returns true when notified, false when `timeoutMs` elapsed first.
   * @throws what parking throws besides a timeout (DeadlockError, Error where this thread may not block).
   */
  sleep(timeoutMs: number, isTimeout: (error: unknown) => boolean): boolean {
    // Watched before sleeping: the notify usually comes from a running thread (it changed the data under the mutex),
    // often within microseconds; seen here, nobody is woken from a futex and this vCPU does not go idle (Rust's futex
    // condvar sleeps at once; the ping-pong benchmark took 1.5× its time without this, 0.5–0.8× with it).
    const moved = () => (Atomics.load(this.words, this.index) !== this.expected ? NOTIFIED : POLL_AGAIN);
    if (spin(moved, Math.min(timeoutMs, SPIN_MS)) === NOTIFIED) return true;
    try {
      park(this, WaitKind.Condvar, timeoutMs);
      return true;
    } catch (error) {
      if (isTimeout(error)) return false;
      throw error;
    }
  }

  /** `sleep` without blocking the thread; rejects with the signal's reason when aborted. */
  async sleepAsync(timeoutMs: number, signal: AbortSignal | undefined, isTimeout: (error: unknown) => boolean): Promise<boolean> {
    try {
      await parkAsync(this, WaitKind.Condvar, timeoutMs, signal);
      return true;
    } catch (error) {
      if (isTimeout(error)) return false;
      throw error;
    }
  }

  /** Wakes one waiter (Rust's `notify_one`): moves the sequence, and wakes only if someone waits. */
  notifyOne(): void {
    Atomics.add(this.words, this.index, 1);
    if (Atomics.load(this.words, this.#waiters) !== 0) Atomics.notify(this.words, this.index, 1);
  }

  /** Wakes every waiter (Rust's `notify_all`). */
  notifyAll(): void {
    Atomics.add(this.words, this.index, 1);
    if (Atomics.load(this.words, this.#waiters) !== 0) Atomics.notify(this.words, this.index);
  }
}

/** The id of the mutex the waits in progress on condvar `id` use, or NOT_BOUND. */
export function boundMutex(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.objectBase(id) + O_AUX + W_BOUND) - 1;
}

registerKind({
  kind: ObjectKind.Condvar,
  displayName: "Condvar",
  holders() {
    // A condvar waiter waits for a notify, which any thread may send: no hold makes it wait.
  },
  isPoisoned: () => false,
  relation(rt, id) {
    const mutex = boundMutex(rt, id);
    return mutex < 0 ? undefined : `of ${kindName(rt.objectKind(mutex))} "${rt.objectName(mutex)}"`;
  },
  releaseDead(rt, id, _threadId, holds) {
    // A thread that died mid-wait holds nothing (it had released the mutex), but its waits still count: take them
    // out, so that notifies stop waking for them and the condvar can be used with another mutex later.
    if (holds <= 0) return false;
    const aux = rt.objectBase(id) + O_AUX;
    const bound = Atomics.load(rt.words, aux + W_BOUND);
    if (Atomics.sub(rt.words, aux + W_WAITERS, holds) === holds) Atomics.compareExchange(rt.words, aux + W_BOUND, bound, 0);
    return false; // nothing it held is released: the mutex it waited with was not held during the wait
  },
});
