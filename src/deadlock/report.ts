/**
 * Turns what the detector found into errors a newcomer can act on: every thread and lock by name, what each
 * holds and wants, how long the others have been waiting, and what to change.
 */

import { DeadlockError, LockTimeoutError, TimeoutError, type CycleEntry, type LockRef, type ThreadRef } from "../errors.js";
import { settings } from "../runtime/config.js";
import { currentThreadId } from "../runtime/current.js";
import { isLockWait, kindName, relationOf } from "../runtime/kinds.js";
import { objectsHeldBy } from "../runtime/reap.js";
import type { Runtime } from "../runtime/runtime.js";
import { holdersOf, waitKindOf, waitingFor, waitingSince, type FoundCycle, type Sleeper } from "./detect.js";
import { dumpLocksOf, parsedDump } from "./dump.js";
import { captureStack } from "./stacks.js";

export function threadRef(rt: Runtime, id: number): ThreadRef {
  return { id, name: rt.threadName(id) };
}

export function lockRef(rt: Runtime, lockId: number): LockRef {
  return { id: lockId, name: rt.objectName(lockId) };
}

/** `Mutex "name"`: an object as messages name it. */
function described(rt: Runtime, ref: LockRef): string {
  const kind = rt.objectKind(ref.id);
  return `${kindName(kind)} ${quoted(ref)}${relationOf(rt, kind, ref.id)}`;
}

