/**
 * `dumpLocks()`: every held, awaited or poisoned lock of the program, its owner and its waiters, with how long
 * each has waited; and every live thread with what it is doing. Like PostgreSQL's `pg_locks` or a jstack: for the
 * hangs no wait-for graph can see (a holder in an endless loop, a condition nobody signals, an async cycle).
 */

import type { LockRef, ThreadRef } from "../errors.js";
import { runtime } from "../runtime/current.js";
import { readDump } from "../runtime/dumps.js";
import { ANY_WAIT, kindName, protocolOf, relationOf } from "../runtime/kinds.js";
import type { Runtime } from "../runtime/runtime.js";
import {
  MAX_THREADS,
  T_ASYNC_OBJECT,
  T_ASYNC_WAITS,
  T_STATE,
  ThreadStatus,
  stateGeneration,
  statusOf,
  threadIdOf,
} from "../runtime/threads.js";
import { waitingFor, waitingSince } from "./detect.js";

/** A thread waiting for a lock. */
export interface LockWaiter {
  readonly thread: ThreadRef;
  /** "sync": blocked in lock(); "async": a pending lockAsync(). */
  readonly kind: "sync" | "async";
  /** How long it has waited, in ms (unknown for async waits). */
  readonly waitingMs: number | undefined;
}

/** One shared object in a dump (a lock, or anything else that is held, awaited or poisoned). */
export interface LockState {
  readonly lock: LockRef;
  /** What kind of object it is: "Mutex", … */
  readonly kind: string;
  /** What it is tied to right now, if anything: `of Mutex "queue"` for a Condvar being waited on. */
  readonly relation: string | undefined;
  /** The holder (for a lock with several holders, the first of `holders`). */
  readonly owner: ThreadRef | undefined;
  /** Every thread that holds it (one for a Mutex). */
  readonly holders: readonly ThreadRef[];
  readonly poisoned: boolean;
  readonly waiters: readonly LockWaiter[];
  /** A lower bound on how long the owner has held it: as long as its longest sync waiter has waited. */
  readonly heldAtLeastMs: number | undefined;
  /** Where the owner acquired it, when stack capture was on. */
  readonly acquiredAt: string | undefined;
}

/** One live thread in a dump. */
export interface ThreadState {
  readonly thread: ThreadRef;
  /** The object it is blocked on in a blocking wait, if any, and for how long. */
  readonly blockedOn: LockRef | undefined;
  /** What kind of object that is ("Mutex", …). */
  readonly blockedKind: string | undefined;
  /** What that object is tied to, if anything: `of Mutex "queue"` for a Condvar. */
  readonly blockedRelation: string | undefined;
  readonly blockedMs: number | undefined;
  /** Pending async waits (lockAsync() and the like). */
  readonly asyncWaits: number;
  /** Where it is blocked, when stack capture was on. */
  readonly blockedAt: string | undefined;
}

/** The result of `dumpLocks()`; `toString()` gives the text report. */
export interface LockDump {
  readonly takenAt: Date;
  readonly locks: readonly LockState[];
  readonly threads: readonly ThreadState[];
  toString(): string;
}

