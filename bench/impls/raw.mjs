// Floors and references, written for this bench: raw locks over one Int32, Atomics.add, await null,
// a racy no-lock counter (to prove the oracle catches a broken lock) and a bare `new Worker`.
import { Worker } from 'node:worker_threads';
import { FutexLock, AdaptiveLock, FutexRwLock } from '../lib/rawlocks.mjs';
import { CasSemaphore, SpinParkBarrier } from '../lib/rawsync.mjs';
import { Unavailable, runContended } from '../lib/measure.mjs';
import { rawCondvarPingpong } from '../lib/rawcondvar.mjs';
import { barrierRounds } from '../lib/barrier-case.mjs';
import { usingModule } from './idioms.mjs';

function newWords(n = 1) {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

// Shared state of a contended run: lock word and counter live in separate buffers, as in threadsafe
// (lock word in the runtime buffer, data in its own SharedArrayBuffer).
function contendedSetup() {
  const lockWords = newWords(1);
  const counter = newWords(1);
  return { payload: { lockWords, counter }, read: () => counter[0] };
}

// The floor of the `using` rows: the least a guard for `using` can be. `lock()` returns a hand-written guard (one
// field for the lock, one for `held`, `value` over the Int32Array, `[Symbol.dispose]` releasing once); the loop is
// the very module threadsafe's `using` rows run, compiled the same way (impls/idioms.mjs). What `using` itself costs
// on a runtime (its disposal bookkeeping per block) shows here, apart from anything a library does.
class FloorGuard {
  constructor(lock, c) {
    this.lock = lock;
    this.c = c;
    this.held = true;
  }
  get value() {
    return this.c[0];
  }
  set value(v) {
    this.c[0] = v;
  }
  [Symbol.dispose]() {
    if (this.held) {
      this.held = false;
      this.lock.unlock();
    }
  }
}

async function usingFloor(lock, c, variant) {
  const { mod, how } = await usingModule(variant);
  const m = {
    lock() {
      lock.lock();
      return new FloorGuard(lock, c);
    },
  };
  return { loop: (n) => mod.loop(m, n), read: () => c[0], note: `the same \`using\` loop over a hand-written guard class: ${how}` };
}

function syncLockCases(Lock) {
  return {
    uncontended: {
      setup(ops, { variant } = {}) {
        const lock = new Lock(newWords(1));
        const c = newWords(1);
        if (variant?.startsWith('using')) return usingFloor(lock, c, variant);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              lock.lock();
              c[0]++;
              lock.unlock();
            }
          },
          read: () => c[0],
        };
      },
    },
    contended: {
      setup: contendedSetup,
      worker({ lockWords, counter }) {
        const lock = new Lock(lockWords);
        return (n) => {
          for (let i = 0; i < n; i++) {
            lock.lock();
            counter[0]++;
            lock.unlock();
          }
        };
      },
    },
    tryLock: {
      setup() {
        const lock = new Lock(newWords(1));
        const c = newWords(1);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              if (lock.tryLock()) {
                c[0]++;
                lock.unlock();
              }
            }
          },
          read: () => c[0],
        };
      },
    },
    struct: {
      setup() {
        // struct { x: i32, y: f64 } laid out by hand: x at byte 0, y at byte 8.
        const lock = new Lock(newWords(1));
        const data = new SharedArrayBuffer(16);
        const x = new Int32Array(data, 0, 1);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              lock.lock();
              x[0] = x[0] + 1;
              lock.unlock();
            }
          },
          read: () => x[0],
          note: 'fields by hand: Int32Array at byte 0',
        };
      },
    },
  };
}

// The floor of the deadlock cases: one futex sleep/wake round trip between two workers. They take turns
// on one Int32 (0: A's turn, 1: B's) with plain Atomics.wait/notify and no spinning, so every hand-off
// wakes a sleeping thread; a round trip is A → B → A, two sleeps and two wakes. Each worker bumps a
// counter on its turn, so the usual count check (2 per round trip) catches a broken hand-off.
function pingpongWorker({ words }) {
  const role = Atomics.add(words, 1, 1); // first worker to start is A, the second B
  const mine = role === 0 ? 0 : 1;
  const theirs = 1 - mine;
  return (n) => {
    for (let i = 0; i < n; i++) {
      for (let v = Atomics.load(words, 0); v !== mine; v = Atomics.load(words, 0)) Atomics.wait(words, 0, v);
      words[2]++;
      Atomics.store(words, 0, theirs);
      Atomics.notify(words, 0, 1);
    }
  };
}

