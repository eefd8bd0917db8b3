/**
 * Exact deadlock detection at block time, with no global lock (docs/deadlock-detection.md).
 *
 * Before a thread sleeps it publishes what it waits for (an object and a wait kind) and takes a ticket from a
 * global counter, then walks: the awaited object → every thread whose hold makes it wait (its kind's protocol
 * says who: runtime/kinds.ts) → what that thread awaits → … . A path back to itself, confirmed by a second read in
 * which nothing changed, is a real deadlock. Every member of a cycle that runs the walk finds a cycle; only the
 * member with the highest ticket (the one whose wait closed it) reports it, so there is exactly one victim.
 * Threads that are running (ticket 0) end a path: they are not blocked, so no deadlock goes through them.
 * Asynchronous waits do not block their thread and take no part in the walk.
 *
 * None of this runs on the fast path: only when a thread is about to sleep.
 */

import type { Runtime } from "../runtime/runtime.js";
import { H_WAIT_TICKETS_I64 } from "../runtime/runtime.js";
import { protocolOf } from "../runtime/kinds.js";
import {
  MAX_THREADS,
  T_TICKET_I64,
  T_WAIT_KIND,
  T_WAIT_OBJECT,
  T_WAIT_SINCE,
  TICKET_NONE,
  TICKET_PUBLISHING,
  T_STATE,
  T_WAIT_VALUE,
  T_WAIT_WORD,
  ThreadStatus,
  UNTIMED_WAIT,
  slotOf,
  stateGeneration,
  statusOf,
  threadIdOf,
} from "../runtime/threads.js";
import { anyInFlight } from "../runtime/lifetime.js";

/**
 * Publishes that thread `me` is about to block on object `objectId` with `waitKind` (`untimed`: with no timeout, so
 * only another thread can end it); returns its wait ticket.
 */
export function publishWait(rt: Runtime, me: number, objectId: number, waitKind: number, untimed = false): bigint {
  const base = rt.threadBase(slotOf(me));
  Atomics.store(rt.words, base + T_WAIT_KIND, waitKind | (untimed ? UNTIMED_WAIT : 0));
  Atomics.store(rt.words, base + T_WAIT_OBJECT, objectId + 1);
  Atomics.store(rt.words, base + T_WAIT_SINCE, rt.elapsed());
  const ticketIndex = base / 2 + T_TICKET_I64;
  Atomics.store(rt.wide, ticketIndex, TICKET_PUBLISHING);
  const ticket = Atomics.add(rt.wide, H_WAIT_TICKETS_I64, 1n) + 1n;
  Atomics.store(rt.wide, ticketIndex, ticket);
  return ticket;
}

/**
 * Publishes the futex word (an Int32 index in `rt.words`, or -1 when it lies in another buffer) and the value thread
 * `me` is about to sleep on: while the word holds that value, the sleep cannot end without another thread.
 */
export function publishSleep(rt: Runtime, me: number, wordIndex: number, value: number): void {
  const base = rt.threadBase(slotOf(me));
  Atomics.store(rt.words, base + T_WAIT_VALUE, value);
  Atomics.store(rt.words, base + T_WAIT_WORD, wordIndex);
}

/**
 * The value thread `id` last published it sleeps on (`publishSleep`) if it sleeps on word `wordIndex`, else
 * undefined. While the word still holds it, nothing has changed for that waiter since it decided to sleep.
 */
export function sleepValue(rt: Runtime, id: number, wordIndex: number): number | undefined {
  const base = rt.threadBase(slotOf(id));
  if (Atomics.load(rt.words, base + T_WAIT_WORD) !== wordIndex) return undefined;
  return Atomics.load(rt.words, base + T_WAIT_VALUE);
}

/** Withdraws thread `me`'s wait (it finished, timed out, or gave up). */
export function unpublishWait(rt: Runtime, me: number): void {
  const base = rt.threadBase(slotOf(me));
  Atomics.store(rt.wide, base / 2 + T_TICKET_I64, TICKET_NONE);
  Atomics.store(rt.words, base + T_WAIT_OBJECT, 0);
}

/** The object thread `id` is blocked on in a synchronous wait, or -1. */
export function waitingFor(rt: Runtime, id: number): number {
  const base = rt.threadBase(slotOf(id));
  if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) === TICKET_NONE) return -1;
  return Atomics.load(rt.words, base + T_WAIT_OBJECT) - 1;
}

