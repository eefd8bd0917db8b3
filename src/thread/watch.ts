/**
 * `watch(worker)`: owner-death handling for workers the user creates (a raw `Worker`, a pool's workers), which have
 * no lifeline to the supervisor. Such a worker that returns, throws or calls `process.exit` releases its locks by
 * itself; one that is terminated from outside runs no code at all, and only the thread that created it can hear it
 * end.
 */

import { isWatchableWorker, onWorkerExit } from "../platform/index.js";
import { runtime } from "../runtime/current.js";
import { PoisonCause } from "../runtime/objects.js";
import { reapThread } from "../runtime/reap.js";
import { describe } from "../sync/options.js";

/**
 * Follows a worker you created yourself: when it ends in any way, including `worker.terminate()`, the locks it held
 * are poisoned and released and their waiters wake with `PoisonError`. Call it in the thread that created the
 * worker, right after creating it. That thread hears the end through its event loop: it must not itself be blocked
 * in `lock()` on a lock of that worker at the time (use `lockAsync` there). Threads started with `spawn` need
 * none of this.
 *
 * @example
 * const worker = new Worker(new URL("./job.js", import.meta.url));
 * watch(worker);
 * worker.postMessage(share({ counter }));
 */
export function watch<W>(worker: W): W {
  if (!isWatchableWorker(worker)) {
    throw new TypeError(`threadsafe: watch(worker): expected a worker_threads Worker or a Web Worker, got ${describe(worker)}`);
  }
  const rt = runtime();
  onWorkerExit(worker, (platformId, exitCode) => {
    const id = rt.threadOnPlatform(platformId);
    if (id !== undefined) reapThread(rt, id, exitCode === 0 ? PoisonCause.Returned : PoisonCause.Terminated);
  });
  return worker;
}