/** Parsed dump area of a thread (see sync/held.ts). */
export function parsedDump(rt: Runtime, id: number): { held: Map<number, string>; waiting: string | undefined } {
  const text = readDump(rt, id);
  const held = new Map<number, string>();
  if (!text) return { held, waiting: undefined };
  try {
    const data = JSON.parse(text) as { held?: Array<[number, string]>; waiting?: string };
    for (const [lockId, stack] of data.held ?? []) held.set(lockId, stack);
    return { held, waiting: data.waiting };
  } catch {
    return { held, waiting: undefined };
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Reads the whole lock and thread state of runtime `rt`. */
export function dumpLocksOf(rt: Runtime): LockDump {
  const now = rt.elapsed();
  const threads: ThreadState[] = [];
  const waitersByLock = new Map<number, LockWaiter[]>();
  const addWaiter = (lockId: number, waiter: LockWaiter) => {
    let list = waitersByLock.get(lockId);
    if (!list) waitersByLock.set(lockId, (list = []));
    list.push(waiter);
  };
  for (let slot = 1; slot < MAX_THREADS; slot++) {
    const base = rt.threadBase(slot);
    const state = Atomics.load(rt.words, base + T_STATE);
    if (statusOf(state) !== ThreadStatus.Alive) continue;
    const id = threadIdOf(slot, stateGeneration(state));
    const thread = { id, name: rt.threadName(id) };
    const blockedLock = waitingFor(rt, id);
    const since = waitingSince(rt, id);
    const blockedMs = since === undefined ? undefined : Math.max(0, now - since);
    if (blockedLock >= 0) addWaiter(blockedLock, { thread, kind: "sync", waitingMs: blockedMs });
    const asyncWaits = Atomics.load(rt.words, base + T_ASYNC_WAITS);
    const asyncLock = Atomics.load(rt.words, base + T_ASYNC_OBJECT) - 1;
    if (asyncWaits > 0 && asyncLock >= 0) addWaiter(asyncLock, { thread, kind: "async", waitingMs: undefined });
    threads.push({
      thread,
      blockedOn: blockedLock >= 0 ? { id: blockedLock, name: rt.objectName(blockedLock) } : undefined,
      blockedKind: blockedLock >= 0 ? kindName(rt.objectKind(blockedLock)) : undefined,
      blockedRelation: blockedLock >= 0 ? relationOf(rt, rt.objectKind(blockedLock), blockedLock).trimStart() || undefined : undefined,
      blockedMs: blockedLock >= 0 ? blockedMs : undefined,
      asyncWaits,
      blockedAt: blockedLock >= 0 ? parsedDump(rt, id).waiting : undefined,
    });
  }
  const locks: LockState[] = [];
  const count = rt.objectCount();
  for (let lockId = 0; lockId < count; lockId++) {
    const kind = rt.objectKind(lockId);
    const protocol = protocolOf(kind);
    if (!protocol) continue;
    const holderIds: number[] = [];
    protocol.holders(rt, lockId, ANY_WAIT, holderIds);
    const ownerId = holderIds[0] ?? 0;
    const waiters = waitersByLock.get(lockId) ?? [];
    const poisoned = protocol.isPoisoned(rt, lockId);
    if (ownerId === 0 && waiters.length === 0 && !poisoned) continue;
    const syncWaits = waiters.filter((w) => w.waitingMs !== undefined).map((w) => w.waitingMs!);
    locks.push({
      lock: { id: lockId, name: rt.objectName(lockId) },
      kind: kindName(kind),
      relation: relationOf(rt, kind, lockId).trimStart() || undefined,
      owner: ownerId === 0 ? undefined : { id: ownerId, name: rt.threadName(ownerId) },
      holders: holderIds.map((id) => ({ id, name: rt.threadName(id) })),
      poisoned,
      waiters,
      heldAtLeastMs: ownerId !== 0 && syncWaits.length > 0 ? Math.max(...syncWaits) : undefined,
      acquiredAt: ownerId === 0 ? undefined : parsedDump(rt, ownerId).held.get(lockId),
    });
  }
  const takenAt = new Date();
  return {
    takenAt,
    locks,
    threads,
    toString: () => formatDump(takenAt, locks, threads),
  };
}

function formatDump(takenAt: Date, locks: readonly LockState[], threads: readonly ThreadState[]): string {
  const quote = (ref: { name: string; id: number }) => `"${ref.name}" (id ${ref.id})`;
  const lines = [`threadsafe lock dump at ${takenAt.toISOString()}: ${threads.length} threads, ${locks.filter((l) => l.owner).length} locks held`];
  lines.push("Locks:");
  if (locks.length === 0) lines.push("  (none held, awaited or poisoned)");
  for (const state of locks) {
    let line = `  ${state.kind} ${quote(state.lock)}${state.relation ? ` ${state.relation}` : ""}: `;
    line += state.holders.length > 0 ? `held by ${state.holders.map((t) => `thread ${quote(t)}`).join(", ")}` : "free";
    if (state.heldAtLeastMs !== undefined) line += ` for at least ${formatMs(state.heldAtLeastMs)}`;
    if (state.poisoned) line += ", POISONED";
    lines.push(line);
    if (state.acquiredAt) lines.push(...state.acquiredAt.split("\n").map((frame) => `      acquired ${frame}`));
    for (const waiter of state.waiters) {
      const duration = waiter.waitingMs === undefined ? "" : `, ${formatMs(waiter.waitingMs)}`;
      lines.push(`      waiting: thread ${quote(waiter.thread)} (${waiter.kind}${duration})`);
    }
  }
  lines.push("Threads:");
  for (const state of threads) {
    let line = `  thread ${quote(state.thread)}: `;
    const relation = state.blockedRelation ? ` ${state.blockedRelation}` : "";
    line += state.blockedOn ? `blocked on ${state.blockedKind} ${quote(state.blockedOn)}${relation} for ${formatMs(state.blockedMs ?? 0)}` : "running";
    if (state.asyncWaits > 0) line += `; ${state.asyncWaits} pending async wait${state.asyncWaits === 1 ? "" : "s"}`;
    lines.push(line);
    if (state.blockedAt) lines.push(...state.blockedAt.split("\n").map((frame) => `      ${frame}`));
  }
  return lines.join("\n");
}

/**
 * Every held, awaited or poisoned lock of the program, with owners, waiters and durations, and what every thread
 * is doing. `String(dumpLocks())` is the text report.
 *
 * @example
 * process.on("SIGUSR2", () => console.log(String(dumpLocks())));
 */
export function dumpLocks(): LockDump {
  return dumpLocksOf(runtime());
}
