/**
 * The raw lock algorithm, apart from any typed data: a 3-state futex word (Drepper, "Futexes Are Tricky") that
 * carries its owner's thread id (see runtime/locks.ts for the word's layout).
 *
 * - Fast path: one compare-and-swap from 0 to "held by me". No allocation, no clock, no stack.
 * - Slow path: a short bounded spin, then park in `Atomics.wait` (or `Atomics.waitAsync`) in bounded slices; a
 *   blocking wait that lasts over 1 ms is published and checked for deadlock (and re-checked every slice), and
 *   after each slice a waiter releases the locks of an owner that is no longer alive.
 * - Unlock notifies only when the word says a waiter may exist.
 */

import { currentHeldWord, currentThreadId } from "../runtime/current.js";
import {
  CONTENDED,
  FREE,
  LOCKED,
  L_POISON_BY,
  L_POISON_CAUSE,
  L_POISON_NAME,
  L_POISON_TIME,
  OWNER_SHIFT,
  POISONED,
  PoisonCause,
  STATE_MASK,
  describePoisonCause,
} from "../runtime/locks.js";
import type { Runtime } from "../runtime/runtime.js";
import { releaseLocksOf } from "../runtime/reap.js";
import { T_ASYNC_LOCK, T_ASYNC_WAITS, T_NAME, slotOf } from "../runtime/threads.js";
import { findDeadlock, publishWait, unpublishWait } from "../deadlock/detect.js";
import { deadlockError, selfDeadlockError, stallMessage, timeoutError } from "../deadlock/report.js";
import { report, settings } from "../runtime/config.js";
import { canBlock, keepAlive, now, pause } from "../platform/index.js";

/** Spins before parking: measured best on 2 cores at ≤100 (reference/js-anchors.md §3). */
const SPIN_LIMIT = 100;
/** Longest single sleep: a waiter re-checks its owner's liveness at least this often. */
const SLICE_MS = 100;
/**
 * A blocking wait is published (and checked for deadlock) once it has lasted this long. Publishing later is safe:
 * a waiter that has not published looks like a running thread to the others, so it can only hide a cycle, never
 * invent one, and every member of a real cycle publishes after this delay, the last of them detecting it.
 */
const PUBLISH_AFTER_MS = 1;
/** Longest single sleep of a wait that can be interrupted (a wounded transaction notices within this). */
const INTERRUPTIBLE_SLICE_MS = 5;

/**
 * Thrown by `lock()` when its `interrupted` check says to stop waiting (a wounded transaction). Never escapes the
 * library: the transaction that asked catches it.
 */
export const interruptedWait: Error = new Error("threadsafe: internal: wait interrupted");

/** What one step of a wait loop found (RawMutex.attempt). */
const WAIT = 0;
const TOOK = 1;
const TOOK_POISONED = 2;
type Step = typeof WAIT | typeof TOOK | typeof TOOK_POISONED;

/** Result of an acquisition attempt that does not block. */
export const Acquired = { No: 0, Yes: 1, Poisoned: 2 } as const;
export type Acquired = (typeof Acquired)[keyof typeof Acquired];

/** What a poisoned lock knows about how it was poisoned. */
export interface PoisonDetails {
  readonly threadId: number;
  readonly threadName: string | undefined;
  readonly cause: string;
  /** Milliseconds since the poisoning. */
  readonly agoMs: number;
}

/** One lock of the runtime's lock table, operated on from this thread. */
export class RawMutex {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;

  constructor(rt: Runtime, id: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    this.index = rt.lockWordIndex(id);
  }

  /** The fast path: takes a free, unpoisoned lock with one compare-and-swap. */
  tryLockFast(): boolean {
    return Atomics.compareExchange(this.words, this.index, FREE, currentHeldWord) === FREE;
  }

