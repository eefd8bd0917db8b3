// Timing drivers shared by every implementation. An implementation supplies the loop body;
// the driver owns warm-up, clocks, the start flag and the correctness check.
import v8 from 'node:v8';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export class Unavailable extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Unavailable';
  }
}

const now = () => process.hrtime.bigint();

/**
 * Untimed operations before the timed ones, per thread: min(200k, n/4), rounded down to a multiple of 100 (loops that
 * act every k-th op, like the 95/5 RwLock case's writes, then count exactly). The guarded paths need ~100,000–200,000
 * ops before they run optimized code (docs/measurements.md, "JIT warm-up"); a run without warm-up measures the JIT.
 */
export function warmOpsFor(ops) {
  // Integer arithmetic only: a count computed through a division (a double in V8) made the timed loops' bound a double
  // too, and the uncontended lock loop measured 40 ns instead of 28 in some runs.
  const warm = Math.min(200_000, Math.floor(ops / 4));
  return warm - (warm % 100);
}

/**
 * One thread. `setup()` returns { loop(n), read() }: loop runs n operations (sync or async),
 * read() returns the protected counter. Warm-up: warmOpsFor(n) operations first.
 */
export async function runSingle(handler, ops, ctx = {}) {
  const { loop, read, note } = await handler.setup(ops, ctx);
  const warm = warmOpsFor(ops);
  const w = loop(warm);
  if (w && typeof w.then === 'function') await w;
  const t0 = now();
  const r = loop(ops);
  if (r && typeof r.then === 'function') await r;
  const t1 = now();
  const count = await read();
  const expected = warm + ops;
  const elapsedNs = Number(t1 - t0);
  return {
    ops,
    totalMs: elapsedNs / 1e6,
    nsPerOp: elapsedNs / ops,
    count,
    expected,
    correct: count === expected,
    note,
  };
}

/**
 * Memory per object (bench/lib/cases.mjs kind 'memory'; the process runs with --expose-gc and
 * --single-threaded-gc, so that no concurrent sweeper moves the numbers between two readings).
 * `setup()` returns { make(i), sharedBytes(objects), check(objects), note }: make creates one mutex (or
 * whatever stands for one), sharedBytes says how many bytes of memory shared between threads the objects
 * use in total (undefined: take the growth of V8's shared heap space, for Atomics.Mutex), check returns
 * how many of them still work. 100 objects are made first (code compiled, lazy runtime state created),
 * then ROUNDS rounds of n objects, each into a preallocated array between full GCs, all kept alive; each
 * figure is the median of the rounds, per object:
 *   sharedB  shared memory (SharedArrayBuffer bytes the objects use, or V8 shared-space growth)
 *   heapB    growth of V8's object spaces (new, old, large-object, map; not code, not shared):
 *            thread-local objects (handles, views, closures). JIT code comes and goes by ±200 KB
 *            between readings, so it is left out.
 *   totalB   sharedB + heapB
 *   arrayBuffersB / externalB / heapUsedB  growth of process.memoryUsage() .arrayBuffers / .external / .heapUsed
 *   nsPerOp  time to create one object, including the GC work it causes (rough: n is small)
 */
const MEMORY_ROUNDS = 3;

