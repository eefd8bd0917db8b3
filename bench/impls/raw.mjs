// Floors and references, written for this bench: raw locks over one Int32, Atomics.add, await null,
// a racy no-lock counter (to prove the oracle catches a broken lock) and a bare `new Worker`.
import { Worker } from 'node:worker_threads';
import { FutexLock, AdaptiveLock } from '../lib/rawlocks.mjs';
import { Unavailable } from '../lib/measure.mjs';

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

function syncLockCases(Lock) {
  return {
    uncontended: {
      setup() {
        const lock = new Lock(newWords(1));
        const c = newWords(1);
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

export function load(name) {
  switch (name) {
    case 'raw-futex':
      return syncLockCases(FutexLock);
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
    default:
      throw new Unavailable(`raw.mjs has no implementation "${name}"`);
  }
}
