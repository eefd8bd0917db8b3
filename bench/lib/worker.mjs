// Worker side of a contended run: load the implementation, get its loop, then run it on the start flag.
import { workerData, parentPort } from 'node:worker_threads';
import { loadImpl } from '../impls/index.mjs';
import { workerBody, CTL } from './measure.mjs';

const { impl, case: caseName, ops, ctl, payload, threads = 2 } = workerData;
// A pending Atomics.waitAsync does not keep a worker's event loop alive (nodejs/node#61941):
// hold a ref'd handle for the whole run so an async lock that parks is not cut short. It is never
// cleared: the worker ends only when the main thread terminates it, so an early exit means a crash.
setInterval(() => {}, 1000);
try {
  const mod = await loadImpl(impl);
  const loop = await mod.cases[caseName].worker(payload, ops);
  await workerBody(ctl, loop, ops, threads);
} catch (e) {
  Atomics.store(new Int32Array(ctl, 0, 8), CTL.FAILED, 1);
  parentPort.postMessage({ error: `${e?.name ?? 'Error'}: ${e?.message ?? e}`, stack: e?.stack });
}
