// Anchor: async-mutex (npm, DirtyHairy), the most-downloaded JS mutex. In-thread only: its queue
// lives in closures and cannot be shared with a worker, so it takes part in lockAsync only.
//
// Loaded through its CommonJS entry (lib/index.js): the anchor at its best. Its ESM entry (index.mjs, what a plain
// `import` resolves to) measured 3.5-6 µs per acquire+release here, the CommonJS entry of the same release 0.45-1.5 µs.
import { createRequire } from 'node:module';
import { Unavailable } from '../lib/measure.mjs';

export async function load() {
  let lib;
  try {
    lib = createRequire(import.meta.url)('async-mutex');
  } catch (e) {
    throw new Unavailable(`${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
  const { Mutex } = lib;
  const inThreadOnly = { run() { throw new Unavailable('in-thread only: cannot be shared with a worker'); } };
  return {
    lockAsync: {
      setup() {
        const m = new Mutex();
        let c = 0;
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) {
              const release = await m.acquire();
              c++;
              release();
            }
          },
          read: () => c,
          note: '`const release = await m.acquire(); …; release()` (CommonJS entry: its fastest)',
        };
      },
    },
    contended: inThreadOnly,
    'lockAsync-contended': inThreadOnly,
  };
}
