// Anchor: Web Locks, `navigator.locks.request(name, cb)`, where the runtime has it (absent on
// Node 20). Process-wide across worker_threads on Node >= 24. Its mutual exclusion is checked by
// the same non-atomic counter: a wrong final count is reported as an incorrect run.
import { Unavailable } from '../lib/measure.mjs';

const NAME = 'threadsafe-bench';

export function load() {
  const locks = globalThis.navigator?.locks;
  if (!locks || typeof locks.request !== 'function') {
    throw new Unavailable(`navigator.locks absent on Node ${process.version}`);
  }
  const worker = ({ counter }) => {
    const l = globalThis.navigator.locks;
    const body = () => {
      counter[0]++;
    };
    return async (n) => {
      for (let i = 0; i < n; i++) await l.request(NAME, body);
    };
  };
  const setup = () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    return { payload: { counter }, read: () => counter[0], note: '`await navigator.locks.request(name, cb)`' };
  };
  return {
    lockAsync: {
      setup() {
        const c = new Int32Array(new SharedArrayBuffer(4));
        const body = () => {
          c[0]++;
        };
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) await locks.request(NAME, body);
          },
          read: () => c[0],
          note: '`await navigator.locks.request(name, cb)`',
        };
      },
    },
    'lockAsync-contended': { setup, worker },
  };
}
