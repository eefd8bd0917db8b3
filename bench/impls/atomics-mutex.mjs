// V8's native Atomics.Mutex (TC39 shared structs), present only behind --harmony-struct
// (bench/run.mjs passes the flag for this implementation). `Atomics.Mutex.lock(m, cb)` runs cb
// under the lock. tryLock returns a boolean on Node 20 and { success, value } on newer V8.
// lockAsync exists on newer V8 (Node 24) only.
import { Unavailable } from '../lib/measure.mjs';

function words(n = 1) {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

export function load() {
  const AM = globalThis.Atomics?.Mutex;
  if (typeof AM !== 'function') {
    throw new Unavailable(`Atomics.Mutex absent on Node ${process.version} (needs --harmony-struct)`);
  }
  const lock = AM.lock;

  const cases = {
    uncontended: {
      setup() {
        const m = new AM();
        const c = words();
        const body = () => {
          c[0]++;
        };
        return {
          loop(n) {
            for (let i = 0; i < n; i++) lock(m, body);
          },
          read: () => c[0],
        };
      },
    },
    contended: {
      setup() {
        const m = new AM();
        const counter = words();
        // Posting an Atomics.Mutex through workerData shares its identity with the worker.
        return { payload: { m, counter }, read: () => counter[0] };
      },
      worker({ m, counter }) {
        const body = () => {
          counter[0]++;
        };
        return (n) => {
          for (let i = 0; i < n; i++) lock(m, body);
        };
      },
    },
    tryLock: {
      setup() {
        const m = new AM();
        const c = words();
        const body = () => {
          c[0]++;
        };
        const tl = AM.tryLock;
        return {
          loop(n) {
            for (let i = 0; i < n; i++) tl(m, body);
          },
          read: () => c[0],
          note: `tryLock returns ${typeof tl(new AM(), () => {}) === 'boolean' ? 'a boolean' : '{ success, value }'} here`,
        };
      },
    },
    struct: {
      setup() {
        if (typeof globalThis.SharedStructType !== 'function') {
          throw new Unavailable('SharedStructType absent');
        }
        const S = new SharedStructType(['x', 'y']);
        const s = new S();
        s.x = 0;
        s.y = 0;
        const m = new AM();
        const body = () => {
          s.x = s.x + 1;
        };
        return {
          loop(n) {
            for (let i = 0; i < n; i++) lock(m, body);
          },
          read: () => s.x,
          note: 'SharedStructType([x, y]) field',
        };
      },
    },
  };

  cases['bytes-per-mutex'] = {
    setup() {
      return {
        make: () => new AM(),
        sharedBytes: undefined, // the mutex lives in V8's shared heap: its growth is the shared memory
        check(ms) {
          let ok = 0;
          const body = () => {
            ok++;
          };
          for (const m of ms) lock(m, body);
          return ok;
        },
        note: '`new Atomics.Mutex()`: an object in V8\'s shared heap (shared = growth of the shared space, also part of heapUsed); the protected i32 is not counted',
      };
    },
  };

  cases['create-drop'] = {
    setup() {
      return {
        make: () => new AM(),
        check(m) {
          let ok = false;
          lock(m, () => {
            ok = true;
          });
          return ok;
        },
        note: '`new Atomics.Mutex()` (an object in V8\'s shared heap), dropped at once; the protected i32 is not made',
      };
    },
  };

  if (typeof AM.lockAsync === 'function') {
    const lockAsync = AM.lockAsync;
    cases.lockAsync = {
      setup() {
        const m = new AM();
        const c = words();
        const body = () => {
          c[0]++;
        };
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) await lockAsync(m, body);
          },
          read: () => c[0],
          note: '`await Atomics.Mutex.lockAsync(m, cb)`',
        };
      },
    };
    cases['lockAsync-contended'] = {
      setup: cases.contended.setup,
      worker({ m, counter }) {
        const body = () => {
          counter[0]++;
        };
        return async (n) => {
          for (let i = 0; i < n; i++) await lockAsync(m, body);
        };
      },
    };
  } else {
    const why = { run() { throw new Unavailable(`no Atomics.Mutex.lockAsync on Node ${process.version}`); } };
    cases.lockAsync = why;
    cases['lockAsync-contended'] = why;
  }
  return cases;
}
