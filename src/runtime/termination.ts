/**
 * Termination as a request, for runtimes whose `terminate()` does not stop a worker at once (platform's
 * `terminateStopsAtOnce`: Deno runs a terminated worker on until it returns to its event loop, a browser for a grace
 * period). There a thread is declared dead only by itself: asked to terminate, it obeys at the next point where the
 * library runs in it (a wait's slice, an async wait's wake, its event loop), reaps itself and ends for good
 * (platform's `endThisThread` never returns). Until then it is a live thread and keeps what it holds.
 *
 * On Node and Bun nothing here runs: no thread installs a handler, so `obeyTermination` is one load of a module
 * variable on the slow paths that call it, and the fast paths never call it.
 */

import { currentThreadId } from "./current.js";
import type { Runtime } from "./runtime.js";
import { T_STATE, T_TERMINATE, T_WAIT_WORD, ThreadStatus, generationOf, slotOf, stateGeneration, statusOf } from "./threads.js";

let handler: (() => never) | undefined;

/** Installs what this thread does when asked to terminate (thread/worker.ts: reap itself, then end). */
export function setTerminationHandler(end: () => never): void {
  handler = end;
}

/** Whether this thread has been asked to terminate. */
export function terminationRequested(rt: Runtime): boolean {
  return Atomics.load(rt.words, rt.threadBase(slotOf(currentThreadId)) + T_TERMINATE) === currentThreadId && currentThreadId !== 0;
}

/** Called where the library runs in a thread that may have been asked to terminate: ends it then (never returns). */
export function obeyTermination(rt: Runtime): void {
  if (handler !== undefined && terminationRequested(rt)) handler();
}

/**
 * Asks thread `id` to terminate, and wakes it if it sleeps in a blocking wait (the word it sleeps on, as it
 * published it: a stale word only costs its sleepers a spurious wake). Call it again to wake it again: a notify
 * that lands just before the thread goes to sleep is lost, and the caller repeats it until the thread has ended.
 * Returns false when thread `id` is no longer alive.
 */
export function requestTermination(rt: Runtime, id: number): boolean {
  const base = rt.threadBase(slotOf(id));
  const state = Atomics.load(rt.words, base + T_STATE);
  if (statusOf(state) !== ThreadStatus.Alive || stateGeneration(state) !== generationOf(id)) return false;
  Atomics.store(rt.words, base + T_TERMINATE, id);
  const word = Atomics.load(rt.words, base + T_WAIT_WORD);
  if (word > 0 && word < rt.words.length) Atomics.notify(rt.words, word);
  return true;
}
