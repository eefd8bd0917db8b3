// The library under test, from its build output (dist/, made by `npm run build`). Every missing
// file, failed import or missing export is reported as "not built" for that case, never a crash.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Unavailable, runContended } from '../lib/measure.mjs';
import { compareDist } from '../lib/compare.mjs';
import { idiomLoop } from './idioms.mjs';
import { roundTrips } from '../lib/rawcondvar.mjs';
import { barrierRounds } from '../lib/barrier-case.mjs';
import { atomicCases } from './threadsafe-atomics.mjs';
import { threadsafeChannelCases } from '../lib/channel-cases.mjs';

// Which build to measure. `threadsafe`: this tree's dist/ (BENCH_THREADSAFE_DIST=/path/to/index.js measures
// another build instead, e.g. a stand-in while dist/ is missing). `threadsafe@<sha>`: the dist/ of another
// commit, built by `run.mjs --compare <ref>` (lib/compare.mjs); the cases below are this tree's either way.
function distFor(name) {
  if (name && name !== 'threadsafe') {
    const c = compareDist(name);
    if (!c) throw new Unavailable(`threadsafe.mjs has no implementation "${name}"`);
    if (c.missing) throw new Unavailable(`${name}: not built: ${c.missing}`);
    return { url: pathToFileURL(c.dist), who: name };
  }
  const url = process.env.BENCH_THREADSAFE_DIST
    ? pathToFileURL(process.env.BENCH_THREADSAFE_DIST)
    : new URL('../../dist/index.js', import.meta.url);
  return { url, who: 'threadsafe' };
}