export async function runMemory(handler, n, ctx = {}) {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('bytes-per-mutex needs --expose-gc (bench/run.mjs passes it)');
  const { make, sharedBytes, check, note } = await handler.setup(n * MEMORY_ROUNDS, ctx);
  const warm = [];
  for (let i = 0; i < 100; i++) warm.push(make(i));
  const spaces = () => {
    let shared = 0;
    let objects = 0;
    for (const s of v8.getHeapSpaceStatistics()) {
      if (s.space_name.includes('shared')) shared += s.space_used_size;
      else if (!s.space_name.includes('code') && !s.space_name.includes('read_only')) objects += s.space_used_size;
    }
    return { shared, objects };
  };
  const reading = () => {
    for (let i = 0; i < 4; i++) gc();
    return { ...process.memoryUsage(), ...spaces() };
  };
  const rounds = [];
  const kept = [];
  let elapsedNs = 0;
  for (let r = 0; r < MEMORY_ROUNDS; r++) {
    const objects = new Array(n).fill(null); // its backing store exists before the first reading
    const base = r * n;
    const m0 = reading();
    const t0 = now();
    for (let i = 0; i < n; i++) objects[i] = make(base + i);
    elapsedNs += Number(now() - t0);
    const m1 = reading();
    const sharedSpaceB = (m1.shared - m0.shared) / n;
    const declared = sharedBytes ? sharedBytes(objects) : undefined;
    const sharedB = declared === undefined ? sharedSpaceB : declared / n;
    const heapB = (m1.objects - m0.objects) / n;
    rounds.push({
      sharedB,
      heapB,
      totalB: sharedB + heapB,
      arrayBuffersB: (m1.arrayBuffers - m0.arrayBuffers) / n,
      externalB: (m1.external - m0.external) / n,
      heapUsedB: (m1.heapUsed - m0.heapUsed) / n,
    });
    kept.push(objects);
  }
  let count = 0;
  for (const objects of kept) count += await check(objects);
  const metrics = {};
  for (const k of Object.keys(rounds[0])) {
    const xs = rounds.map((x) => x[k]).sort((a, b) => a - b);
    metrics[k] = xs[xs.length >> 1];
  }
  const total = n * MEMORY_ROUNDS;
  return {
    ops: total,
    totalMs: elapsedNs / 1e6,
    nsPerOp: elapsedNs / total,
    count,
    expected: total,
    correct: count === total && warm.length === 100,
    metrics,
    rounds,
    note,
  };
}

/**
 * Create-and-drop churn (bench/lib/cases.mjs kind 'churn'; the process runs with --expose-gc).
 * `setup()` returns { make(), check(obj), note }: make creates one object (a mutex) that the loop drops
 * at once (the next one overwrites it), check says whether one still works. 1,000 warm-up cycles, then
 * n timed cycles in two halves, yielding to the event loop every `caseDef.yieldEvery` cycles (timed); between the halves and at the end, readings of process.memoryUsage()
 * after two full GCs (outside the timing). Nothing forces a GC during the timed loop: the GCs V8 runs
 * there by itself are counted (and their time, from perf_hooks 'gc' entries) and reported.
 * If make throws (a table full, memory exhausted), the run stops there and reports how far it got and
 * why: `failure`, count < expected, not correct.
 *   metrics: rss / external / arrayBuffers / heapUsed in MB before, mid (after n/2) and after (after n);
 *            gcCount, gcMs during the timed loop.
 */