/** How thread `id` waits on the object `waitingFor` gives (kinds.ts, WaitKind). */
export function waitKindOf(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.threadBase(slotOf(id)) + T_WAIT_KIND) & ~UNTIMED_WAIT;
}

/** Since when (ms since the runtime's epoch) thread `id` has been blocked, if it is. */
export function waitingSince(rt: Runtime, id: number): number | undefined {
  const base = rt.threadBase(slotOf(id));
  if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) === TICKET_NONE) return undefined;
  return Atomics.load(rt.words, base + T_WAIT_SINCE);
}

/** The threads whose holds make thread `waiter`'s `waitKind` wait on `objectId` wait. */
export function holdersOf(rt: Runtime, objectId: number, waitKind: number, waiter?: number): number[] {
  const out: number[] = [];
  protocolOf(rt.objectKind(objectId))?.holders(rt, objectId, waitKind, out, waiter);
  return out;
}

/** One edge of a wait-for path: a wait on `objectId` is held up by `holder`, who waits (with `ticket`) for `next`. */
interface Edge {
  objectId: number;
  waitKind: number;
  holder: number;
  ticket: bigint;
  next: number;
  nextKind: number;
}

/** A wait-for cycle found by the thread that must report it. */
export interface FoundCycle {
  /** The threads of the cycle in wait order, starting with the detecting thread. */
  readonly threads: readonly number[];
  /** `waits[i]` is the object `threads[i]` waits for (held by `threads[i + 1]`). */
  readonly waits: readonly number[];
}

const PUBLISHING_SPINS = 10_000;
const VALIDATION_ATTEMPTS = 4;

function readTicket(rt: Runtime, id: number): bigint {
  const index = rt.threadBase(slotOf(id)) / 2 + T_TICKET_I64;
  let ticket = Atomics.load(rt.wide, index);
  // A thread between "announce" and "take ticket" is a few instructions from done: wait for it.
  for (let spins = 0; ticket === TICKET_PUBLISHING && spins < PUBLISHING_SPINS; spins++) {
    ticket = Atomics.load(rt.wide, index);
  }
  return ticket;
}

/**
 * Searches the wait-for graph from a wait on `objectId` for a path back to `me`; returns its edges. Depth-first;
 * a thread already explored is not explored again (whether it leads back to `me` does not depend on the path).
 */
function search(rt: Runtime, me: number, objectId: number, waitKind: number, path: Edge[], seen: Set<number>): Edge[] | undefined {
  if (path.length >= MAX_THREADS) return undefined;
  const waiter = path.length === 0 ? me : path[path.length - 1]!.holder;
  for (const holder of holdersOf(rt, objectId, waitKind, waiter)) {
    if (holder === me) return path;
    if (seen.has(holder) || !rt.isAlive(holder)) continue;
    seen.add(holder);
    const ticket = readTicket(rt, holder);
    if (ticket <= TICKET_NONE) continue;
    const next = Atomics.load(rt.words, rt.threadBase(slotOf(holder)) + T_WAIT_OBJECT) - 1;
    if (next < 0) continue;
    const nextKind = waitKindOf(rt, holder);
    path.push({ objectId, waitKind, holder, ticket, next, nextKind });
    if (search(rt, me, next, nextKind, path, seen)) return path;
    path.pop();
  }
  return undefined;
}

/** Re-reads every edge in reverse order; true when nothing changed (a double collect). */
function unchanged(rt: Runtime, me: number, edges: readonly Edge[]): boolean {
  for (let i = edges.length - 1; i >= 0; i--) {
    const edge = edges[i]!;
    const waiter = i === 0 ? me : edges[i - 1]!.holder;
    if (!holdersOf(rt, edge.objectId, edge.waitKind, waiter).includes(edge.holder)) return false;
    const base = rt.threadBase(slotOf(edge.holder));
    if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) !== edge.ticket) return false;
    if (Atomics.load(rt.words, base + T_WAIT_OBJECT) - 1 !== edge.next) return false;
    if ((Atomics.load(rt.words, base + T_WAIT_KIND) & ~UNTIMED_WAIT) !== edge.nextKind) return false;
  }
  return true;
}

/**
 * Run by thread `me` (wait ticket `ticket`) after publishing its wait on `objectId` and before sleeping.
 * Returns the cycle when one exists and this thread is the one that must report it; otherwise undefined.
 */
