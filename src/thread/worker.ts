/**
 * The entry point of every thread `spawn` starts: join the runtime under the id the parent allocated, hold the
 * lifeline, rebuild the arguments and the function, run it, release (and poison) anything it still holds, and
 * report the outcome to the parent.
 */

import { endThisThread, postToParent, workerInitData } from "../platform/index.js";
import { currentThreadId, joinRuntime, setRunningThreadFunction } from "../runtime/current.js";
import { PoisonCause } from "../runtime/objects.js";
import { objectsHeldBy, releaseHoldsOf } from "../runtime/reap.js";
import { releaseAllUnclaimed } from "../sync/poison.js";
import { compileFunction } from "./compile.js";
import "../sync/primitives.js";
import { adoptSupervisor, holdLifeline } from "./lifeline.js";
import { receive, share } from "./share.js";
import type { SpawnInit, ThreadOutcome } from "./spawn.js";

const init = (await workerInitData()) as SpawnInit;
const rt = joinRuntime(init.runtime, init.threadId);
holdLifeline(init.lifeline);
adoptSupervisor(init.supervisor);

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
  // The value could not be cloned (a function, say): report that instead.
  const reason = new TypeError(`threadsafe: the thread's result cannot be sent to another thread: ${(error as Error).message}`);
  postToParent({ kind: "threadsafe:threw", error: share(reason), heldLocks } satisfies ThreadOutcome);
}
releaseHoldsOf(rt, currentThreadId, cause);
endThisThread(0);
