/**
 * The supervisor thread's entry point (see lifeline.ts): it holds one end of every thread's lifeline and reaps a
 * thread when its end closes. It never blocks and never takes a lock, so it is always awake to notice a death.
 */

import { onPortClose, workerInitData } from "../platform/index.js";
import { PoisonCause } from "../runtime/objects.js";
import { reapThread } from "../runtime/reap.js";
import { Runtime } from "../runtime/runtime.js";
import { serveSupervisor } from "./lifeline.js";
// Reaping releases holds through each kind's protocol: the supervisor loads them all, as every library thread does.
import "../raw/protocols.js";

// No top-level `await` (see thread/worker.ts: Node 22 aborts when a worker is terminated around the end of an
// asynchronously evaluated module).
void workerInitData().then((data) => {
  const init = data as { runtime: SharedArrayBuffer; port: MessagePort };
  const rt = Runtime.attach(init.runtime);
  serveSupervisor(init.port, (threadId, lifeline) => {
    // A thread that ended on its own has usually reaped itself already; then this does nothing.
    onPortClose(lifeline, () => reapThread(rt, threadId, PoisonCause.Terminated));
  });
});