export function findDeadlock(rt: Runtime, me: number, objectId: number, waitKind: number, ticket: bigint): FoundCycle | undefined {
  for (let attempt = 0; attempt < VALIDATION_ATTEMPTS; attempt++) {
    const edges = search(rt, me, objectId, waitKind, [], new Set());
    if (!edges) return undefined;
    if (!unchanged(rt, me, edges)) continue; // something moved: walk again
    for (const edge of edges) if (edge.ticket > ticket) return undefined; // a later waiter closed it: it reports
    return {
      threads: [me, ...edges.map((edge) => edge.holder)],
      waits: [objectId, ...edges.map((edge) => edge.next)],
    };
  }
  return undefined;
}

/** One sleeping thread in an "all threads asleep" report. */
export interface Sleeper {
  readonly thread: number;
  readonly objectId: number;
  readonly waitKind: number;
}

/** Every live thread's published wait, if every live thread is asleep in an untimed wait; else undefined. */
function collectSleepers(rt: Runtime): Array<Sleeper & { ticket: bigint }> | undefined {
  const sleepers: Array<Sleeper & { ticket: bigint }> = [];
  for (let slot = 1; slot < MAX_THREADS; slot++) {
    const base = rt.threadBase(slot);
    const state = Atomics.load(rt.words, base + T_STATE);
    const status = statusOf(state);
    if (status === ThreadStatus.Free) continue;
    if (status === ThreadStatus.Dead) return undefined; // being reaped: its holds are about to be released
    const thread = threadIdOf(slot, stateGeneration(state));
    const ticket = readTicket(rt, thread);
    if (ticket <= TICKET_NONE) return undefined; // running (or free to run its event loop): it may wake the others
    const kind = Atomics.load(rt.words, base + T_WAIT_KIND);
    if ((kind & UNTIMED_WAIT) === 0) return undefined; // its timeout will wake it
    const objectId = Atomics.load(rt.words, base + T_WAIT_OBJECT) - 1;
    if (objectId < 0) return undefined;
    // Asleep for good only while its word still holds the value it sleeps on: a word that moved (a notify, an
    // unlock) means it is waking up, or will not sleep.
    const word = Atomics.load(rt.words, base + T_WAIT_WORD);
    if (word < 0 || word >= rt.words.length) return undefined;
    if (Atomics.load(rt.words, word) !== Atomics.load(rt.words, base + T_WAIT_VALUE)) return undefined;
    sleepers.push({ thread, objectId, waitKind: kind & ~UNTIMED_WAIT, ticket });
  }
  return sleepers;
}

/**
 * Go's "all goroutines are asleep", run by thread `me` (wait ticket `ticket`) before it sleeps with no timeout:
 * when every live thread of the program is asleep in an untimed wait, none can ever wake another, and the thread
 * whose wait made it so (the highest ticket) gets the report. Exact: two collects must agree; a thread that is
 * running, awaiting a promise, waiting with a timeout or being reaped, a holder that is dead (its holds will be
 * released), or a message still in flight (it may bring a new thread into the program) means no report.
 * Returns the sleepers, this thread first, when this thread must report; otherwise undefined.
 */
export function findAllAsleep(rt: Runtime, me: number, ticket: bigint): Sleeper[] | undefined {
  const first = collectSleepers(rt);
  if (!first || first.length === 0) return undefined;
  for (const sleeper of first) {
    if (sleeper.ticket > ticket) return undefined; // a later sleeper reports it
    for (const holder of holdersOf(rt, sleeper.objectId, sleeper.waitKind)) if (!rt.isAlive(holder)) return undefined;
  }
  // A sleeper on a wait-for cycle is that cycle's to report (its highest ticket does, and its unwinding may wake
  // the others): "all asleep" is only for what no cycle explains.
  for (const sleeper of first) {
    if (search(rt, sleeper.thread, sleeper.objectId, sleeper.waitKind, [], new Set())) return undefined;
  }
  if (anyInFlight(rt)) return undefined;
  const second = collectSleepers(rt);
  if (!second || second.length !== first.length) return undefined;
  for (let i = 0; i < first.length; i++) {
    const a = first[i]!;
    const b = second[i]!;
    if (a.thread !== b.thread || a.ticket !== b.ticket || a.objectId !== b.objectId || a.waitKind !== b.waitKind) return undefined;
  }
  const mine = first.find((sleeper) => sleeper.thread === me);
  if (!mine) return undefined;
  return [mine, ...first.filter((sleeper) => sleeper.thread !== me)];
}
