// Floors of the atomic and once-cell cases, written by hand over bare typed arrays (what a user writes without the
// library): `Atomics.add` on an Int32Array / BigInt64Array, a compare-and-swap loop for fetch_max (JS has no
// Atomics.max), and a once-cell's read (`Atomics.load(state) === DONE`, then the value). `plain-field` is the
// reference for a value a thread has cached after seeing the cell done: a plain property read, no atomic.

function i32s(n = 2) {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

const DONE = 2;

export async function load(name) {
  if (name === 'raw-atomics') {
    return {
      'atomic-fetchAdd': {
        setup() {
          const c = i32s(1);
          return {
            loop(n) {
              for (let i = 0; i < n; i++) Atomics.add(c, 0, 1);
            },
            read: () => c[0],
            note: '`Atomics.add(int32Array, 0, 1)`',
          };
        },
      },
      'atomic-fetchAdd-contended': {
        setup() {
          const counter = i32s(1);
          return { payload: { counter }, read: () => counter[0] };
        },
        worker({ counter }) {
          return (n) => {
            for (let i = 0; i < n; i++) Atomics.add(counter, 0, 1);
          };
        },
      },
      'atomic-u64-fetchAdd': {
        setup() {
          const c = new BigInt64Array(new SharedArrayBuffer(8));
          return {
            loop(n) {
              for (let i = 0; i < n; i++) Atomics.add(c, 0, 1n);
            },
            read: () => Number(c[0]),
            note: '`Atomics.add(bigInt64Array, 0, 1n)`',
          };
        },
      },
      'atomic-fetchMax': {
        setup() {
          const c = i32s(1);
          let k = 0;
          // fetch_max by hand: load, then compare-and-swap while the new value is larger.
          const fetchMax = (a, v) => {
            let old = Atomics.load(a, 0);
            while (old < v) {
              const seen = Atomics.compareExchange(a, 0, old, v);
              if (seen === old) break;
              old = seen;
            }
            return old;
          };
          return {
            loop(n) {
              for (let i = 0; i < n; i++) fetchMax(c, ++k);
            },
            read: () => c[0],
            note: 'hand-written CAS loop: load, then `Atomics.compareExchange` while the value is smaller (the value grows every op, so every op writes)',
          };
        },
      },
      'oncelock-get': {
        setup() {
          const state = i32s(1);
          const value = i32s(1);
          value[0] = 1;
          Atomics.store(state, 0, DONE);
          const get = () => (Atomics.load(state, 0) === DONE ? value[0] : undefined);
          let sum = 0;
          return {
            loop(n) {
              for (let i = 0; i < n; i++) sum += get();
            },
            read: () => sum,
            note: '`Atomics.load(state, 0) === DONE ? value[0] : undefined` (the sound read without a per-thread cache)',
          };
        },
      },
    };
  }
  if (name === 'plain-field') {
    return {
      'oncelock-get': {
        setup() {
          const cell = { value: 1 };
          const get = () => cell.value;
          let sum = 0;
          return {
            loop(n) {
              for (let i = 0; i < n; i++) sum += get();
            },
            read: () => sum,
            note: 'a plain property read: what a value cached by this thread costs',
          };
        },
      },
    };
  }
  throw new Error(`raw-atomics.mjs has no implementation "${name}"`);
}
