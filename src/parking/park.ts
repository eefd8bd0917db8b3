/**
 * Parking: the one wait loop every primitive's slow path uses (the role of `parking_lot_core`). A word protocol
 * (src/raw/) says how to try to finish its wait and which value of its futex word means "still wait"; parking does
 * everything else, the same way for every primitive:
 *
 * - sleeps in `Atomics.wait` in bounded slices (or `Atomics.waitAsync`, keeping the thread alive meanwhile);
 * - publishes a blocking wait that has lasted PUBLISH_AFTER_MS (object, wait kind, ticket) and runs the deadlock
 *   check (deadlock/detect.ts), again every slice;
 * - after each sleep, releases the holds of holders that are no longer alive (runtime/reap.ts);
 * - reports a stall once, honours timeouts and, for async waits, `AbortSignal`, passing on a wake that an aborted
 *   waiter consumed.
 */

import { findAllAsleep, findDeadlock, publishSleep, publishWait, unpublishWait } from "../deadlock/detect.js";
import { allAsleepError, deadlockError, stallMessage, timeoutError } from "../deadlock/report.js";
import { report, settings } from "../runtime/config.js";
import { currentThreadId } from "../runtime/current.js";
import { protocolOf } from "../runtime/kinds.js";
import { recoverDeadHolders } from "../runtime/reap.js";
import { H_PARK_SLICE_MS, type Runtime } from "../runtime/runtime.js";
import { obeyTermination } from "../runtime/termination.js";
import { T_ASYNC_KIND, T_ASYNC_OBJECT, T_ASYNC_WAITS, slotOf } from "../runtime/threads.js";
import { canBlock, keepAlive, now } from "../platform/index.js";

/** Longest single sleep by default: a waiter re-checks its holders' liveness at least this often. */
const SLICE_MS = 100;
/**
 * A blocking wait is published (and checked for deadlock) once it has lasted this long. Publishing later is safe:
 * a waiter that has not published looks like a running thread to the others, so it can only hide a cycle, never
 * invent one, and every member of a real cycle publishes after this delay, the last of them detecting it.
 */
const PUBLISH_AFTER_MS = 1;
/** Longest single sleep of a wait that can be interrupted (a wounded transaction notices within this). */
const INTERRUPTIBLE_SLICE_MS = 5;

/** What `Parkable.attempt` returns when the caller must sleep. Any other (non-negative) value ends the wait. */
export const PARKED = -1;

/**
 * One wait on one object, as its word protocol drives it. `attempt` runs before every sleep and after every wake.
 */
export interface Parkable {
  readonly rt: Runtime;
  /** The object waited for (published for deadlock detection and reports). */
  readonly id: number;
  /** The futex word to sleep on. */
  readonly words: Int32Array;
  readonly index: number;
  /**
   * Tries to finish the wait. Returns its result (≥ 0), or PARKED after leaving in `expected` the value of the word
   * that means "still wait" (a notify, or any change of the word, ends the sleep).
   */
  attempt(): number;
  expected: number;
}

/**
 * Thrown by `park` when its `interrupted` check says to stop waiting (a wounded transaction). Never escapes the
 * library: the transaction that asked catches it.
 */
export const interruptedWait: Error = new Error("threadsafe: internal: wait interrupted");

/**
 * Sets the longest single sleep of every waiter of `rt`'s program, in ms (0: the default). For tests: raised far
 * above a test's time bound, a lost wake-up becomes a hang instead of a 100 ms delay.
 */
export function setParkSliceMs(rt: Runtime, ms: number): void {
  Atomics.store(rt.words, H_PARK_SLICE_MS, ms);
}

/** The longest single sleep, in ms (tests raise it to prove that no wake-up depends on a re-check). */
function sliceMs(rt: Runtime): number {
  return Atomics.load(rt.words, H_PARK_SLICE_MS) || SLICE_MS;
}

/**
 * A waiter's checks after each sleep: dead holders' holds are released, and a wait longer than `stallWarnMs` is
 * reported once. Returns whether the stall has been reported.
 *
 * A sleep ended by a notify (or not begun: the word had changed) skips the dead-holder check: someone alive just
 * released or changed the word (or a reaper did), and the
 * check can cost a scan of the reference table for kinds whose holds live there (permits, read holds), which a busy
 * hand-off must not pay on every wake. A holder that dies silently stops the notifies, so the next sleep runs out
 * its slice and the check runs then.
 */
function afterWake(p: Parkable, waitKind: number, start: number, stallReported: boolean, notified: boolean): boolean {
  const { rt, id } = p;
  if (!notified) {
    const holders: number[] = [];
    protocolOf(rt.objectKind(id))?.holders(rt, id, waitKind, holders);
    if (holders.length > 0) recoverDeadHolders(rt, id, holders);
  }
  if (stallReported || settings.stallWarnMs <= 0) return stallReported;
  const waited = now() - start;
  if (waited < settings.stallWarnMs) return false;
  report({ kind: "stall", message: stallMessage(rt, currentThreadId, id, waitKind, waited) });
  return true;
}

/**
 * The deadlock checks of a published wait: a wait-for cycle through this thread, then (for a wait only another
 * thread can end) every live thread asleep. Only the thread that must report throws.
 */
function check(rt: Runtime, me: number, id: number, waitKind: number, ticket: bigint, untimed: boolean): void {
  // A thread that leaves its wait withdraws it before anything else (building a report takes a while), so that no
  // other thread sees it asleep while it is on its way out: one deadlock, one victim.
  const cycle = findDeadlock(rt, me, id, waitKind, ticket);
  if (cycle) {
    unpublishWait(rt, me);
    throw deadlockError(rt, cycle);
  }
  if (!untimed) return;
  const sleepers = findAllAsleep(rt, me, ticket);
  if (sleepers) {
    unpublishWait(rt, me);
    throw allAsleepError(rt, sleepers);
  }
}

