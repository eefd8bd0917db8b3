/**
 * Internals for the project's own benchmarks (`bench/`), built as `dist/internal.js` beside the public entry and
 * sharing its module instances. Not part of the public API: no stability promise, not in package.json `exports`.
 */

export { Runtime } from "./runtime/runtime.js";
export { publishWait, findDeadlock, unpublishWait } from "./deadlock/detect.js";
export { sharedObject } from "./sync/shareable.js";
export { mutexCoreOf } from "./sync/mutex.js";
export { allocateObject } from "./runtime/lifetime.js";
export { REF_WORDS } from "./runtime/runtime.js";
export { OWNER_SHIFT, LOCKED } from "./raw/raw-mutex.js";
export { ObjectKind, WaitKind } from "./runtime/kinds.js";
export { OBJECT_RECORD_WORDS } from "./runtime/objects.js";
export { setParkSliceMs } from "./parking/park.js";

import { setParkSliceMs } from "./parking/park.js";
import { C_RWAIT, C_SELECT, C_SWAIT, S_CHANNEL } from "./raw/raw-channel.js";
import { runtime } from "./runtime/current.js";
import { sharedObject as sharedObjectKey, type SharedObject } from "./sync/shareable.js";

/**
 * Sets the longest single sleep of every waiter of this thread's runtime (created if there is none yet), in ms; 0
 * restores the default. For wake-up tests: raised far above the test's bounds, a lost wake-up hangs instead of being
 * rescued by the next re-check.
 */
export function setCurrentParkSliceMs(ms: number): void {
  setParkSliceMs(runtime(), ms);
}
export { currentRuntime } from "./runtime/current.js";
export { T_CHANNEL_CLAIM, T_CHANNEL_POS, T_CHANNEL_TAKE, T_CHANNEL_TAKE_POS } from "./runtime/threads.js";
export { RawChannel, boundedRing, growingRings, initRing, ringBytes } from "./raw/raw-channel.js";
export { channelRings } from "./sync/channel.js";
/** Whether `terminate()` stops a thread at once on this runtime (tests skip what cannot apply where it does not). */
export { terminateStopsAtOnce } from "./platform/index.js";

/** For tests: the waiter counts of the channel that `side` (a Sender or Receiver) belongs to (raw/raw-channel.ts: C_RWAIT, …). */
export function channelWaiterCounts(side: SharedObject): { receiving: number; sending: number; selecting: number } {
  const { rt, id } = side[sharedObjectKey]();
  const base = rt.objectBase(Atomics.load(rt.words, rt.objectBase(id) + S_CHANNEL) - 1);
  return {
    receiving: Atomics.load(rt.words, base + C_RWAIT),
    sending: Atomics.load(rt.words, base + C_SWAIT),
    selecting: Atomics.load(rt.words, base + C_SELECT),
  };
}
/** For tests: declares a thread dead (as a reaper does) while it may still run, as `watch` does on Deno and in browsers. */
export { reapThread } from "./runtime/reap.js";
export { PoisonCause } from "./runtime/objects.js";
