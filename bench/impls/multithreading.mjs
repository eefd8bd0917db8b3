// Anchor: `multithreading` from npm (W4G1). It needs a global `navigator` (Node >= 21): on Node 20
// its import throws `ReferenceError: navigator is not defined`, reported as unavailable.
// Workers come from its own pool via spawn(move(...), fn); fn is stringified, so it captures nothing.
import { Unavailable, makeControl } from '../lib/measure.mjs';

// Body of one contended worker, run inside the multithreading pool. Self-contained on purpose.
// Mirrors lib/measure.mjs workerBody: ready, block on the start flag, loop, stamp the end.
const contendedTask = async (mutex, box, ops, useAsync) => {
  const ctl = new Int32Array(box.sab, 0, 8);
  const end = new BigInt64Array(box.sab, 32, 1);
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
  if (useAsync) {
    for (let i = 0; i < ops; i++) {
      const g = await mutex.lock();
      g.value[0]++;
      g.dispose();
    }
  } else {
    for (let i = 0; i < ops; i++) {
      const g = mutex.blockingLock();
      g.value[0]++;
      g.dispose();
    }
  }
  const t = process.hrtime.bigint();
  if (Atomics.add(ctl, 2, 1) === 1) Atomics.store(end, 0, t);
  Atomics.notify(ctl, 2);
  return true;
};

// Body of one condvar-pingpong worker in its pool: take turns under the mutex, waiting on the condvar.
// words: [turn, hand-offs]; box.sab: the usual control block (ready, start, done, end time); roles in box.roles.
const pingpongTask = async (mutex, cv, box, ops) => {
  const ctl = new Int32Array(box.sab, 0, 8);
  const end = new BigInt64Array(box.sab, 32, 1);
  const mine = Atomics.add(box.roles, 0, 1) === 0 ? 0 : 1;
  const theirs = 1 - mine;
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
  for (let i = 0; i < ops; i++) {
    const g = mutex.blockingLock();
    while (g.value[0] !== mine) cv.blockingWait(g);
    g.value[1]++;
    g.value[0] = theirs;
    cv.notifyOne();
    g.dispose();
  }
  const t = process.hrtime.bigint();
  if (Atomics.add(ctl, 2, 1) === 1) Atomics.store(end, 0, t);
  Atomics.notify(ctl, 2);
  return true;
};

// Bodies of the semaphore and barrier workers, run inside the multithreading pool (self-contained, as above).
const semaphoreTask = async (sem, box, ops) => {
  const ctl = new Int32Array(box.sab, 0, 8);
  const end = new BigInt64Array(box.sab, 32, 1);
  const counter = new Int32Array(box.sab, 48, 1);
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
  for (let i = 0; i < ops; i++) {
    const g = sem.blockingAcquire(1);
    counter[0]++;
    g.dispose();
  }
  const t = process.hrtime.bigint();
  if (Atomics.add(ctl, 2, 1) === 1) Atomics.store(end, 0, t);
  Atomics.notify(ctl, 2);
  return true;
};

