// Anchor: async-mutex (npm, DirtyHairy), the most-downloaded JS mutex. In-thread only: its queue
// lives in closures and cannot be shared with a worker, so it takes part in lockAsync only.
import { Unavailable } from '../lib/measure.mjs';

export async function load() {
  let lib;
  try {
    lib = await import('async-mutex');
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
          note: '`const release = await m.acquire(); …; release()`',
        };
      },
    },
    contended: inThreadOnly,
    'lockAsync-contended': inThreadOnly,
  };
}
