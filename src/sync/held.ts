/**
 * What this thread knows about the locks it holds, kept only when something needs it: lock levels (for leveled
 * locks), lock-order checking and stack capture (`configure`). The fast path of an unleveled lock with checking
 * off never reaches this module.
 *
 * - Lock levels: a blocking acquisition of a leveled lock must be at a level strictly above every leveled lock
 *   the thread holds; otherwise `LockOrderError` is thrown at once, before anything can deadlock.
 * - Lock order: a blocking acquisition records "held A while acquiring B" edges (deadlock/order.ts).
 * - Stacks: where each held lock was acquired, and where the thread is blocked, are kept in the thread's dump
 *   area so reports made in other threads can show them.
 */

import { LockOrderError } from "../errors.js";
import { describeInversion, recordOrder } from "../deadlock/order.js";
import { captureStack } from "../deadlock/stacks.js";
import { report, settings, tracking } from "../runtime/config.js";
import { currentThreadId } from "../runtime/current.js";
import { writeDump } from "../runtime/dumps.js";
import type { Runtime } from "../runtime/runtime.js";

interface HeldLock {
  readonly id: number;
  readonly level: number | undefined;
  readonly name: string;
  readonly stack: string | undefined;
}

const held: HeldLock[] = [];
let waitingStack: string | undefined;
/** Whether this thread has any tracked lock (guards check it on release). */
export let anyTracked = false;

/** How an acquisition happened: only blocking ones are checked against levels and lock order. */
export type AcquisitionKind = "blocking" | "try" | "async";

/** A lock as this module sees it. */
export interface TrackedLock {
  readonly rt: Runtime;
  readonly id: number;
  readonly level: number | undefined;
  readonly name: string;
}

/**
 * Checks a blocking acquisition of `lock` before it may wait.
 * @throws LockOrderError on a lock-level violation, or on a lock-order inversion in 'throw' mode.
 */
export function beforeBlocking(lock: TrackedLock, checkOrder = true): void {
  if (lock.level !== undefined) {
    for (const entry of held) {
      // The lock itself is no level violation: re-locking it is a self-deadlock, reported as such by the lock.
      if (entry.id !== lock.id && entry.level !== undefined && entry.level >= lock.level) {
        throw new LockOrderError(
          `threadsafe: lock-level violation: locking ${lock.rt.describeObject(lock.id)} (level ${lock.level}) while holding ` +
            `${lock.rt.describeObject(entry.id)} (level ${entry.level}). A thread may only lock levels above every level it holds, so ` +
            `no two threads can ever wait for each other in a cycle. Lock "${lock.name}" first, or give it a level above ${entry.level}.`,
        );
      }
    }
  }
  if (checkOrder && settings.lockOrder !== "off" && held.length > 0) {
    const mode = settings.lockOrder;
    const stackRef = () => (settings.stacks === "off" ? 0 : lock.rt.storeText(captureStack()));
    const inversion = recordOrder(lock.rt, currentThreadId, held.map((entry) => entry.id), lock.id, mode, stackRef);
    if (inversion) {
      const message = describeInversion(lock.rt, currentThreadId, inversion, settings.stacks === "off" ? undefined : captureStack());
      if (mode === "throw") throw new LockOrderError(message);
      report({ kind: "lock-order", message });
    }
  }
}

/** A blocking wait ended without the lock (timeout, deadlock, abort): forget where it was blocked. */
export function waitAbandoned(rt: Runtime): void {
  if (waitingStack === undefined) return;
  waitingStack = undefined;
  publishDump(rt);
}

/** Called right before this thread parks on a lock (stack capture 'blocking' or 'all'). */
export function beforeParking(rt: Runtime): void {
  waitingStack = captureStack();
  publishDump(rt);
}

/** Records that this thread now holds `lock`. */
export function acquired(lock: TrackedLock, kind: AcquisitionKind): void {
  if (!tracking && lock.level === undefined && waitingStack === undefined) return;
  const capture = settings.stacks === "all" || (settings.stacks === "blocking" && waitingStack !== undefined && kind !== "try");
  held.push({ id: lock.id, level: lock.level, name: lock.name, stack: capture ? captureStack() : undefined });
  anyTracked = true;
  waitingStack = undefined;
  if (settings.stacks !== "off") publishDump(lock.rt);
}

/** Records that this thread released lock `id`. */
export function released(rt: Runtime, id: number): void {
  for (let i = held.length - 1; i >= 0; i--) {
    if (held[i]!.id === id) {
      held.splice(i, 1);
      anyTracked = held.length > 0;
      if (settings.stacks !== "off") publishDump(rt);
      return;
    }
  }
}

/** What a report in another thread reads about this one (runtime/dumps.ts). */
export interface DumpText {
  /** [lock id, stack where it was acquired] for each held lock with a captured stack. */
  readonly held: ReadonlyArray<readonly [number, string]>;
  /** Where this thread is blocked, if it is. */
  readonly waiting?: string;
}

function publishDump(rt: Runtime): void {
  const text: DumpText = {
    held: held.filter((entry) => entry.stack !== undefined).map((entry) => [entry.id, entry.stack!] as const),
    ...(waitingStack === undefined ? {} : { waiting: waitingStack }),
  };
  writeDump(rt, currentThreadId, JSON.stringify(text));
}
