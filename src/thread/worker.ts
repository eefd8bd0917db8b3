/**
 * The entry point of every thread `spawn` starts: join the runtime under the id the parent allocated, hold the
 * lifeline, rebuild the arguments and the function, run it, wait for the threads it started and did not join,
 * release (and poison) anything it still holds, and report the outcome to the parent.
 */

import { endThisThread, onParentMessage, onThreadExit, postToParent, terminateStopsAtOnce, workerInitData } from "../platform/index.js";
import { currentThreadId, joinRuntime, setRunningThreadFunction } from "../runtime/current.js";
import { PoisonCause } from "../runtime/objects.js";
import { objectsHeldBy, reapThread, releaseHoldsOf } from "../runtime/reap.js";
import { obeyTermination, setTerminationHandler } from "../runtime/termination.js";
import { releaseAllUnclaimed } from "../sync/poison.js";
import { compileFunction } from "../sync/compile.js";
import "../sync/primitives.js";
import { adoptSupervisor, holdLifeline } from "./lifeline.js";
import { discard, receive, share } from "./share.js";
import { TERMINATED_MESSAGE, TERMINATE_MESSAGE, childrenEnded, hasLiveChildren, requestChildrenEnd, type SpawnInit, type ThreadOutcome } from "./spawn.js";

// The thread runs in a function, not in the module's top level: a module with a top-level `await` is evaluated
// asynchronously, and Node 22's V8 aborts the whole process (`Check failed` in
// `SourceTextModule::AsyncModuleExecutionFulfilled`) when a worker is terminated around the end of such an
// evaluation, which a thread terminated while it starts or runs could hit.
void runThread();

async function runThread(): Promise<void> {
  const init = (await workerInitData()) as SpawnInit;
  const rt = joinRuntime(init.runtime, init.threadId);
  holdLifeline(init.lifeline);
  adoptSupervisor(init.supervisor);
  if (!terminateStopsAtOnce) {
    // terminate() is a request here (runtime/termination.ts, JoinHandle.terminate): the thread obeys it in the
    // library's waits, and from its event loop through this listener. Obeying, it reaps itself (its locks are
    // poisoned and released, its slot freed) and ends for good: it can never run again, so nothing it held can be
    // touched after the release. Its exit hook (below) asks its own children to end.
    setTerminationHandler(() => {
      // Named for join()'s ThreadError now: once released, a survivor may clear the poison before the parent looks.
      const heldLocks = objectsHeldBy(rt, currentThreadId).map((id) => rt.describeObject(id));
      postToParent({ kind: TERMINATED_MESSAGE, heldLocks });
      reapThread(rt, currentThreadId, PoisonCause.Terminated);
      return endThisThread(1);
    });
    onParentMessage((message) => {
      if ((message as { kind?: unknown } | null)?.kind === TERMINATE_MESSAGE) obeyTermination(rt);
    });
    // However it ends (terminated, process.exit, an uncaught error), threads it started do not end with it on these
    // runtimes: they are asked to, as on Node and Bun, where a worker's child workers end with it.
    onThreadExit(() => requestChildrenEnd());
    obeyTermination(rt); // asked before it started
  }

  let outcome: ThreadOutcome;
  try {
    const args = receive<unknown[]>(init.args);
    let fn: unknown;
    if (init.source !== undefined) fn = compileFunction(init.source);
    else {
      const module = (await import(init.module!)) as { default?: unknown };
      fn = module.default;
      if (typeof fn !== "function") throw new TypeError(`threadsafe: spawn(module): ${init.module} has no default export function`);
    }
    setRunningThreadFunction(true);
    const value = await (fn as (...a: unknown[]) => unknown)(...args);
    outcome = { kind: "threadsafe:returned", value: share(value), heldLocks: [] };
  } catch (error) {
    outcome = { kind: "threadsafe:threw", error: share(error), heldLocks: [] };
  } finally {
    setRunningThreadFunction(false);
  }
  // Threads this one started and did not join live inside its worker: ending now would kill them mid-work, and their
  // join() handles, which only this thread holds, would never report. So the thread does not end before they have:
  // its event loop keeps running (it still holds what it held) until every thread it started has ended, as if its
  // function had joined them last. A child that never ends keeps it running; terminate() stops both (and the child is
  // reaped through its lifeline like any terminated thread). Without children nothing is awaited here: no task of
  // this thread gets to run between the function's end and the release below.
  if (hasLiveChildren()) await childrenEnded();
  // Asked to terminate while its function was ending: it was terminated (Node and Bun would have stopped it at once).
  obeyTermination(rt);
  // The thread ends here, as a Rust thread ends when its closure returns. Its locks are released only once no more
  // of its JavaScript can run: a task it started and did not await must not keep using a guard after the release.
  const cause = outcome.kind === "threadsafe:threw" ? PoisonCause.Threw : PoisonCause.Returned;
  // Guards inside PoisonErrors nobody claimed are dropped here, as Rust drops them with the error: holding only those,
  // the thread ends normally.
  releaseAllUnclaimed();
  const heldLocks = objectsHeldBy(rt, currentThreadId).map((id) => rt.describeObject(id));
  try {
    postToParent({ ...outcome, heldLocks });
  } catch (error) {
    // The value could not be cloned (a function, say): report that instead, and let go of what it carried.
    discard(outcome.kind === "threadsafe:returned" ? outcome.value : outcome.error);
    const reason = new TypeError(`threadsafe: the thread's result cannot be sent to another thread: ${(error as Error).message}`);
    postToParent({ kind: "threadsafe:threw", error: share(reason), heldLocks } satisfies ThreadOutcome);
  }
  releaseHoldsOf(rt, currentThreadId, cause);
  endThisThread(0);
}
