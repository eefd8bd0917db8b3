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

// Hand-written futex reader-writer lock: Rust std's `sys/sync/rwlock/futex.rs` over two Int32 words (state, and a
// counter writers sleep on), with the same bounded spin before parking. The floor of the RwLock cases: the same
// protocol as the library's (writer preference included) without its guards, ids, holds records or poison.
//   state: readers in bits 0-29 (all ones = write-locked), bit 30 readers waiting, bit 31 writers waiting.
const RW_MASK = (1 << 30) - 1;
const RW_WRITE_LOCKED = RW_MASK;
const RW_MAX_READERS = RW_MASK - 1;
const RW_READERS_WAITING = 1 << 30;
const RW_WRITERS_WAITING = 1 << 31;
const RW_WAITING = RW_READERS_WAITING | RW_WRITERS_WAITING;

export class FutexRwLock {
  /** Uses words[index] (state) and words[index + 1] (writers' notify counter). */
  constructor(words, index = 0) {
    this.words = words;
    this.index = index;
  }

  read() {
    const w = this.words;
    const i = this.index;
    const s = Atomics.compareExchange(w, i, 0, 1);
    if (s === 0) return;
    if ((s & ~RW_MASK) === 0 && (s & RW_MASK) < RW_MAX_READERS && Atomics.compareExchange(w, i, s, s + 1) === s) return;
    this.readSlow(w, i);
  }

  readSlow(w, i) {
    let s = Atomics.load(w, i);
    for (let n = 0; n < SPIN_LIMIT && (s & RW_MASK) === RW_WRITE_LOCKED && (s & RW_WAITING) === 0; n++) {
      pause();
      s = Atomics.load(w, i);
    }
    for (;;) {
      if ((s & RW_MASK) < RW_MAX_READERS && (s & RW_WAITING) === 0) {
        const seen = Atomics.compareExchange(w, i, s, s + 1);
        if (seen === s) return;
        s = seen;
        continue;
      }
      if ((s & RW_READERS_WAITING) === 0) {
        const seen = Atomics.compareExchange(w, i, s, s | RW_READERS_WAITING);
        if (seen !== s) {
          s = seen;
          continue;
        }
      }
      Atomics.wait(w, i, s | RW_READERS_WAITING);
      s = Atomics.load(w, i);
    }
  }

  readUnlock() {
    const w = this.words;
    const i = this.index;
    const before = Atomics.sub(w, i, 1);
    if ((before & RW_MASK) === 1 && before & RW_WRITERS_WAITING) this.wake(w, i, before - 1);
  }

  write() {
    const w = this.words;
    const i = this.index;
    if (Atomics.compareExchange(w, i, 0, RW_WRITE_LOCKED) !== 0) this.writeSlow(w, i);
  }

  writeSlow(w, i) {
    let s = Atomics.load(w, i);
    for (let n = 0; n < SPIN_LIMIT && (s & RW_MASK) !== 0 && (s & RW_WRITERS_WAITING) === 0; n++) {
      pause();
      s = Atomics.load(w, i);
    }
    let other = 0;
    for (;;) {
      if ((s & RW_MASK) === 0) {
        const seen = Atomics.compareExchange(w, i, s, s | RW_WRITE_LOCKED | other);
        if (seen === s) return;
        s = seen;
        continue;
      }
      if ((s & RW_WRITERS_WAITING) === 0) {
        const seen = Atomics.compareExchange(w, i, s, s | RW_WRITERS_WAITING);
        if (seen !== s) {
          s = seen;
          continue;
        }
      }
      other = RW_WRITERS_WAITING;
      const seq = Atomics.load(w, i + 1);
      s = Atomics.load(w, i);
      if ((s & RW_MASK) === 0 || (s & RW_WRITERS_WAITING) === 0) continue;
      Atomics.wait(w, i + 1, seq);
      s = Atomics.load(w, i);
    }
  }

  writeUnlock() {
    const w = this.words;
    const i = this.index;
    if (Atomics.compareExchange(w, i, RW_WRITE_LOCKED, 0) === RW_WRITE_LOCKED) return;
    const after = Atomics.sub(w, i, RW_WRITE_LOCKED) - RW_WRITE_LOCKED;
    if (after & RW_WAITING) this.wake(w, i, after);
  }

  wake(w, i, s) {
    for (;;) {
      if (s & RW_WRITERS_WAITING) {
        const seen = Atomics.compareExchange(w, i, s, s & ~RW_WRITERS_WAITING);
        if (seen !== s) {
          s = seen;
          continue;
        }
        Atomics.add(w, i + 1, 1);
        if (Atomics.notify(w, i + 1, 1) > 0) return;
        s &= ~RW_WRITERS_WAITING;
      }
      if ((s & RW_READERS_WAITING) === 0 || (s & RW_MASK) === RW_WRITE_LOCKED) return;
      const seen = Atomics.compareExchange(w, i, s, s & ~RW_READERS_WAITING);
      if (seen !== s) {
        s = seen;
        continue;
      }
      Atomics.notify(w, i);
      return;
    }
  }
}