/**
 * Blocks this thread until `p.attempt()` finishes the wait, and returns its result.
 * @throws DeadlockError, LockTimeoutError (TimeoutError for waits that are not for a lock), the error
 *   `interruptedWait` when `interrupted()` says so, or Error where this thread may not block.
 */
export function park(p: Parkable, waitKind: number, timeoutMs: number, onPark?: () => void, interrupted?: () => boolean): number {
  if (!canBlock()) {
    throw new Error(
      `threadsafe: this call would block the thread, and blocking is not allowed here (a browser's main thread). ` +
        `Use its async form instead (lockAsync, withAsync, …).`,
    );
  }
  const { rt, id, words, index } = p;
  const me = currentThreadId;
  const start = now();
  // Only another thread can end an untimed, uninterruptible wait: it counts for "all threads asleep".
  const untimed = timeoutMs === Infinity && interrupted === undefined;
  // The sleep can be verified ("all threads asleep") only when its word is one of the runtime's own.
  const sleepWord = words === rt.words ? index : -1;
  let published = false;
  let ticket = 0n;
  let lastCheck = 0;
  let stallReported = false;
  try {
    for (;;) {
      // A thread asked to terminate (where terminate() is only a request: runtime/termination.ts) ends here, before
      // it could take the lock it waits for.
      obeyTermination(rt);
      const result = p.attempt();
      if (result !== PARKED) return result;
      const waited = now() - start;
      if (waited >= timeoutMs) {
        if (published) unpublishWait(rt, me); // withdrawn before the report is built (see check)
        throw timeoutError(rt, id, waitKind, waited, timeoutMs);
      }
      if (interrupted?.()) throw interruptedWait;
      if (!published && waited >= PUBLISH_AFTER_MS) {
        // Only a wait that lasts is published and checked: a handoff between busy threads costs nothing extra.
        published = true;
        onPark?.(); // before publishing: a report made as soon as the wait is visible must find the stack
        publishSleep(rt, me, sleepWord, p.expected);
        ticket = publishWait(rt, me, id, waitKind, untimed);
        check(rt, me, id, waitKind, ticket, untimed);
        continue; // the holders may have moved on meanwhile: look again before sleeping
      }
      const slice = sliceMs(rt);
      if (published && waited - lastCheck >= slice) {
        // Checked again every slice: a walk can be inconclusive (a member caught mid-publication, or state that
        // kept moving), and a cycle must not go unreported because of it. Still only the highest ticket throws.
        lastCheck = waited;
        check(rt, me, id, waitKind, ticket, untimed);
      }
      // An interruptible wait (a transaction) sleeps in short slices: a wound's notify can land just before the sleep.
      const longest = !published ? PUBLISH_AFTER_MS - waited : interrupted ? INTERRUPTIBLE_SLICE_MS : slice;
      if (published) {
        publishSleep(rt, me, sleepWord, p.expected);
        obeyTermination(rt); // after publishing: a request made since then also notifies the word slept on
      }
      const outcome = Atomics.wait(words, index, p.expected, Math.min(timeoutMs - waited, longest));
      stallReported = afterWake(p, waitKind, start, stallReported, outcome !== "timed-out");
    }
  } finally {
    if (published) unpublishWait(rt, me);
  }
}

/**
 * Waits without blocking the thread until `p.attempt()` finishes the wait; resolves to its result. Keeps the
 * thread alive while waiting, and is listed in `dumpLocks()` meanwhile. Rejects with the signal's reason when
 * aborted, with LockTimeoutError (or TimeoutError) on timeout.
 */
export async function parkAsync(p: Parkable, waitKind: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<number> {
  if (signal?.aborted) throw signal.reason;
  const { rt, id, words, index } = p;
  const base = rt.threadBase(slotOf(currentThreadId));
  const releaseKeepAlive = keepAlive();
  Atomics.add(rt.words, base + T_ASYNC_WAITS, 1);
  Atomics.store(rt.words, base + T_ASYNC_KIND, waitKind);
  Atomics.store(rt.words, base + T_ASYNC_OBJECT, id + 1);
  let onAbort: (() => void) | undefined;
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      })
    : undefined;
  aborted?.catch(() => {}); // observed below through Promise.race; never an unhandled rejection
  const start = now();
  let stallReported = false;
  try {
    for (;;) {
      obeyTermination(rt);
      const result = p.attempt();
      if (result !== PARKED) return result;
      const waited = now() - start;
      if (waited >= timeoutMs) throw timeoutError(rt, id, waitKind, waited, timeoutMs);
      const wait = Atomics.waitAsync(words, index, p.expected, Math.min(timeoutMs - waited, sliceMs(rt)));
      let outcome: string = wait.async ? "ok" : wait.value;
      if (wait.async) {
        if (aborted) {
          try {
            outcome = await Promise.race([wait.value, aborted]);
          } catch (reason) {
            // This wait may still be woken by a notify meant for a live waiter: pass that wake on.
            void wait.value.then((outcome) => {
              if (outcome === "ok") Atomics.notify(words, index, 1);
            });
            throw reason;
          }
        } else {
          outcome = await wait.value;
        }
      }
      stallReported = afterWake(p, waitKind, start, stallReported, outcome !== "timed-out");
    }
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    Atomics.sub(rt.words, base + T_ASYNC_WAITS, 1);
    if (Atomics.load(rt.words, base + T_ASYNC_WAITS) === 0) Atomics.store(rt.words, base + T_ASYNC_OBJECT, 0);
    releaseKeepAlive();
  }
}
