// Hand-written floors for the Semaphore and Barrier cases: the least a correct blocking primitive over
// SharedArrayBuffer words does, spinning briefly before it parks (primitives-anchors.md §5, §6).

// Atomics.pause exists from Node 24 (V8 12.x); older runtimes get a no-op.
const pause = typeof Atomics.pause === 'function' ? Atomics.pause : () => {};

/**
 * Counting semaphore: words[i] = free permits, words[i + 1] = parked waiters. Acquire is a CAS loop (≤ 100 spins
 * before parking); release is one Atomics.add and a notify only when a waiter is registered.
 */
export class CasSemaphore {
  constructor(words, index = 0) {
    this.words = words;
    this.index = index;
  }

  acquire() {
    const w = this.words;
    const i = this.index;
    for (let spin = 0; spin < 100; spin++) {
      const v = Atomics.load(w, i);
      if (v > 0) {
        if (Atomics.compareExchange(w, i, v, v - 1) === v) return;
        continue;
      }
      pause();
    }
    Atomics.add(w, i + 1, 1);
    for (;;) {
      const v = Atomics.load(w, i);
      if (v > 0) {
        if (Atomics.compareExchange(w, i, v, v - 1) === v) break;
        continue;
      }
      Atomics.wait(w, i, v);
    }
    Atomics.sub(w, i + 1, 1);
  }

  release() {
    const w = this.words;
    const i = this.index;
    Atomics.add(w, i, 1);
    if (Atomics.load(w, i + 1) !== 0) Atomics.notify(w, i, 1);
  }
}

/** Polls of the generation before parking, the same as threadsafe's Barrier (src/raw/raw-barrier.ts). */
const BARRIER_SPIN = 2000;

/**
 * Generation-counter barrier for n parties: words[i] = arrivals, words[i + 1] = generation, words[i + 2] = parked
 * waiters. An arrival is one Atomics.add; the last one resets the count, bumps the generation and notifies only
 * when someone parked. Others spin on the generation, then park on it. No timeouts, no withdrawal.
 */
export class SpinParkBarrier {
  constructor(words, n, index = 0) {
    this.words = words;
    this.n = n;
    this.index = index;
  }

  /** Returns true for the round's leader. */
  wait() {
    const w = this.words;
    const i = this.index;
    const gen = Atomics.load(w, i + 1);
    if (Atomics.add(w, i, 1) === this.n - 1) {
      Atomics.store(w, i, 0);
      Atomics.add(w, i + 1, 1);
      if (Atomics.load(w, i + 2) !== 0) Atomics.notify(w, i + 1);
      return true;
    }
    for (let spin = 0; spin < BARRIER_SPIN; spin++) {
      if (Atomics.load(w, i + 1) !== gen) return false;
      pause();
    }
    Atomics.add(w, i + 2, 1);
    while (Atomics.load(w, i + 1) === gen) Atomics.wait(w, i + 1, gen);
    Atomics.sub(w, i + 2, 1);
    return false;
  }
}
