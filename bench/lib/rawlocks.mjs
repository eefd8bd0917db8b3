// Hand-written reference locks over one Int32 slot of a SharedArrayBuffer.
// They are the floors the library is measured against (bench/README.md).
//
// Word states (Drepper, "Futexes Are Tricky", mutex #2):
//   0 = unlocked, 1 = locked and nobody parked, 2 = locked and someone may be parked.

const UNLOCKED = 0;
const LOCKED = 1;
const PARKED = 2;
const SPIN_LIMIT = 100;

// Atomics.pause exists from Node 24 (V8 12.x); older runtimes get a no-op.
const pause = typeof Atomics.pause === 'function' ? Atomics.pause : () => {};

/** 3-state futex mutex: one CAS to lock, one atomic sub to unlock, notify only when state was 2. */
export class FutexLock {
  constructor(words, index = 0) {
    this.words = words;
    this.index = index;
  }

  lock() {
    const w = this.words;
    const i = this.index;
    let state = Atomics.compareExchange(w, i, UNLOCKED, LOCKED);
    if (state === UNLOCKED) return;
    if (state !== PARKED) state = Atomics.exchange(w, i, PARKED);
    while (state !== UNLOCKED) {
      Atomics.wait(w, i, PARKED);
      state = Atomics.exchange(w, i, PARKED);
    }
  }

  tryLock() {
    return Atomics.compareExchange(this.words, this.index, UNLOCKED, LOCKED) === UNLOCKED;
  }

  unlock() {
    const w = this.words;
    const i = this.index;
    if (Atomics.sub(w, i, 1) !== LOCKED) {
      Atomics.store(w, i, UNLOCKED);
      Atomics.notify(w, i, 1);
    }
  }

  /** Async acquire: same word, parks with Atomics.waitAsync instead of blocking the thread. */
  async lockAsync() {
    const w = this.words;
    const i = this.index;
    let state = Atomics.compareExchange(w, i, UNLOCKED, LOCKED);
    if (state === UNLOCKED) return;
    if (state !== PARKED) state = Atomics.exchange(w, i, PARKED);
    while (state !== UNLOCKED) {
      const r = Atomics.waitAsync(w, i, PARKED);
      if (r.async) await r.value;
      state = Atomics.exchange(w, i, PARKED);
    }
  }
}

/** The same word protocol with a bounded spin (at most SPIN_LIMIT loads) before parking. */
export class AdaptiveLock extends FutexLock {
  lock() {
    const w = this.words;
    const i = this.index;
    if (Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) return;
    this.lockSlow(w, i);
  }

  lockSlow(w, i) {
    for (;;) {
      // Spin while the holder is running and nobody is parked yet.
      let state = Atomics.load(w, i);
      for (let n = 0; state === LOCKED && n < SPIN_LIMIT; n++) {
        pause();
        state = Atomics.load(w, i);
      }
      if (state === UNLOCKED) {
        state = Atomics.compareExchange(w, i, UNLOCKED, LOCKED);
        if (state === UNLOCKED) return;
      }
      // Announce a waiter; if the lock was free after all we now own it (in state 2, which is safe).
      if (Atomics.exchange(w, i, PARKED) === UNLOCKED) return;
      Atomics.wait(w, i, PARKED);
    }
  }
}
