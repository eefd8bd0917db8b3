/**
 * This thread's place in the runtime: which runtime buffer it uses and which thread id it has. A thread joins a
 * runtime once (by creating it, by being spawned into it, or by receiving a shared object) and never changes it.
 */

import { isMainThread, onThreadExit, onUncaughtError } from "../platform/index.js";
import { loadSettings, storeSettings } from "./config.js";
import { forgetCounts } from "./lifetime.js";
import { PoisonCause } from "./objects.js";
import { reapThread } from "./reap.js";
import { Runtime, sizing } from "./runtime.js";

let active: Runtime | undefined;

/** This thread's id in its runtime; 0 until the thread joins one. */
export let currentThreadId = 0;

/** Whether a spawned thread's function is still running (so an exit now, even with code 0, is an early exit). */
let runningThreadFunction = false;
/** Set when this thread is dying of an uncaught error. */
let dyingOfError = false;

/** Marks the start and end of a spawned thread's function (thread/worker.ts). */
export function setRunningThreadFunction(running: boolean): void {
  runningThreadFunction = running;
}

function become(rt: Runtime, id: number): void {
  active = rt;
  currentThreadId = id;
  rt.setPlatformId(id);
  // A thread that returns, throws or calls process.exit releases (and poisons) what it still holds.
  // Termination skips this hook: the supervisor's lifeline covers it.
  onUncaughtError(() => {
    dyingOfError = true;
  });
  onThreadExit((code) => {
    const cause = dyingOfError
      ? PoisonCause.Threw
      : code !== 0 || runningThreadFunction
        ? PoisonCause.Exited
        : PoisonCause.Returned;
    reapThread(rt, id, cause);
    forgetCounts();
  });
}

/** This thread's runtime, created (with this thread as its first thread) if there is none yet. */
export function runtime(): Runtime {
  if (active) return active;
  const rt = Runtime.create(sizing.maxLocks);
  storeSettings(rt); // settings configured before the runtime existed become the program's
  become(rt, rt.allocateThread(isMainThread() ? "main" : undefined));
  return rt;
}

/** This thread's runtime, or undefined if it has not joined one. */
export function currentRuntime(): Runtime | undefined {
  return active;
}

/**
 * Joins the runtime whose buffer arrived from another thread. `threadId` is the id a spawning thread already
 * allocated for this thread; without it, a new id is allocated.
 * @throws TypeError when this thread already belongs to a different runtime.
 */
export function joinRuntime(buffer: unknown, threadId?: number, threadName?: string): Runtime {
  if (active) {
    if (active.buffer === buffer) return active;
    const incoming = Runtime.attach(buffer);
    if (incoming.id === active.id) return active;
    throw new TypeError(
      "threadsafe: this object belongs to another threadsafe runtime than this thread's. Objects from two runtimes " +
        "cannot be mixed: create shared objects after the threads have exchanged one (share/receive), or in one thread",
    );
  }
  const rt = Runtime.attach(buffer);
  loadSettings(rt);
  become(rt, threadId ?? rt.allocateThread(threadName));
  return rt;
}