export async function runChurn(handler, n, ctx = {}) {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('create-drop needs --expose-gc (bench/run.mjs passes it)');
  const { make, check, note } = await handler.setup(n, ctx);
  const MB = 2 ** 20;
  const reading = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss / MB, external: m.external / MB, arrayBuffers: m.arrayBuffers / MB, heapUsed: m.heapUsed / MB };
  };
  let sink;
  let failure;
  let done = 0;
  let elapsedNs = 0;
  const windows = []; // [start, end] of the timed segments, performance.now() ms
  // FinalizationRegistry callbacks (how a dropped object is reclaimed) only run between tasks: a loop that never
  // yields measures an ever-growing table, not reclamation. Yielding every `yieldEvery` cycles (timed, with the
  // finalizers that run there) measures create + drop + reclaim, as a program that returns to its event loop sees it.
  // Yielding is not enough on V8: a FinalizationRegistry's targets are found dead only by a full (mark-compact) GC,
  // never by a scavenge, and V8 runs few of those for a small heap (measured: ~250,000 dropped objects can be pending
  // at once). `gcEvery` stands in for them: a full gc() every that many cycles, outside the timing (counted in
  // metrics.forcedGcs); the finalizers it lets run are timed, in the next yield.
  const yieldEvery = ctx.caseDef?.yieldEvery ?? 0;
  const gcEvery = ctx.caseDef?.gcEvery ?? 0;
  let forcedGcs = 0;
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const segment = async (k, timed) => {
    let i = 0;
    let excludedNs = 0n;
    const p0 = performance.now();
    const t0 = now();
    try {
      if (yieldEvery > 0) {
        while (i < k) {
          const stop = Math.min(k, i + yieldEvery);
          for (; i < stop; i++) sink = make();
          if (gcEvery > 0 && i % gcEvery === 0) {
            const g0 = now();
            gc();
            excludedNs += now() - g0;
            forcedGcs++;
          }
          await turn();
        }
      } else {
        for (; i < k; i++) sink = make();
      }
    } catch (e) {
      failure = e;
    }
    if (timed) {
      elapsedNs += Number(now() - t0 - excludedNs);
      windows.push([p0, performance.now()]);
      done += i;
    }
    return i;
  };
  const warm = await segment(1000, false);
  const gcs = [];
  const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  const before = reading();
  let mid;
  if (!failure) await segment(n >> 1, true);
  if (!failure) {
    mid = reading();
    await segment(n - (n >> 1), true);
  }
  const after = reading();
  await new Promise((r) => setTimeout(r, 100)); // gc entries are delivered asynchronously (a setImmediate is not enough)
  obs.disconnect();
  const inLoop = gcs.filter((e) => windows.some(([a, b]) => e.startTime >= a && e.startTime <= b));
  const lastOk = sink !== undefined && !failure ? Boolean(await check(sink)) : false;
  const forced = inLoop.filter((e) => e.detail?.flags & 4 /* NODE_PERFORMANCE_GC_FLAGS_FORCED */);
  const metrics = {
    gcCount: inLoop.length - forced.length,
    gcMs: inLoop.reduce((t, e) => t + e.duration, 0) - forced.reduce((t, e) => t + e.duration, 0),
    forcedGcs,
  };
  for (const [k, v] of Object.entries(before)) {
    metrics[`${k}BeforeMB`] = v;
    if (mid) metrics[`${k}MidMB`] = mid[k];
    metrics[`${k}AfterMB`] = after[k];
  }
  return {
    ops: n,
    totalMs: elapsedNs / 1e6,
    nsPerOp: done ? elapsedNs / done : undefined,
    count: done,
    expected: n,
    correct: !failure && done === n && lastOk,
    failure: failure
      ? `${failure.name ?? 'Error'} after ${(warm + done).toLocaleString('en-US')} create/drop cycles (${warm.toLocaleString('en-US')} of them warm-up): ${String(failure.message ?? failure).split('\n')[0]}`
      : !lastOk && done === n
      ? 'the last mutex made did not work (check failed)'
      : undefined,
    metrics,
    note,
  };
}

/** Sequential spawn+join: two warm-ups, then n timed. */
export async function runSpawn(handler, ops, ctx = {}) {
  const { once, note } = await handler.setup(ops, ctx);
  for (let i = 0; i < 2; i++) await once();
  let okCount = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) if (await once()) okCount++;
  const elapsedNs = Number(now() - t0);
  return {
    ops,
    totalMs: elapsedNs / 1e6,
    nsPerOp: elapsedNs / ops,
    count: okCount,
    expected: ops,
    correct: okCount === ops,
    note,
  };
}

// Control block shared by the main thread and the workers of a contended run.
/**
 * The control words of a contended run: workers count READY, wait for START, run their warm-up together, count
 * WARMED, wait for GO (the clock starts), run, raise the end stamp to their own, count DONE.
 */
export const CTL = { START: 0, READY: 1, DONE: 2, FAILED: 3, WARMED: 4, GO: 5 };
export function makeControl() {
  const sab = new SharedArrayBuffer(64);
  return { sab, ctl: new Int32Array(sab, 0, 8), end: new BigInt64Array(sab, 32, 1) };
}