function quoted(ref: LockRef | ThreadRef): string {
  return `"${ref.name}"`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Builds the `DeadlockError` that thread `cycle.threads[0]` throws. */
export function deadlockError(rt: Runtime, cycle: FoundCycle): DeadlockError {
  const entries: CycleEntry[] = cycle.threads.map((id, i) => ({
    thread: threadRef(rt, id),
    waitsFor: lockRef(rt, cycle.waits[i]!),
    holds: objectsHeldBy(rt, id).map((lockId) => lockRef(rt, lockId)),
  }));
  const me = entries[0]!;
  const n = entries.length;
  const lines: string[] = [];
  lines.push(
    `locking ${described(rt, me.waitsFor)} would deadlock: ${n} threads are waiting for each other in a cycle`,
    `  (detected in thread ${quoted(me.thread)}, whose wait closed the cycle; the other threads are still waiting ` +
      `and go on once this one releases its locks)`,
    "",
  );
  const now = rt.elapsed();
  let anyStacks = false;
  entries.forEach((entry, i) => {
    const holder = entries[(i + 1) % n]!.thread;
    const since = i === 0 ? undefined : waitingSince(rt, entry.thread.id);
    const status = i === 0 ? "◀ this thread" : since === undefined ? "" : `blocked for ${formatMs(Math.max(0, now - since))}`;
    const dump = parsedDump(rt, entry.thread.id);
    lines.push(`  thread ${quoted(entry.thread)} (id ${entry.thread.id})  ${status}`.trimEnd());
    lines.push(`      wants  ${described(rt, entry.waitsFor)}, held by thread ${quoted(holder)}`);
    const blockedAt = i === 0 ? captureStack() : dump.waiting;
    if (blockedAt) lines.push(...frames(blockedAt, "             "));
    for (const held of entry.holds) {
      lines.push(`      holds  ${described(rt, held)}`);
      const acquiredAt = dump.held.get(held.id);
      if (acquiredAt) {
        anyStacks = true;
        lines.push(...frames(acquiredAt, "             acquired "));
      }
    }
  });
  if (!anyStacks) {
    lines.push(
      "",
      settings.stacks === "all"
        ? "  (no acquisition sites were recorded for these locks)"
        : `  (configure({ stacks: "all" }) records where every lock is acquired${settings.stacks === "off" ? '; "blocking" shows where each thread waits' : ""})`,
    );
  }
  lines.push("", "  Summary:");
  for (const entry of entries) {
    const holds = entry.holds.map((l) => l.name).join(", ") || "nothing";
    lines.push(`    ${entry.thread.name}: holds ${holds}; wants ${entry.waitsFor.name}`);
  }
  const order = entries.map((entry) => quoted(entry.waitsFor)).reverse();
  lines.push(
    "",
    `  Fix: take these locks in one order everywhere (for example always ${order.join(" before ")}), ` +
      `or take them together with lockAll([...]), which takes a set without holding one while waiting for another.`,
  );
  return new DeadlockError(lines.join("\n"), "cycle", entries);
}

/**
 * Builds the `DeadlockError` (kind "all-asleep") that thread `sleepers[0].thread` throws when every live thread is
 * asleep in a wait that only another thread could end.
 */
export function allAsleepError(rt: Runtime, sleepers: readonly Sleeper[]): DeadlockError {
  const entries: CycleEntry[] = sleepers.map((sleeper) => ({
    thread: threadRef(rt, sleeper.thread),
    waitsFor: lockRef(rt, sleeper.objectId),
    holds: objectsHeldBy(rt, sleeper.thread).map((id) => lockRef(rt, id)),
  }));
  const me = entries[0]!;
  const now = rt.elapsed();
  const lines =
    entries.length === 1
      ? [
          `waiting on ${described(rt, me.waitsFor)} would never end: this is the only live thread of the program, and ` +
            `only another thread could end this wait (Go says "all goroutines are asleep")`,
          "",
        ]
      : [
          `waiting on ${described(rt, me.waitsFor)} would never end: all ${entries.length} live threads of the program are ` +
            `asleep, each in a wait that only another thread could end (Go says "all goroutines are asleep")`,
          `  (detected in thread ${quoted(me.thread)}, the last to go to sleep; the others keep waiting)`,
          "",
        ];
  entries.forEach((entry, i) => {
    const since = i === 0 ? undefined : waitingSince(rt, entry.thread.id);
    const status = i === 0 ? "◀ this thread" : since === undefined ? "" : `asleep for ${formatMs(Math.max(0, now - since))}`;
    lines.push(`  thread ${quoted(entry.thread)} (id ${entry.thread.id})  ${status}`.trimEnd());
    const holders = holdersOf(rt, entry.waitsFor.id, sleepers[i]!.waitKind, sleepers[i]!.thread);
    const heldBy = holders.length === 0 ? "" : `, held by ${holders.map((id) => `thread ${quoted(threadRef(rt, id))}`).join(", ")}`;
    lines.push(`      waits on ${described(rt, entry.waitsFor)}${heldBy}`);
    for (const held of entry.holds) lines.push(`      holds    ${described(rt, held)}`);
  });
  lines.push(
    "",
    "  Fix: make sure some thread that is still running will notify, send, release or arrive: a notify that was never " +
      "sent (or sent before the wait began without a predicate: use waitWhile), a sender that ended without sending, a " +
      "barrier that waits for more threads than will ever arrive.",
  );
  return new DeadlockError(lines.join("\n"), "all-asleep", entries);
}

function frames(stack: string, prefix: string): string[] {
  return stack.split("\n").slice(0, 4).map((line) => prefix + line.trim());
}

/** The message of a stall report: thread `me` has waited `waitedMs` for `lockId` (a `waitKind` wait). */
export function stallMessage(rt: Runtime, me: number, lockId: number, waitKind: number, waitedMs: number): string {
  const lock = lockRef(rt, lockId);
  if (!isLockWait(waitKind)) {
    // A wait for an event (a notify, a barrier's round, a message): nobody holds what it waits for.
    return (
      `threadsafe: stall: thread ${quoted(threadRef(rt, me))} (id ${me}) has waited ${formatMs(waitedMs)} on ` +
      `${described(rt, lock)}, and nothing has woken it: the thread that should signal it may be busy, blocked, or ` +
      `may never do so (configure({ stallWarnMs }) sets when this is reported; 0 turns it off.)\n` +
      dumpLocksOf(rt).toString()
    );
  }
  const ownerId = holdersOf(rt, lockId, waitKind)[0] ?? 0;
  const owner = ownerId === 0 ? "nobody (it was just released)" : `thread ${quoted(threadRef(rt, ownerId))} (id ${ownerId})`;
  const why =
    ownerId === me
      ? "This thread holds the lock itself: if the task that holds it is the one waiting (an `await m.lockAsync()` " +
        "while a guard of `m` is still held in the same async function), this wait never ends. Release the guard first."
      : "No deadlock cycle of blocking waits was found; the holder may be busy, stuck in a loop, waiting in " +
        "lockAsync (async waits are not part of the cycle check), or waiting on something locks cannot see.";
  return (
    `threadsafe: stall: thread ${quoted(threadRef(rt, me))} (id ${me}) has waited ${formatMs(waitedMs)} for ` +
    `${described(rt, lock)}, held by ${owner}. ${why} (configure({ stallWarnMs }) sets when this is reported; 0 turns it ` +
    `off.)\n` +
    dumpLocksOf(rt).toString()
  );
}

/** Builds the `DeadlockError` for a thread that blocks on a lock it already holds. */
export function selfDeadlockError(rt: Runtime, me: number, lockId: number): DeadlockError {
  const thread = threadRef(rt, me);
  const lock = lockRef(rt, lockId);
  const message =
    `thread ${quoted(thread)} (id ${me}) tried to lock ${described(rt, lock)}, which it already holds: ` +
    `a blocking wait here would never end, because the holder is this same thread.\n` +
    `  Mutexes are not re-entrant. Release the first guard before locking again, pass the guard down instead of ` +
    `the mutex, or, if the holder is a pending async task of this thread, use lockAsync() so the task can finish.`;
  return new DeadlockError(message, "self", [{ thread, waitsFor: lock, holds: [lock] }]);
}

/**
 * Builds the error for a `waitKind` wait on `lockId` that gave up after `waitedMs`: a `LockTimeoutError` naming the
 * holder for a lock wait, a `TimeoutError` naming the object for a wait on an event.
 */
export function timeoutError(rt: Runtime, lockId: number, waitKind: number, waitedMs: number, timeoutMs: number): LockTimeoutError | TimeoutError {
  if (!isLockWait(waitKind)) {
    const object = lockRef(rt, lockId);
    return new TimeoutError(
      `threadsafe: timed out after ${formatMs(waitedMs)} (timeout ${formatMs(timeoutMs)}) waiting on ${described(rt, object)}`,
      object,
      waitedMs,
    );
  }
  return lockTimeoutError(rt, lockId, waitKind, waitedMs, timeoutMs);
}

/** Builds the `LockTimeoutError` for a `waitKind` lock wait on `lockId` that gave up after `waitedMs`. */
export function lockTimeoutError(rt: Runtime, lockId: number, waitKind: number, waitedMs: number, timeoutMs: number): LockTimeoutError {
  const lock = lockRef(rt, lockId);
  const ownerId = holdersOf(rt, lockId, waitKind)[0] ?? 0;
  const owner = ownerId === 0 ? undefined : threadRef(rt, ownerId);
  let message = `timed out after ${formatMs(waitedMs)} (timeout ${formatMs(timeoutMs)}) waiting for ${described(rt, lock)}`;
  if (owner && owner.id === currentThreadId) {
    message += `: it is held by this thread itself (thread ${quoted(owner)}), through a guard this thread has not released`;
  } else if (owner) {
    message += `: it is held by thread ${quoted(owner)} (id ${owner.id}), for at least as long`;
    const ownerWaits = waitingFor(rt, owner.id);
    if (ownerWaits >= 0) {
      const next = lockRef(rt, ownerWaits);
      const nextOwner = holdersOf(rt, ownerWaits, waitKindOf(rt, owner.id), owner.id)[0] ?? 0;
      message += `; that thread is itself blocked waiting for ${described(rt, next)}`;
      if (nextOwner !== 0) message += ` (held by thread ${quoted(threadRef(rt, nextOwner))})`;
    } else {
      message += "; that thread is running (not blocked on a lock)";
    }
  } else {
    message += ": it was released just as the wait gave up";
  }
  return new LockTimeoutError(message, lock, owner, waitedMs);
}
