// The library under test, from its build output (dist/, made by `npm run build`). Every missing
// file, failed import or missing export is reported as "not built" for that case, never a crash.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Unavailable } from '../lib/measure.mjs';

// BENCH_THREADSAFE_DIST=/path/to/index.js measures another build (e.g. a stand-in while dist/ is missing).
const DIST = process.env.BENCH_THREADSAFE_DIST
  ? new URL(`file://${process.env.BENCH_THREADSAFE_DIST}`)
  : new URL('../../dist/index.js', import.meta.url);

async function importLib() {
  if (!existsSync(fileURLToPath(DIST))) throw new Unavailable('threadsafe: not built (run npm run build)');
  try {
    return await import(DIST.href);
  } catch (e) {
    throw new Unavailable(`threadsafe: not built (run npm run build): importing dist/index.js failed: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
}

function need(lib, ...names) {
  const missing = names.filter((n) => lib[n] === undefined);
  if (missing.length) throw new Unavailable(`threadsafe: dist/index.js does not export ${missing.join(', ')} yet`);
  return lib;
}

function readI32(m) {
  const g = m.lock();
  const v = g.value;
  g.unlock();
  return v;
}

export async function load() {
  const lib = await importLib();

  const contendedSetup = () => {
    const { Mutex, i32, share } = need(lib, 'Mutex', 'i32', 'share', 'receive');
    const m = new Mutex(i32, 0, { name: 'bench-counter' });
    return { payload: share(m), read: () => readI32(m) };
  };

  return {
    uncontended: {
      setup() {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        const m = new Mutex(i32, 0);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.lock();
              g.value += 1;
              g.unlock();
            }
          },
          read: () => readI32(m),
          note: '`const g = m.lock(); g.value += 1; g.unlock()`',
        };
      },
    },
    contended: {
      setup: contendedSetup,
      worker(payload) {
        const m = need(lib, 'receive').receive(payload);
        return (n) => {
          for (let i = 0; i < n; i++) {
            const g = m.lock();
            g.value += 1;
            g.unlock();
          }
        };
      },
    },
    tryLock: {
      setup() {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        const m = new Mutex(i32, 0);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.tryLock();
              if (g) {
                g.value += 1;
                g.unlock();
              }
            }
          },
          read: () => readI32(m),
        };
      },
    },
    lockAsync: {
      setup() {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        const m = new Mutex(i32, 0);
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) {
              const g = await m.lockAsync();
              g.value += 1;
              g.unlock();
            }
          },
          read: () => readI32(m),
          note: '`const g = await m.lockAsync(); g.value += 1; g.unlock()`',
        };
      },
    },
    'lockAsync-contended': {
      setup: contendedSetup,
      worker(payload) {
        const m = need(lib, 'receive').receive(payload);
        return async (n) => {
          for (let i = 0; i < n; i++) {
            const g = await m.lockAsync();
            g.value += 1;
            g.unlock();
          }
        };
      },
    },
    struct: {
      setup() {
        const { Mutex, struct, i32, f64 } = need(lib, 'Mutex', 'struct', 'i32', 'f64');
        const m = new Mutex(struct({ x: i32, y: f64 }), { x: 0, y: 0 });
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.lock();
              const v = g.value;
              v.x = v.x + 1;
              g.unlock();
            }
          },
          read() {
            const g = m.lock();
            const x = g.value.x;
            g.unlock();
            return x;
          },
          note: 'Mutex(struct({ x: i32, y: f64 })), live view `g.value.x`',
        };
      },
    },
    spawn: {
      setup() {
        const { spawn } = need(lib, 'spawn');
        return {
          async once() {
            await spawn(() => {}, []).join();
            return true;
          },
          note: '`await spawn(() => {}, []).join()`',
        };
      },
    },
  };
}
