// The floor of the Condvar cases: a faithful port of Rust std's Linux futex Mutex and futex Condvar
// (library/std/src/sys/sync/mutex/futex.rs, library/std/src/sys/sync/condvar/futex.rs) over Int32 words of a
// SharedArrayBuffer, with Atomics.wait/notify as the futex. No diagnostics, no poisoning, no timeouts: what a
// condvar costs at least in JS (primitives-anchors.md §3 measured this design at 42–45 µs per ping-pong round
// trip idle, 4.9 µs with both vCPUs kept awake).
import { runContended } from './measure.mjs';

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;
const SPIN = 100;
const pause = typeof Atomics.pause === 'function' ? Atomics.pause : () => {};

/** std's futex Mutex: CAS 0→1; contended: spin ≤100 while locked without waiters, then swap in 2 and wait. */
export class StdFutexMutex {
  constructor(words, index) {
    this.words = words;
    this.index = index;
  }

  lock() {
    if (Atomics.compareExchange(this.words, this.index, UNLOCKED, LOCKED) !== UNLOCKED) this.lockContended();
  }

  lockContended() {
    const w = this.words;
    const i = this.index;
    let state = this.spin();
    if (state === UNLOCKED && Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) return;
    for (;;) {
      if (state !== CONTENDED && Atomics.exchange(w, i, CONTENDED) === UNLOCKED) return;
      Atomics.wait(w, i, CONTENDED);
      state = this.spin();
    }
  }

  spin() {
    for (let n = SPIN; ; n--) {
      const state = Atomics.load(this.words, this.index);
      if (state !== LOCKED || n === 0) return state;
      pause();
    }
  }

  unlock() {
    if (Atomics.exchange(this.words, this.index, UNLOCKED) === CONTENDED) Atomics.notify(this.words, this.index, 1);
  }
}

/** std's futex Condvar: a sequence counter; notify adds 1 and wakes; wait sleeps on the value it read. */
export class StdFutexCondvar {
  constructor(words, index) {
    this.words = words;
    this.index = index;
  }

  wait(mutex) {
    const seq = Atomics.load(this.words, this.index);
    mutex.unlock();
    Atomics.wait(this.words, this.index, seq);
    mutex.lock();
  }

  notifyOne() {
    Atomics.add(this.words, this.index, 1);
    Atomics.notify(this.words, this.index, 1);
  }

  notifyAll() {
    Atomics.add(this.words, this.index, 1);
    Atomics.notify(this.words, this.index);
  }
}

/**
 * The condvar-pingpong case for a handler `{ setup, worker }` of the contended kind: two workers, n round trips
 * each; runContended counts 2n hand-offs (its ns/op is per hand-off), reported here per round trip (A→B→A).
 */
export function roundTrips(implName, handler, note) {
  return {
    ...handler,
    async run(n, { timeoutMs, caseDef }) {
      const r = await runContended(implName, caseDef.name, handler, n, { timeoutMs });
      return { ...r, ops: n, nsPerOp: r.nsPerOp * 2, note };
    },
  };
}

// Words of the floor's ping-pong: [mutex, condvar seq, turn, hand-offs, role counter].
const M = 0;
const CV = 1;
const TURN = 2;
const COUNT = 3;
const ROLE = 4;

/** The floor's ping-pong: `lock; while (turn !== mine) cv.wait(m); count++; turn = theirs; cv.notifyOne(); unlock`. */
export const rawCondvarPingpong = roundTrips(
  'raw-condvar',
  {
    setup() {
      const words = new Int32Array(new SharedArrayBuffer(4 * 8));
      return { payload: { words }, read: () => words[COUNT] };
    },
    worker({ words }) {
      const mine = Atomics.add(words, ROLE, 1) === 0 ? 0 : 1;
      const theirs = 1 - mine;
      const m = new StdFutexMutex(words, M);
      const cv = new StdFutexCondvar(words, CV);
      return (n) => {
        for (let i = 0; i < n; i++) {
          m.lock();
          while (words[TURN] !== mine) cv.wait(m);
          words[COUNT]++;
          words[TURN] = theirs;
          cv.notifyOne();
          m.unlock();
        }
      };
    },
  },
  'port of Rust std futex Mutex + Condvar over one SAB; `lock; while (turn !== mine) cv.wait(m); …; cv.notifyOne(); unlock`; ns per round trip (A→B→A)',
);
