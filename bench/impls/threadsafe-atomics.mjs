// threadsafe's atomic and once-cell cases (bench/lib/cases.mjs: atomic-*, oncelock-get), merged into the
// `threadsafe` implementation by threadsafe.mjs. Each reports "not built" when the build lacks the API.
import { Unavailable } from '../lib/measure.mjs';

function need(lib, ...names) {
  const missing = names.filter((n) => lib[n] === undefined);
  if (missing.length) throw new Unavailable(`threadsafe: this build has no ${missing.join(', ')}`);
  return lib;
}

export function atomicCases(lib) {
  return {
    'atomic-fetchAdd': {
      setup() {
        const { AtomicI32 } = need(lib, 'AtomicI32');
        const c = new AtomicI32(0);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) c.fetchAdd(1);
          },
          read: () => c.load(),
          note: '`atomicI32.fetchAdd(1)`',
        };
      },
    },
    'atomic-fetchAdd-contended': {
      setup() {
        const { AtomicI32, share } = need(lib, 'AtomicI32', 'share');
        const c = new AtomicI32(0, { name: 'bench-atomic' });
        return { payload: share(c), read: () => c.load() };
      },
      worker(payload) {
        const c = need(lib, 'receive').receive(payload);
        return (n) => {
          for (let i = 0; i < n; i++) c.fetchAdd(1);
        };
      },
    },
    'atomic-u64-fetchAdd': {
      setup() {
        const { AtomicU64 } = need(lib, 'AtomicU64');
        const c = new AtomicU64(0n);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) c.fetchAdd(1n);
          },
          read: () => Number(c.load()),
          note: '`atomicU64.fetchAdd(1n)`',
        };
      },
    },
    'atomic-fetchMax': {
      setup() {
        const { AtomicI32 } = need(lib, 'AtomicI32');
        const c = new AtomicI32(0);
        let k = 0;
        return {
          loop(n) {
            for (let i = 0; i < n; i++) c.fetchMax(++k);
          },
          read: () => c.load(),
          note: '`atomicI32.fetchMax(++k)` (every op writes)',
        };
      },
    },
    'oncelock-get': {
      setup(_ops, { variant }) {
        let sum = 0;
        if (variant === 'lazy') {
          const { LazyLock, i32 } = need(lib, 'LazyLock', 'i32');
          const lazy = new LazyLock(i32, () => 1);
          return {
            loop(n) {
              for (let i = 0; i < n; i++) sum += lazy.value;
            },
            read: () => sum,
            note: '`lazyLock.value` on a forced LazyLock(i32)',
          };
        }
        const { OnceLock, i32 } = need(lib, 'OnceLock', 'i32');
        const cell = new OnceLock(i32);
        cell.set(1);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) sum += cell.get();
          },
          read: () => sum,
          note: '`onceLock.get()` on an initialized OnceLock(i32)',
        };
      },
    },
  };
}