  /** Takes the lock if it is free right now (poisoned or not). Never blocks. */
  tryLock(): Acquired {
    if (this.tryLockFast()) return Acquired.Yes;
    const word = Atomics.load(this.words, this.index);
    if ((word & STATE_MASK) === FREE) {
      if (Atomics.compareExchange(this.words, this.index, word, currentHeldWord | (word & POISONED)) === word) {
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

  /** Takes a free lock as a woken waiter would: marked contended, since others may still be parked. */
  private claim(word: number, contended: boolean): boolean {
    const target = (currentThreadId << OWNER_SHIFT) | (contended ? CONTENDED : LOCKED) | (word & POISONED);
    return Atomics.compareExchange(this.words, this.index, word, target) === word;
  }

  /** Marks a held lock contended so its unlocker notifies; returns the word to wait on, or undefined to retry. */
  private markContended(word: number): number | undefined {
    if ((word & STATE_MASK) === CONTENDED) return word;
    const contended = (word & ~STATE_MASK) | CONTENDED;
    return Atomics.compareExchange(this.words, this.index, word, contended) === word ? contended : undefined;
  }

  /** The word `attempt` last asked the caller to sleep on. */
  private waitOn = 0;

  /**
   * One step of a wait loop: takes the lock if it is free (TOOK or TOOK_POISONED); otherwise marks it contended,
   * leaves the word to sleep on in `waitOn` and returns WAIT.
   * @throws LockTimeoutError once `timeoutMs` has passed since `start`.
   */
  private attempt(start: number, timeoutMs: number): Step {
    for (;;) {
      const word = Atomics.load(this.words, this.index);
      if ((word & STATE_MASK) === FREE) {
        if (this.claim(word, true)) return word & POISONED ? TOOK_POISONED : TOOK;
        continue;
      }
      const expected = this.markContended(word);
      if (expected === undefined) continue;
      const waited = now() - start;
      if (waited >= timeoutMs) throw timeoutError(this.rt, this.id, waited, timeoutMs);
      this.waitOn = expected;
      return WAIT;
    }
  }

  /**
   * A waiter's checks after each sleep: the locks of an owner that is no longer alive are released here, and a wait
   * longer than `stallWarnMs` is reported once. Returns whether the stall has been reported.
   */
  private afterWake(start: number, stallReported: boolean): boolean {
    const owner = Atomics.load(this.words, this.index) >>> OWNER_SHIFT;
    if (owner !== 0 && !this.rt.isAlive(owner)) {
      // An owner that is not alive cannot release: its locks are released here, with the cause its reaper recorded
      // (a reap still writing it is left to finish first). Only words naming that exact id are touched.
      const cause = this.rt.exitCauseOf(owner);
      if (cause !== 0) releaseLocksOf(this.rt, owner, cause);
    }
    if (stallReported || settings.stallWarnMs <= 0) return stallReported;
    const waited = now() - start;
    if (waited < settings.stallWarnMs) return false;
    report({ kind: "stall", message: stallMessage(this.rt, currentThreadId, this.id, waited) });
    return true;
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
    return this.park(timeoutMs, onPark, interrupted);
  }

  private park(timeoutMs: number, onPark: (() => void) | undefined, interrupted: (() => boolean) | undefined): boolean {
    const { rt, words, index } = this;
    const me = currentThreadId;
    if (Atomics.load(words, index) >>> OWNER_SHIFT === me) throw selfDeadlockError(rt, me, this.id);
    if (!canBlock()) {
      throw new Error(
        `threadsafe: lock() would block this thread, and blocking is not allowed here (a browser's main thread). ` +
          `Use "await mutex.lockAsync()" or "await mutex.withAsync(fn)" instead.`,
      );
    }
    const start = now();
    let published = false;
    let ticket = 0n;
    let lastCheck = 0;
    let stallReported = false;
    try {
      for (;;) {
        const taken = this.attempt(start, timeoutMs);
        if (taken !== WAIT) return taken === TOOK_POISONED;
        const waited = now() - start;
        if (interrupted?.()) throw interruptedWait;
        if (!published && waited >= PUBLISH_AFTER_MS) {
          // Only a wait that lasts is published and checked: a handoff between busy threads costs nothing extra.
          published = true;
          onPark?.(); // before publishing: a report made as soon as the wait is visible must find the stack
          ticket = publishWait(rt, me, this.id);
          const cycle = findDeadlock(rt, me, this.id, ticket);
          if (cycle) throw deadlockError(rt, cycle);
          continue; // the owner may have moved on meanwhile: look again before sleeping
        }
        if (published && waited - lastCheck >= SLICE_MS) {
          // Checked again every slice: a walk can be inconclusive (a member caught mid-publication, or state that
          // kept moving), and a cycle must not go unreported because of it. Still only the highest ticket throws.
          lastCheck = waited;
          const cycle = findDeadlock(rt, me, this.id, ticket);
          if (cycle) throw deadlockError(rt, cycle);
        }
        // An interruptible wait (a transaction) sleeps in short slices: a wound's notify can land just before the sleep.
        const slice = !published ? PUBLISH_AFTER_MS - waited : interrupted ? INTERRUPTIBLE_SLICE_MS : SLICE_MS;
        Atomics.wait(words, index, this.waitOn, Math.min(timeoutMs - waited, slice));
        stallReported = this.afterWake(start, stallReported);
      }
    } finally {
      if (published) unpublishWait(rt, me);
    }
  }

  /**
   * Waits for the lock without blocking the thread; resolves to true when it was poisoned.
   * Keeps the thread alive while waiting. Rejects with the signal's reason when aborted.
   */
  async lockAsync(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    const { rt, words, index } = this;
    if (signal?.aborted) throw signal.reason;
    const immediate = this.tryLock(); // a free lock needs no keep-alive, no published wait, no contended mark
    if (immediate !== Acquired.No) return immediate === Acquired.Poisoned;
    const me = currentThreadId;
    const base = rt.threadBase(slotOf(me));
    const releaseKeepAlive = keepAlive();
    Atomics.add(words, base + T_ASYNC_WAITS, 1);
    Atomics.store(words, base + T_ASYNC_LOCK, this.id + 1);
    let onAbort: (() => void) | undefined;
    const aborted = signal
      ? new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
        })
      : undefined;
    aborted?.catch(() => {}); // observed below through Promise.race; never an unhandled rejection
    const start = now();
    let stallReported = false;
    try {
      for (;;) {
        const taken = this.attempt(start, timeoutMs);
        if (taken !== WAIT) return taken === TOOK_POISONED;
        const wait = Atomics.waitAsync(words, index, this.waitOn, Math.min(timeoutMs - (now() - start), SLICE_MS));
        if (wait.async) {
          if (aborted) {
            try {
              await Promise.race([wait.value, aborted]);
            } catch (reason) {
              // This wait may still be woken by an unlock meant for a live waiter: pass that wake on.
              void wait.value.then((result) => {
                if (result === "ok") Atomics.notify(words, index, 1);
              });
              throw reason;
            }
          } else {
            await wait.value;
          }
        }
        stallReported = this.afterWake(start, stallReported);
      }
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      Atomics.sub(words, base + T_ASYNC_WAITS, 1);
      if (Atomics.load(words, base + T_ASYNC_WAITS) === 0) Atomics.store(words, base + T_ASYNC_LOCK, 0);
      releaseKeepAlive();
    }
  }

  /** Releases the lock, held by this thread; with `poison`, marks it poisoned first. */
  unlock(poison: boolean): void {
    if (poison) {
      this.unlockSlow(true, Atomics.load(this.words, this.index));
      return;
    }
    const seen = Atomics.compareExchange(this.words, this.index, currentHeldWord, FREE);
    if (seen !== currentHeldWord) this.unlockSlow(false, seen); // contended or poisoned: the CAS told us the word
  }

  private unlockSlow(poison: boolean, word: number): void {
    const { rt, words, index } = this;
    for (let first = true; ; first = false) {
      if (word >>> OWNER_SHIFT !== currentThreadId || (word & STATE_MASK) === FREE) {
        throw new Error(
          `threadsafe: Mutex "${rt.lockName(this.id)}" is not held by this thread any more ` +
            `(it was released for a thread that was declared dead)`,
        );
      }
      // Written while we still hold it; an existing record (how an owner died) is kept, not overwritten.
      if (poison && first && (word & POISONED) === 0) this.recordPoison(currentThreadId, PoisonCause.Panicked);
      const next = poison ? POISONED : word & POISONED;
      const seen = Atomics.compareExchange(words, index, word, next);
      if (seen === word) {
        if ((word & STATE_MASK) === CONTENDED) Atomics.notify(words, index, 1);
        return;
      }
      word = seen;
    }
  }

  private recordPoison(threadId: number, cause: number): void {
    const { rt, words } = this;
    const base = rt.lockBase(this.id);
    Atomics.store(words, base + L_POISON_BY, threadId);
    Atomics.store(words, base + L_POISON_CAUSE, cause);
    Atomics.store(words, base + L_POISON_TIME, rt.elapsed());
    Atomics.store(words, base + L_POISON_NAME, Atomics.load(words, rt.threadBase(slotOf(threadId)) + T_NAME));
  }

  isPoisoned(): boolean {
    return (Atomics.load(this.words, this.index) & POISONED) !== 0;
  }

  /** Clears the poison flag, whether or not the lock is held. */
  clearPoison(): void {
    for (;;) {
      const word = Atomics.load(this.words, this.index);
      if ((word & POISONED) === 0) return;
      if (Atomics.compareExchange(this.words, this.index, word, word & ~POISONED) === word) return;
    }
  }

  /** How the lock came to be poisoned (valid while it is poisoned). */
  poisonDetails(): PoisonDetails {
    const { rt, words } = this;
    const base = rt.lockBase(this.id);
    return {
      threadId: Atomics.load(words, base + L_POISON_BY),
      threadName: rt.loadName(Atomics.load(words, base + L_POISON_NAME)),
      cause: describePoisonCause(Atomics.load(words, base + L_POISON_CAUSE)),
      agoMs: Math.max(0, rt.elapsed() - Atomics.load(words, base + L_POISON_TIME)),
    };
  }
}
