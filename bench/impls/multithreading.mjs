// Anchor: `multithreading` from npm (W4G1). It needs a global `navigator` (Node >= 21): on Node 20
// its import throws `ReferenceError: navigator is not defined`, reported as unavailable.
// Workers come from its own pool via spawn(move(...), fn); fn is stringified, so it captures nothing.
import { CTL, Unavailable, makeControl, warmOpsFor } from '../lib/measure.mjs';

// The body of every contended worker, run inside the multithreading pool (self-contained on purpose: the pool
// stringifies it). Mirrors lib/measure.mjs workerBody: ready, block on START, run `warm` untimed operations together,
// count WARMED, block on GO (the clock starts), run `ops`, raise the end stamp to its own, count DONE. `kind` picks the operation;
// box.sab is the control block (lib/measure.mjs CTL), with a counter at byte 48; box.roles for the ping-pong.
const phasedTask = async (kind, object, box, ops, warm, useAsync, cv) => {
  const ctl = new Int32Array(box.sab, 0, 8);
  const end = new BigInt64Array(box.sab, 32, 1);
  const counter = new Int32Array(box.sab, 48, 1);
  const [START, READY, DONE, WARMED, GO] = [0, 1, 2, 4, 5];
  const mine = kind === 'pingpong' ? (Atomics.add(box.roles, 0, 1) === 0 ? 0 : 1) : 0;
  let seen = 0;
  const run = async (n) => {
    if (kind === 'contended' && useAsync) {
      for (let i = 0; i < n; i++) {
        const g = await object.lock();
        g.value[0]++;
        g.dispose();
      }
    } else if (kind === 'contended') {
      for (let i = 0; i < n; i++) {
        const g = object.blockingLock();
        g.value[0]++;
        g.dispose();
      }
    } else if (kind === 'pingpong') {
      for (let i = 0; i < n; i++) {
        const g = object.blockingLock();
        while (g.value[0] !== mine) cv.blockingWait(g);
        g.value[1]++;
        g.value[0] = 1 - mine;
        cv.notifyOne();
        g.dispose();
      }
    } else if (kind === 'semaphore') {
      for (let i = 0; i < n; i++) {
        const g = object.blockingAcquire(1);
        counter[0]++;
        g.dispose();
      }
    } else if (kind === 'barrier') {
      for (let i = 0; i < n; i++) if (object.blockingWait().isLeader) counter[0] += 2;
    } else if (kind === 'rwlock') {
      // 95/5, as the other implementations: op i writes (`+= 1`) when i % 20 === 0
      for (let i = 0; i < n; i++) {
        if (i % 20 === 0) {
          const g = object.blockingWrite();
          g.value[0]++;
          g.dispose();
        } else {
          const g = object.blockingRead();
          seen ^= g.value[0];
          g.dispose();
        }
      }
    }
  };
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  while (Atomics.load(ctl, START) === 0) Atomics.wait(ctl, START, 0, 1000);
  await run(warm);
  Atomics.add(ctl, WARMED, 1);
  Atomics.notify(ctl, WARMED);
  while (Atomics.load(ctl, GO) === 0) Atomics.wait(ctl, GO, 0, 1000);
  await run(ops);
  // The latest stamp, written before counting done (as bench/lib/measure.mjs's workerBody).
  const t = process.hrtime.bigint();
  for (let stamped = Atomics.load(end, 0); stamped < t; ) {
    const was = Atomics.compareExchange(end, 0, stamped, t);
    if (was === stamped) break;
    stamped = was;
  }
  Atomics.add(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
  return seen !== -1;
};

export async function load() {
  let lib;
  try {
    lib = await import('multithreading');
  } catch (e) {
    throw new Unavailable(`${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
  const { Mutex, Condvar, SharedJsonBuffer, Semaphore, Barrier, spawn, move, shutdown } = lib;
  const counterMutex = () => new Mutex(new Int32Array(new SharedArrayBuffer(4)));
  const readCounter = (m) => {
    const g = m.blockingLock();
    const v = g.value[0];
    g.dispose();
    return v;
  };

  /**
   * Two pool workers run phasedTask(kind, object, …) (lib/measure.mjs runContended's protocol: warm-up untimed, then
   * timed from GO to the last worker's end); returns the elapsed ns, and `count(counter)` (read after both joined)
   * against the expected 2 × (warm-up + ops).
   */
  async function runPool(kind, object, ops, timeoutMs, { useAsync = false, cv, count }) {
    const { sab, ctl, end } = makeControl();
    const roles = new Int32Array(new SharedArrayBuffer(4));
    const warm = warmOpsFor(ops);
    const handles = [0, 1].map(() => spawn(move(kind, object, { sab, roles }, ops, warm, useAsync, cv), phasedTask));
    const deadline = Date.now() + timeoutMs;
    const waitCount = async (index, target) => {
      while (Atomics.load(ctl, index) < target) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for workers (control word ${index})`);
        const r = Atomics.waitAsync(ctl, index, Atomics.load(ctl, index), 100);
        if (r.async) await r.value;
      }
    };
    const failed = Promise.all(handles.map((h) => h.join())).then((rs) => {
      const bad = rs.find((r) => !r.ok);
      if (bad) throw bad.error instanceof Error ? bad.error : new Error(String(bad.error));
      return new Promise(() => {}); // finished fine: never settles, waitCount decides
    });
    await Promise.race([waitCount(CTL.READY, 2), failed]);
    Atomics.store(ctl, CTL.START, 1);
    Atomics.notify(ctl, CTL.START);
    await Promise.race([waitCount(CTL.WARMED, 2), failed]);
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, CTL.GO, 1);
    Atomics.notify(ctl, CTL.GO);
    await Promise.race([waitCount(CTL.DONE, 2), failed]);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    await Promise.all(handles.map((h) => h.join()));
    const counted = count(new Int32Array(sab, 48, 1)[0]);
    shutdown();
    const expected = 2 * (warm + ops);
    return { elapsedNs, count: counted, expected, correct: counted === expected };
  }

  /** A run of 2 × ops operations, reported per operation (or per round/round trip: `perRound`). */
  async function pooled(kind, object, ops, timeoutMs, note, { perRound = false, ...options }) {
    const { elapsedNs, count, expected, correct } = await runPool(kind, object, ops, timeoutMs, options);
    const reported = perRound ? ops : 2 * ops;
    return { ops: reported, totalMs: elapsedNs / 1e6, nsPerOp: elapsedNs / reported, count, expected, correct, note };
  }

  const contended = (ops, useAsync, timeoutMs) => {
    const m = counterMutex();
    return pooled('contended', m, ops, timeoutMs, useAsync ? '`await m.lock()` in its own pool' : '`blockingLock()` in its own pool', {
      useAsync,
      count: () => readCounter(m),
    });
  };
  /** condvar-pingpong: n round trips between two pool workers; ns per round trip. Words: [turn, hand-offs]. */
  const pingpong = (ops, timeoutMs) => {
    if (typeof Condvar !== 'function') throw new Unavailable('this multithreading build has no Condvar');
    const m = new Mutex(new Int32Array(new SharedArrayBuffer(8)));
    return pooled('pingpong', m, ops, timeoutMs, '`blockingLock()`, `while (g.value[0] !== mine) cv.blockingWait(g)`, `cv.notifyOne()`, in its own pool; ns per round trip', {
      perRound: true,
      cv: new Condvar(),
      count: () => {
        const g = m.blockingLock();
        const v = g.value[1];
        g.dispose();
        return v;
      },
    });
  };
  // RwLock anchor (issue 9): 95/5 mirrors the other implementations.
  const rwlockMixed = (ops, timeoutMs) => {
    const lock = new lib.RwLock(new Int32Array(new SharedArrayBuffer(4)));
    return pooled('rwlock', lock, ops, timeoutMs, '`blockingRead()`/`blockingWrite()` in its own pool', {
      count: () => {
        const g = lock.blockingRead();
        const v = g.value[0];
        g.dispose();
        return v * 20;
      },
    });
  };

  return {
    'condvar-pingpong': { run: (ops, { timeoutMs }) => pingpong(ops, timeoutMs) },
    'rwlock-read': {
      setup() {
        const lock = new lib.RwLock(new Int32Array(new SharedArrayBuffer(4)).fill(1));
        let sum = 0;
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = lock.blockingRead();
              sum += g.value[0];
              g.dispose();
            }
          },
          read: () => sum,
          note: '`blockingRead()` + `dispose()`',
        };
      },
    },
    'rwlock-95-5': { run: (ops, { timeoutMs }) => rwlockMixed(ops, timeoutMs) },
    uncontended: {
      setup() {
        const m = counterMutex();
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.blockingLock();
              g.value[0]++;
              g.dispose();
            }
          },
          read: () => readCounter(m),
          note: '`blockingLock()` + `dispose()`',
        };
      },
    },
    contended: { run: (ops, { timeoutMs }) => contended(ops, false, timeoutMs) },
    semaphore: {
      run: (ops, { timeoutMs }) => pooled('semaphore', new Semaphore(1), ops, timeoutMs, '`blockingAcquire(1)` + `dispose()` in its own pool', { count: (c) => c }),
    },
    barrier: {
      run: (ops, { timeoutMs }) => pooled('barrier', new Barrier(2), ops, timeoutMs, '`blockingWait()` in its own pool; ns per round', { perRound: true, count: (c) => c }),
    },
    'lockAsync-contended': { run: (ops, { timeoutMs }) => contended(ops, true, timeoutMs) },
    tryLock: {
      run() {
        throw new Unavailable('Mutex has no tryLock in multithreading@0.3.52 (the README names one)');
      },
    },
    lockAsync: {
      setup() {
        const m = counterMutex();
        return {
          async loop(n) {
            for (let i = 0; i < n; i++) {
              const g = await m.lock();
              g.value[0]++;
              g.dispose();
            }
          },
          read: () => readCounter(m),
          note: '`await m.lock()` + `dispose()`',
        };
      },
    },
    struct: {
      setup() {
        const m = new Mutex(new SharedJsonBuffer({ x: 0, y: 0 }));
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.blockingLock();
              const s = g.value;
              s.x = s.x + 1;
              g.dispose();
            }
          },
          read() {
            const g = m.blockingLock();
            const v = g.value.x;
            g.dispose();
            return v;
          },
          note: 'Mutex(SharedJsonBuffer({ x, y })), its shared-object type',
        };
      },
    },
    'bytes-per-mutex': {
      setup() {
        return {
          make: counterMutex,
          // From its source (src/lib/sync/mutex.js): the lock word is its own 4-byte SharedArrayBuffer; the data here is another 4.
          sharedBytes: (ms) => ms.length * (4 + 4),
          check(ms) {
            let ok = 0;
            for (const m of ms) if (readCounter(m) === 0) ok++;
            return ok;
          },
          note: '`new Mutex(new Int32Array(new SharedArrayBuffer(4)))`: its lock word in its own 4-byte SharedArrayBuffer (from its source) + the 4-byte data buffer',
        };
      },
    },
    'create-drop': {
      setup() {
        return {
          make: counterMutex,
          check: (m) => readCounter(m) === 0,
          note: '`new Mutex(new Int32Array(new SharedArrayBuffer(4)))`, dropped at once',
        };
      },
    },
    spawn: {
      setup() {
        return {
          async once() {
            const r = await spawn(() => {}).join();
            return r.ok === true;
          },
          note: 'pooled: workers are reused after the first spawn',
        };
      },
    },
  };
}