const barrierTask = async (barrier, box, ops) => {
  const ctl = new Int32Array(box.sab, 0, 8);
  const end = new BigInt64Array(box.sab, 32, 1);
  const counter = new Int32Array(box.sab, 48, 1);
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
  for (let i = 0; i < ops; i++) if (barrier.blockingWait().isLeader) counter[0] += 2;
  const t = process.hrtime.bigint();
  if (Atomics.add(ctl, 2, 1) === 1) Atomics.store(end, 0, t);
  Atomics.notify(ctl, 2);
  return true;
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

  // The semaphore and barrier cases: two pool workers run `task(object, { sab }, ops)` on the start flag.
  async function pooled(object, task, ops, timeoutMs, note, perRound) {
    const { sab, ctl, end } = makeControl();
    const counter = new Int32Array(sab, 48, 1);
    const handles = [0, 1].map(() => spawn(move(object, { sab }, ops), task));
    const deadline = Date.now() + timeoutMs;
    const waitCount = async (index, target) => {
      while (Atomics.load(ctl, index) < target) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for workers (${index === 1 ? 'ready' : 'done'})`);
        const r = Atomics.waitAsync(ctl, index, Atomics.load(ctl, index), 100);
        if (r.async) await r.value;
      }
    };
    const failed = Promise.all(handles.map((h) => h.join())).then((rs) => {
      const bad = rs.find((r) => !r.ok);
      if (bad) throw bad.error instanceof Error ? bad.error : new Error(String(bad.error));
      return new Promise(() => {});
    });
    await Promise.race([waitCount(1, 2), failed]);
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await Promise.race([waitCount(2, 2), failed]);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    await Promise.all(handles.map((h) => h.join()));
    const count = counter[0];
    shutdown();
    const total = 2 * ops;
    return {
      ops: perRound ? ops : total,
      totalMs: elapsedNs / 1e6,
      nsPerOp: elapsedNs / (perRound ? ops : total),
      count,
      expected: total,
      correct: count === total,
      note,
    };
  }

  async function contended(ops, useAsync, timeoutMs) {
    const m = counterMutex();
    const { sab, ctl, end } = makeControl();
    const handles = [0, 1].map(() => spawn(move(m, { sab }, ops, useAsync), contendedTask));
    const deadline = Date.now() + timeoutMs;
    const waitCount = async (index, target) => {
      while (Atomics.load(ctl, index) < target) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for workers (${index === 1 ? 'ready' : 'done'})`);
        const r = Atomics.waitAsync(ctl, index, Atomics.load(ctl, index), 100);
        if (r.async) await r.value;
      }
    };
    const failed = Promise.all(handles.map((h) => h.join())).then((rs) => {
      const bad = rs.find((r) => !r.ok);
      if (bad) throw bad.error instanceof Error ? bad.error : new Error(String(bad.error));
      return new Promise(() => {}); // finished fine: never settles, waitCount decides
    });
    await Promise.race([waitCount(1, 2), failed]);
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await Promise.race([waitCount(2, 2), failed]);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    await Promise.all(handles.map((h) => h.join()));
    const count = readCounter(m);
    shutdown();
    const total = 2 * ops;
    return {
      ops: total,
      totalMs: elapsedNs / 1e6,
      nsPerOp: elapsedNs / total,
      count,
      expected: total,
      correct: count === total,
      note: useAsync ? '`await m.lock()` in its own pool' : '`blockingLock()` in its own pool',
    };
  }

  /** condvar-pingpong: n round trips between two pool workers; ns per round trip. */
  async function pingpong(ops, timeoutMs) {
    if (typeof Condvar !== 'function') throw new Unavailable('this multithreading build has no Condvar');
    const m = new Mutex(new Int32Array(new SharedArrayBuffer(8)));
    const cv = new Condvar();
    const { sab, ctl, end } = makeControl();
    const roles = new Int32Array(new SharedArrayBuffer(4));
    const handles = [0, 1].map(() => spawn(move(m, cv, { sab, roles }, ops), pingpongTask));
    const deadline = Date.now() + timeoutMs;
    const waitCount = async (index, target) => {
      while (Atomics.load(ctl, index) < target) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for workers (${index === 1 ? 'ready' : 'done'})`);
        const r = Atomics.waitAsync(ctl, index, Atomics.load(ctl, index), 100);
        if (r.async) await r.value;
      }
    };
    const failed = Promise.all(handles.map((h) => h.join())).then((rs) => {
      const bad = rs.find((r) => !r.ok);
      if (bad) throw bad.error instanceof Error ? bad.error : new Error(String(bad.error));
      return new Promise(() => {});
    });
    await Promise.race([waitCount(1, 2), failed]);
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await Promise.race([waitCount(2, 2), failed]);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    await Promise.all(handles.map((h) => h.join()));
    const g = m.blockingLock();
    const count = g.value[1];
    g.dispose();
    shutdown();
    return {
      ops,
      totalMs: elapsedNs / 1e6,
      nsPerOp: elapsedNs / ops,
      count,
      expected: 2 * ops,
      correct: count === 2 * ops,
      note: '`blockingLock()`, `while (g.value[0] !== mine) cv.blockingWait(g)`, `cv.notifyOne()`, in its own pool; ns per round trip',
    };
  }

  // RwLock anchors (issue 9). 95/5 mirrors the other implementations: op i writes (`+= 1`) when i % 20 === 0.
  const rwlockTask = async (lock, box, ops) => {
    const ctl = new Int32Array(box.sab, 0, 8);
    const end = new BigInt64Array(box.sab, 32, 1);
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
    while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
    let seen = 0;
    for (let i = 0; i < ops; i++) {
      if (i % 20 === 0) {
        const g = lock.blockingWrite();
        g.value[0]++;
        g.dispose();
      } else {
        const g = lock.blockingRead();
        seen ^= g.value[0];
        g.dispose();
      }
    }
    const t = process.hrtime.bigint();
    if (Atomics.add(ctl, 2, 1) === 1) Atomics.store(end, 0, t);
    Atomics.notify(ctl, 2);
    return seen === -1;
  };
  async function rwlockMixed(ops, timeoutMs) {
    const { RwLock } = lib;
    const lock = new RwLock(new Int32Array(new SharedArrayBuffer(4)));
    const { sab, ctl, end } = makeControl();
    const handles = [0, 1].map(() => spawn(move(lock, { sab }, ops), rwlockTask));
    const deadline = Date.now() + timeoutMs;
    const waitCount = async (index, target) => {
      while (Atomics.load(ctl, index) < target) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for workers (${index === 1 ? 'ready' : 'done'})`);
        const r = Atomics.waitAsync(ctl, index, Atomics.load(ctl, index), 100);
        if (r.async) await r.value;
      }
    };
    await waitCount(1, 2);
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await waitCount(2, 2);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    await Promise.all(handles.map((h) => h.join()));
    const g = lock.blockingRead();
    const count = g.value[0] * 20;
    g.dispose();
    shutdown();
    return { ops: 2 * ops, totalMs: elapsedNs / 1e6, nsPerOp: elapsedNs / (2 * ops), count, expected: 2 * ops, correct: count === 2 * ops, note: '`blockingRead()`/`blockingWrite()` in its own pool' };
  }

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
      run: (ops, { timeoutMs }) => pooled(new Semaphore(1), semaphoreTask, ops, timeoutMs, '`blockingAcquire(1)` + `dispose()` in its own pool', false),
    },
    barrier: {
      run: (ops, { timeoutMs }) => pooled(new Barrier(2), barrierTask, ops, timeoutMs, '`blockingWait()` in its own pool; ns per round', true),
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