async function waitFor(ctl, index, target, deadline, failed) {
  for (;;) {
    const v = Atomics.load(ctl, index);
    if (v >= target) return;
    if (failed.error) throw failed.error;
    if (Atomics.load(ctl, CTL.FAILED) !== 0 && !failed.error) {
      // A worker reported failure; give its error message a moment to arrive.
      await new Promise((r) => setTimeout(r, 200));
      throw failed.error ?? new Error('a worker failed');
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${target - v} worker(s)`);
    const res = Atomics.waitAsync(ctl, index, v, Math.min(left, 100));
    if (res.async) await res.value;
  }
}

/**
 * Two (or `threads`) workers, each runs bench/lib/worker.mjs, which loads the same implementation
 * module and gets its loop from `handler.worker(payload)`. The workers first run warmOpsFor(ops) operations each,
 * together (so the contended paths warm up too), untimed. Time runs from setting the GO flag to the moment the last
 * worker finishes (the latest of the workers' end stamps), so worker start-up and warm-up are excluded; the count must be
 * (warm-up + ops) × threads.
 */
export async function runContended(implName, caseName, handler, ops, { threads = 2, timeoutMs = 50_000 } = {}) {
  const { payload, read, note, transferList } = await handler.setup(ops);
  const { sab, ctl, end } = makeControl();
  const failed = {};
  const workers = [];
  for (let t = 0; t < threads; t++) {
    const w = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { impl: implName, case: caseName, ops, ctl: sab, payload, threads },
      transferList,
    });
    w.on('error', (e) => { failed.error ??= e; });
    w.on('messageerror', (e) => { failed.error ??= e; });
    w.on('message', (m) => { if (m && m.error) failed.error ??= Object.assign(new Error(m.error), { stack: m.stack }); });
    w.on('exit', (code) => {
      if (Atomics.load(ctl, CTL.DONE) < threads && !failed.error) {
        failed.error = new Error(`worker exited with code ${code} before finishing`);
      }
    });
    workers.push(w);
  }
  const deadline = Date.now() + timeoutMs;
  try {
    await waitFor(ctl, CTL.READY, threads, deadline, failed);
    Atomics.store(ctl, CTL.START, 1);
    Atomics.notify(ctl, CTL.START);
    await waitFor(ctl, CTL.WARMED, threads, deadline, failed);
    const t0 = now();
    Atomics.store(ctl, CTL.GO, 1);
    Atomics.notify(ctl, CTL.GO);
    await waitFor(ctl, CTL.DONE, threads, deadline, failed);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    const count = await read();
    const total = ops * threads;
    const expected = (warmOpsFor(ops) + ops) * threads;
    return {
      ops: total,
      totalMs: elapsedNs / 1e6,
      nsPerOp: elapsedNs / total,
      count,
      expected,
      correct: count === expected,
      note,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()));
  }
}

/** Used inside a worker (or any thread): announce ready, block on the flag, warm up, block on GO, run, stamp the end. */
export async function workerBody(ctlSab, threadsLoop, ops, threads = 2) {
  const ctl = new Int32Array(ctlSab, 0, 8);
  const end = new BigInt64Array(ctlSab, 32, 1);
  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);
  while (Atomics.load(ctl, CTL.START) === 0) Atomics.wait(ctl, CTL.START, 0, 1000);
  const w = threadsLoop(warmOpsFor(ops));
  if (w && typeof w.then === 'function') await w;
  Atomics.add(ctl, CTL.WARMED, 1);
  Atomics.notify(ctl, CTL.WARMED);
  while (Atomics.load(ctl, CTL.GO) === 0) Atomics.wait(ctl, CTL.GO, 0, 1000);
  const r = threadsLoop(ops);
  if (r && typeof r.then === 'function') await r;
  // The end is the latest stamp, written before this worker counts itself done: the main thread reads it once all
  // are done (the last to count itself done may not be the last to stamp, nor have stamped before the others count).
  const t = now();
  for (let seen = Atomics.load(end, 0); seen < t; ) {
    const was = Atomics.compareExchange(end, 0, seen, t);
    if (was === seen) break;
    seen = was;
  }
  Atomics.add(ctl, CTL.DONE, 1);
  Atomics.notify(ctl, CTL.DONE);
}