function futexPingpong(name) {
  const handler = {
    setup() {
      const words = newWords(4); // [turn, role counter, hand-off counter]
      return { payload: { words }, read: () => words[2] };
    },
    worker: pingpongWorker,
    // n round trips; runContended counts the 2n hand-offs (its ns/op is per hand-off): report per round trip.
    async run(n, { timeoutMs, caseDef }) {
      const r = await runContended(name, caseDef.name, handler, n, { timeoutMs });
      return {
        ...r,
        ops: n,
        nsPerOp: r.nsPerOp * 2,
        note: 'two workers alternate on one Int32 with Atomics.wait/notify, no spinning; ns per round trip (A→B→A: 2 sleeps, 2 wakes)',
      };
    },
  };
  return { 'deadlock-2': handler, 'deadlock-8': handler };
}

function asyncLockCases() {
  return {
    lockAsync: {
      setup() {
        const lock = new FutexLock(newWords(1));
        const c = newWords(1);
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) {
              await lock.lockAsync();
              c[0]++;
              lock.unlock();
            }
          },
          read: () => c[0],
        };
      },
    },
    'lockAsync-contended': {
      setup: contendedSetup,
      worker({ lockWords, counter }) {
        const lock = new FutexLock(lockWords);
        return async (n) => {
          for (let i = 0; i < n; i++) {
            await lock.lockAsync();
            counter[0]++;
            lock.unlock();
          }
        };
      },
    },
  };
}

// Floor of bytes-per-mutex: futex words packed in one SharedArrayBuffer (4 bytes each) and a minimal
// handle object per lock ({ words, index }); the i32 it protects is not counted.
const futexMemory = {
  setup(n) {
    const words = newWords(n); // allocated before the first reading; the 100 warm-up handles reuse words 0–99
    return {
      make: (i) => new FutexLock(words, i),
      sharedBytes: (locks) => 4 * locks.length,
      check(locks) {
        let ok = 0;
        for (const l of locks) {
          if (l.tryLock()) {
            l.unlock();
            ok++;
          }
        }
        return ok;
      },
      note: '`new FutexLock(words, i)` over one packed Int32Array: 4 shared bytes + a { words, index } handle; the protected i32 is not counted',
    };
  },
};

// Floor of create-drop: what a mutex needs at least when each one has its own shared memory: one
// SharedArrayBuffer of 8 bytes (lock word + the i32) and a FutexLock handle over it, dropped at once.
const futexChurn = {
  setup() {
    return {
      make: () => new FutexLock(newWords(2), 0),
      check(l) {
        if (!l.tryLock()) return false;
        l.unlock();
        return true;
      },
      note: '`new FutexLock(new Int32Array(new SharedArrayBuffer(8)), 0)`: one 8-byte SAB (lock word + i32) + a handle, dropped at once',
    };
  },
};

const atomicsAdd = {
  uncontended: {
    setup() {
      const c = newWords(1);
      return {
        loop(n) {
          for (let i = 0; i < n; i++) Atomics.add(c, 0, 1);
        },
        read: () => c[0],
      };
    },
  },
  contended: {
    setup: contendedSetup,
    worker({ counter }) {
      return (n) => {
        for (let i = 0; i < n; i++) Atomics.add(counter, 0, 1);
      };
    },
  },
};

const awaitNull = {
  lockAsync: {
    setup() {
      const c = newWords(1);
      return {
        async loop(n) {
          for (let i = 0; i < n; i++) {
            await null;
            c[0]++;
          }
        },
        read: () => c[0],
      };
    },
  },
};