async function importLib({ url, who }) {
  if (!existsSync(fileURLToPath(url))) throw new Unavailable(`${who}: not built (run npm run build)`);
  try {
    return await import(url.href);
  } catch (e) {
    throw new Unavailable(`${who}: not built (run npm run build): importing dist/index.js failed: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
}

// Internals (the deadlock and bytes-per-mutex cases use them; their notes say so): modules of the same build.
async function importInternalOf({ url: dist, who }, path) {
  const url = new URL(path, dist);
  if (!existsSync(fileURLToPath(url))) throw new Unavailable(`${who}: not built, or no ${path} in this build (run npm run build)`);
  try {
    return await import(url.href);
  } catch (e) {
    throw new Unavailable(`${who}: importing ${path} failed: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
}

function needFrom(mod, path, ...names) {
  const missing = names.filter((n) => mod[n] === undefined);
  if (missing.length) throw new Unavailable(`threadsafe: ${path} does not export ${missing.join(', ')}`);
  return mod;
}

/**
 * deadlock-N: a wait-for cycle of N threads built by hand in a private runtime (no workers): thread i owns
 * lock i; threads 1..N-1 are published as waiting for lock (i + 1) % N. One iteration is what thread 0 does
 * before it would sleep on lock 1: publishWait + findDeadlock (walk + double-collect validation) +
 * unpublishWait. Its ticket is always the newest, so it is the one that must report, and findDeadlock must
 * return the N-thread cycle every time (counted: the run is incorrect otherwise).
 * Variant no-cycle: thread 0 waits for a lock whose owner is running (not waiting): the walk stops at once.
 */
async function deadlockCase(importInternal, n, variant) {
  const { Runtime } = needFrom(await importInternal('./internal.js'), 'internal.js', 'Runtime');
  const detect = needFrom(await importInternal('./internal.js'), 'internal.js', 'publishWait', 'findDeadlock', 'unpublishWait');
  const internal = await importInternal('./internal.js');
  const { OWNER_SHIFT = 3, LOCKED = 1, LockKind = { Mutex: 1 }, ObjectKind = LockKind, WaitKind = { Lock: 1 } } = internal;
  // Builds before the core rework name locks "lock" and wait without a wait kind; later ones name objects.
  const allocate = (rt, name) =>
    rt.allocateLock ? rt.allocateLock(LockKind.Mutex, name, undefined, 1) : internal.allocateObject(rt, ObjectKind.Mutex, name, undefined, 1);
  const wordIndex = (rt, id) => (rt.lockWordIndex ? rt.lockWordIndex(id) : rt.stateIndex(id));
  const publishWait = (rt, t, id) => detect.publishWait(rt, t, id, WaitKind.Lock);
  const findDeadlock = (rt, me, id, ticket) =>
    detect.findDeadlock.length === 4 ? detect.findDeadlock(rt, me, id, ticket) : detect.findDeadlock(rt, me, id, WaitKind.Lock, ticket);
  const { unpublishWait } = detect;
  const rt = Runtime.create(1024);
  const threads = [];
  const locks = [];
  for (let i = 0; i < n; i++) threads.push(rt.allocateThread(`bench-${i}`));
  for (let i = 0; i < n; i++) locks.push(allocate(rt, `bench-lock-${i}`));
  for (let i = 0; i < n; i++) Atomics.store(rt.words, wordIndex(rt, locks[i]), (threads[i] << OWNER_SHIFT) | LOCKED);
  for (let i = 1; i < n; i++) publishWait(rt, threads[i], locks[(i + 1) % n]);
  const me = threads[0];
  let want = locks[1];
  let expectCycle = true;
  if (variant === 'no-cycle') {
    // Its owner runs: allocated, holds the lock, waits for nothing.
    const runner = rt.allocateThread('bench-running-owner');
    want = allocate(rt, 'bench-lock-running');
    Atomics.store(rt.words, wordIndex(rt, want), (runner << OWNER_SHIFT) | LOCKED);
    expectCycle = false;
  }
  // One checked call, before timing: the cycle found must be exactly this one.
  const first = findDeadlock(rt, me, want, publishWait(rt, me, want));
  unpublishWait(rt, me);
  if (expectCycle) {
    const ok = first && first.threads.length === n && first.threads.every((t, i) => t === threads[i]) && first.waits.every((l, i) => l === locks[(i + 1) % n]);
    if (!ok) throw new Error(`findDeadlock did not return the ${n}-thread cycle: ${JSON.stringify(first)}`);
  } else if (first !== undefined) {
    throw new Error(`findDeadlock reported a cycle where there is none: ${JSON.stringify(first)}`);
  }
  let good = 0;
  return {
    loop(count) {
      for (let i = 0; i < count; i++) {
        const cycle = findDeadlock(rt, me, want, publishWait(rt, me, want));
        unpublishWait(rt, me);
        if (expectCycle ? cycle !== undefined && cycle.threads.length === n : cycle === undefined) good++;
      }
    },
    read: () => good,
    note:
      variant === 'no-cycle'
        ? 'internals (dist/internal.js): publishWait + findDeadlock + unpublishWait on a lock held by a running thread; one thread, no workers'
        : `internals (dist/internal.js): publishWait + findDeadlock + unpublishWait closing a hand-built ${n}-thread cycle (thread i owns lock i, waits for lock i+1); one thread, no workers; every call must return the cycle`,
  };
}

function need(lib, ...names) {
  const missing = names.filter((n) => lib[n] === undefined);
  if (missing.length) throw new Unavailable(`threadsafe: this build's dist/index.js does not export ${missing.join(', ')}`);
  return lib;
}

/**
 * condvar-pingpong: two workers take turns under one Mutex (struct { turn, count }), waiting on one Condvar:
 * `lock; while (turn !== mine) cv.wait(g); count++; turn = theirs; cv.notifyOne(); unlock`. Variant async: the
 * same with `await m.lockAsync()` and `await cv.waitAsync(g)`. The count must be 2 per round trip.
 */
function condvarPingpong(lib, implName) {
  const handler = {
    setup() {
      const { Mutex, Condvar, struct, i32, share } = need(lib, 'Mutex', 'Condvar', 'struct', 'i32', 'share', 'receive');
      const m = new Mutex(struct({ turn: i32, count: i32 }), { turn: 0, count: 0 }, { name: 'bench-turn' });
      const cv = new Condvar({ name: 'bench-turn-cv' });
      const roles = new Int32Array(new SharedArrayBuffer(4));
      return { payload: { message: share({ m, cv }), roles }, read: () => m.get().count };
    },
    worker({ message, roles }, _ops) {
      const { m, cv } = need(lib, 'receive').receive(message);
      const mine = Atomics.add(roles, 0, 1) === 0 ? 0 : 1;
      const theirs = 1 - mine;
      const variant = process.env.BENCH_VARIANT;
      if (variant === 'async') {
        return async (n) => {
          for (let i = 0; i < n; i++) {
            const g = await m.lockAsync();
            while (g.value.turn !== mine) await cv.waitAsync(g);
            g.value.count += 1;
            g.value.turn = theirs;
            cv.notifyOne();
            g.unlock();
          }
        };
      }
      return (n) => {
        for (let i = 0; i < n; i++) {
          const g = m.lock();
          while (g.value.turn !== mine) cv.wait(g);
          g.value.count += 1;
          g.value.turn = theirs;
          cv.notifyOne();
          g.unlock();
        }
      };
    },
  };
  return {
    ...handler,
    async run(n, ctx) {
      // The workers learn the variant through the environment they inherit (worker.mjs passes no variant).
      if (ctx.variant) process.env.BENCH_VARIANT = ctx.variant;
      return roundTrips(implName, handler, ctx.variant === 'async'
        ? '`await m.lockAsync()`, `while (g.value.turn !== mine) await cv.waitAsync(g)`, `cv.notifyOne()`; ns per round trip'
        : '`m.lock()`, `while (g.value.turn !== mine) cv.wait(g)`, `cv.notifyOne()`, `g.unlock()`; ns per round trip').run(n, ctx);
    },
  };
}

function readI32(m) {
  const g = m.lock();
  const v = g.value;
  g.unlock();
  return v;
}

export async function load(name) {
  const dist = distFor(name);
  const lib = await importLib(dist);
  const importInternal = (path) => importInternalOf(dist, path);

  const contendedSetup = () => {
    const { Mutex, i32, share } = need(lib, 'Mutex', 'i32', 'share', 'receive');
    const m = new Mutex(i32, 0, { name: 'bench-counter' });
    return { payload: share(m), read: () => readI32(m) };
  };

  // RwLock cases (issue 9): variant `mutex` runs a Mutex doing the same job, `write` takes write() instead of read().
  const rwlockRead = {
    setup(ops, { variant }) {
      const { RwLock, Mutex, i32 } = need(lib, 'RwLock', 'Mutex', 'i32');
      let sum = 0;
      if (variant === 'mutex') {
        const m = new Mutex(i32, 1);
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.lock();
              sum += g.value;
              g.unlock();
            }
          },
          read: () => sum,
          note: '`const g = m.lock(); sum += g.value; g.unlock()` (Mutex)',
        };
      }
      const l = new RwLock(i32, 1);
      if (variant === 'write') {
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = l.write();
              sum += g.value;
              g.unlock();
            }
          },
          read: () => sum,
          note: '`const g = l.write(); sum += g.value; g.unlock()`',
        };
      }
      return {
        loop(n) {
          for (let i = 0; i < n; i++) {
            const g = l.read();
            sum += g.value;
            g.unlock();
          }
        },
        read: () => sum,
        note: '`const g = l.read(); sum += g.value; g.unlock()`',
      };
    },
  };
  // 95/5: op i of a worker writes (`g.value += 1`) when i % 20 === 0, else reads; the count is writes × 20.
  const rwlockMixed = (caseName) => {
    const handler = {
      setup(ops, variant) {
        const { RwLock, Mutex, i32, share } = need(lib, 'RwLock', 'Mutex', 'i32', 'share');
        const lock = variant === 'mutex' ? new Mutex(i32, 0, { name: 'bench-mutex' }) : new RwLock(i32, 0, { name: 'bench-rwlock' });
        const read = () => (variant === 'mutex' ? readI32(lock) : lock.get()) * 20;
        return { payload: { variant, message: share(lock) }, read };
      },
      worker({ variant, message }) {
        const lock = need(lib, 'receive').receive(message);
        if (variant === 'mutex') {
          return (n) => {
            let seen = 0;
            for (let i = 0; i < n; i++) {
              const g = lock.lock();
              if (i % 20 === 0) g.value += 1;
              else seen ^= g.value;
              g.unlock();
            }
            return seen === -1 ? undefined : undefined;
          };
        }
        return (n) => {
          let seen = 0;
          for (let i = 0; i < n; i++) {
            if (i % 20 === 0) {
              const g = lock.write();
              g.value += 1;
              g.unlock();
            } else {
              const g = lock.read();
              seen ^= g.value;
              g.unlock();
            }
          }
          return seen === -1 ? undefined : undefined;
        };
      },
      run(n, { timeoutMs, variant, caseDef }) {
        return runContended(name ?? 'threadsafe', caseName, { setup: (ops) => handler.setup(ops, variant) }, n, { timeoutMs, threads: caseDef.threads ?? 2 });
      },
    };
    return handler;
  };

  return {
    'rwlock-read': rwlockRead,
    'rwlock-95-5': rwlockMixed('rwlock-95-5'),
    'rwlock-95-5-4t': rwlockMixed('rwlock-95-5-4t'),
    ...atomicCases(lib),
    uncontended: {
      // No variant: the explicit `lock()`/`unlock()` row (the goal row). Variants: the other ways to write the
      // same critical section (idioms.mjs); each needs its API in this build, else it is reported as n/a.
      async setup(ops, { variant }) {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        const m = new Mutex(i32, 0);
        const read = () => readI32(m);
        if (variant !== undefined) return { ...(await idiomLoop(variant, m, dist.who)), read };
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = m.lock();
              g.value += 1;
              g.unlock();
            }
          },
          read,
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
    'condvar-pingpong': condvarPingpong(lib, name ?? 'threadsafe'),
    ...threadsafeChannelCases(lib, dist.url),
    'deadlock-2': { setup: (ops, { variant }) => deadlockCase(importInternal, 2, variant) },
    'deadlock-8': { setup: (ops, { variant }) => deadlockCase(importInternal, 8, variant) },
    'lock-order': {
      // Hold A, then N × (B.lock(); value += 1; unlock) with plain lock(): what a user pays. With lockOrder
      // "warn" every lock() leaves the fast path (tracking) and checks the held locks against the known edges;
      // A → B is recorded on the first iteration (warm-up), so the timed loop is the warm case.
      setup(ops, { variant }) {
        const { Mutex, i32, configure } = need(lib, 'Mutex', 'i32', 'configure');
        const reports = [];
        configure({ lockOrder: variant, onReport: (r) => reports.push(r) });
        const a = new Mutex(i32, 0, { name: 'bench-A' });
        const b = new Mutex(i32, 0, { name: 'bench-B' });
        const held = a.lock();
        return {
          loop(n) {
            for (let i = 0; i < n; i++) {
              const g = b.lock();
              g.value += 1;
              g.unlock();
            }
          },
          read() {
            held.unlock();
            const count = readI32(b);
            // Prove the mode was live: take the opposite order once; "warn" must report exactly that inversion.
            const gb = b.lock();
            const ga = a.lock();
            ga.unlock();
            gb.unlock();
            const want = variant === 'warn' ? 1 : 0;
            if (reports.length !== want) {
              throw new Error(`lockOrder "${variant}": ${reports.length} lock-order reports after B → A, expected ${want}${reports[0] ? `: ${reports[0].message.split('\n')[0]}` : ''}`);
            }
            return count;
          },
          note: `holding A: \`const g = b.lock(); g.value += 1; g.unlock()\`, configure({ lockOrder: "${variant}" }); afterwards B → A must give ${variant === 'warn' ? 'one report' : 'no report'}`,
        };
      },
    },
    'bytes-per-mutex': {
      async setup() {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        const internal = await importInternal('./internal.js');
        // Before the core rework: a lock record and `toHandle`; after: an object record, plus one reference-table
        // entry for the thread that holds it, and the core's data buffer.
        const recordBytes = internal.OBJECT_RECORD_WORDS
          ? internal.OBJECT_RECORD_WORDS * 4 + internal.REF_WORDS * 4
          : needFrom(internal, 'internal.js', 'LOCK_RECORD_WORDS').LOCK_RECORD_WORDS * 4;
        const dataOf = internal.mutexCoreOf ? (m) => internal.mutexCoreOf(m).data : (m) => m[internal.toHandle]().data;
        const dataBytes = dataOf(new Mutex(i32, 0)).byteLength; // (also creates the runtime)
        return {
          make: () => new Mutex(i32, 0),
          sharedBytes(ms) {
            let bytes = 0;
            for (const m of ms) bytes += recordBytes + dataOf(m).byteLength;
            return bytes;
          },
          check(ms) {
            let ok = 0;
            for (const m of ms) if (readI32(m) === 0) ok++;
            return ok;
          },
          note:
            `\`new Mutex(i32, 0)\`: shared = ${recordBytes} bytes of records in the runtime buffer (preallocated, so not in the ` +
            `arrayBuffers growth) + its own data buffer of ${dataBytes} B (8-byte header + the i32 padded to 8), read through internals (dist/internal.js)`,
        };
      },
    },
    'create-drop': {
      setup() {
        const { Mutex, i32 } = need(lib, 'Mutex', 'i32');
        return {
          make: () => new Mutex(i32, 0),
          check: (m) => readI32(m) === 0,
          note:
            '`new Mutex(i32, 0)`, dropped at once (the next one overwrites the only reference); nothing is disposed explicitly. ' +
            'The loop yields to the event loop (setImmediate) every 1,000 cycles: FinalizationRegistry callbacks, which give a dropped ' +
            "mutex's record back to the runtime, only run between tasks, so a loop that never yields fills the 65,536-object table",
        };
      },
    },
    semaphore: {
      setup() {
        const { Semaphore, share } = need(lib, 'Semaphore', 'share', 'receive');
        const counter = new Int32Array(new SharedArrayBuffer(4));
        return { payload: { sem: share(new Semaphore(1, { name: 'bench-permits' })), counter }, read: () => counter[0], note: '`const p = sem.acquire(); c[0]++; p.release()`' };
      },
      worker({ sem: handle, counter }) {
        const sem = need(lib, 'receive').receive(handle);
        return (n) => {
          for (let i = 0; i < n; i++) {
            const p = sem.acquire();
            counter[0]++;
            p.release();
          }
        };
      },
    },
    barrier: barrierRounds(name ?? 'threadsafe', {
      setup() {
        const { Barrier, share } = need(lib, 'Barrier', 'share', 'receive');
        const counter = new Int32Array(new SharedArrayBuffer(4));
        return { payload: { barrier: share(new Barrier(2, { name: 'bench-rounds' })), counter }, read: () => counter[0], note: '`if (barrier.wait().isLeader) c[0] += 2`' };
      },
      worker({ barrier: handle, counter }) {
        const barrier = need(lib, 'receive').receive(handle);
        return (n) => {
          for (let i = 0; i < n; i++) if (barrier.wait().isLeader) counter[0] += 2;
        };
      },
    }),
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
