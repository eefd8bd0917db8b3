// Timing drivers shared by every implementation. An implementation supplies the loop body;
// the driver owns warm-up, clocks, the start flag and the correctness check.
import { Worker } from 'node:worker_threads';

export class Unavailable extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Unavailable';
  }
}

const now = () => process.hrtime.bigint();

/**
 * One thread. `setup()` returns { loop(n), read() }: loop runs n operations (sync or async),
 * read() returns the protected counter. Warm-up is min(200k, n/4) operations, as in
 * reference/js-anchors.md §3.
 */
export async function runSingle(handler, ops) {
  const { loop, read, note } = await handler.setup(ops);
  const warm = Math.min(200_000, Math.floor(ops / 4));
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

/** Sequential spawn+join: two warm-ups, then n timed. */
export async function runSpawn(handler, ops) {
  const { once, note } = await handler.setup(ops);
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
export const CTL = { START: 0, READY: 1, DONE: 2, FAILED: 3 };
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
 * module and gets its loop from `handler.worker(payload)`. Time runs from setting the start flag
 * to the moment the last worker finishes (stamped by that worker), so worker start-up is excluded.
 */
export async function runContended(implName, caseName, handler, ops, { threads = 2, timeoutMs = 50_000 } = {}) {
  const { payload, read, note, transferList } = await handler.setup(ops);
  const { sab, ctl, end } = makeControl();
  const failed = {};
  const workers = [];
  for (let t = 0; t < threads; t++) {
    const w = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { impl: implName, case: caseName, ops, ctl: sab, payload },
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
    const t0 = now();
    Atomics.store(ctl, CTL.START, 1);
    Atomics.notify(ctl, CTL.START);
    await waitFor(ctl, CTL.DONE, threads, deadline, failed);
    const elapsedNs = Number(Atomics.load(end, 0) - t0);
    const count = await read();
    const total = ops * threads;
    return {
      ops: total,
      totalMs: elapsedNs / 1e6,
      nsPerOp: elapsedNs / total,
      count,
      expected: total,
      correct: count === total,
      note,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()));
  }
}

/** Used inside a worker (or any thread): announce ready, block on the flag, run, stamp the end. */
export async function workerBody(ctlSab, threadsLoop, ops, threads = 2) {
  const ctl = new Int32Array(ctlSab, 0, 8);
  const end = new BigInt64Array(ctlSab, 32, 1);
  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);
  while (Atomics.load(ctl, CTL.START) === 0) Atomics.wait(ctl, CTL.START, 0, 1000);
  const r = threadsLoop(ops);
  if (r && typeof r.then === 'function') await r;
  const t = now();
  if (Atomics.add(ctl, CTL.DONE, 1) === threads - 1) Atomics.store(end, 0, t);
  Atomics.notify(ctl, CTL.DONE);
}