const noLock = {
  contended: {
    setup: contendedSetup,
    worker({ counter }) {
      return (n) => {
        for (let i = 0; i < n; i++) counter[0]++;
      };
    },
  },
};

const workerThreads = {
  spawn: {
    setup() {
      return {
        once: () =>
          new Promise((resolve, reject) => {
            const w = new Worker('', { eval: true });
            w.once('error', reject);
            w.once('exit', (code) => resolve(code === 0));
          }),
        note: "`new Worker('', { eval: true })` until 'exit'",
      };
    },
  },
};

const rawSemaphore = {
  semaphore: {
    setup() {
      const words = newWords(2);
      words[0] = 1; // one permit
      const counter = newWords(1);
      return { payload: { words, counter }, read: () => counter[0], note: 'CasSemaphore (bench/lib/rawsync.mjs)' };
    },
    worker({ words, counter }) {
      const sem = new CasSemaphore(words);
      return (n) => {
        for (let i = 0; i < n; i++) {
          sem.acquire();
          counter[0]++;
          sem.release();
        }
      };
    },
  },
};

const rawBarrier = {
  barrier: barrierRounds('raw-barrier', {
    setup() {
      const words = newWords(3);
      const counter = newWords(1);
      return { payload: { words, counter }, read: () => counter[0], note: 'SpinParkBarrier (bench/lib/rawsync.mjs), spins 2000 polls before parking' };
    },
    worker({ words, counter }) {
      const barrier = new SpinParkBarrier(words, 2);
      return (n) => {
        for (let i = 0; i < n; i++) if (barrier.wait()) counter[0] += 2;
      };
    },
  }),
};

// Floor of the RwLock cases: FutexRwLock (lib/rawlocks.mjs) over two Int32 words, the value in its own buffer.
// 95/5: op i of a worker writes (non-atomic `+= 1`) when i % 20 === 0, else reads; the count is writes × 20.
const rawRwLock = {
  'rwlock-read': {
    setup() {
      const lock = new FutexRwLock(newWords(2));
      const c = newWords(1);
      c[0] = 1;
      let sum = 0;
      return {
        loop(n) {
          for (let i = 0; i < n; i++) {
            lock.read();
            sum += c[0];
            lock.readUnlock();
          }
        },
        read: () => sum,
        note: '`lock.read(); sum += c[0]; lock.readUnlock()`',
      };
    },
  },
  ...Object.fromEntries(
    ['rwlock-95-5', 'rwlock-95-5-4t'].map((name) => [
      name,
      {
        setup() {
          const lockWords = newWords(2);
          const counter = newWords(2);
          return { payload: { lockWords, counter }, read: () => counter[0] * 20 };
        },
        worker({ lockWords, counter }) {
          const lock = new FutexRwLock(lockWords);
          return (n) => {
            let seen = 0;
            for (let i = 0; i < n; i++) {
              if (i % 20 === 0) {
                lock.write();
                counter[0]++;
                lock.writeUnlock();
              } else {
                lock.read();
                seen ^= counter[0];
                lock.readUnlock();
              }
            }
            counter[1] = seen; // keeps the reads
          };
        },
      },
    ]),
  ),
};

export function load(name) {
  switch (name) {
    case 'raw-rwlock':
      return rawRwLock;
    case 'raw-futex':
      return { ...syncLockCases(FutexLock), 'bytes-per-mutex': futexMemory, 'create-drop': futexChurn };
    case 'futex-pingpong':
      return futexPingpong(name);
    case 'raw-condvar':
      return { 'condvar-pingpong': rawCondvarPingpong };
    case 'raw-adaptive':
      return syncLockCases(AdaptiveLock);
    case 'raw-futex-async':
      return asyncLockCases();
    case 'atomics-add':
      return atomicsAdd;
    case 'await-null':
      return awaitNull;
    case 'no-lock':
      return noLock;
    case 'worker-threads':
      return workerThreads;
    case 'raw-semaphore':
      return rawSemaphore;
    case 'raw-barrier':
      return rawBarrier;
    default:
      throw new Unavailable(`raw.mjs has no implementation "${name}"`);
  }
}
