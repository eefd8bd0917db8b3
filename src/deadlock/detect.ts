/**
 * Exact deadlock detection at block time, with no global lock (design: reference/deadlock-prior-art.md §4.1).
 *
 * Before a thread sleeps on a lock it publishes what it waits for and takes a ticket from a global counter, then
 * walks lock → owner → the lock that owner waits for → … . A cycle back to itself, confirmed by a second read in
 * which nothing changed, is a real deadlock. Every member of a cycle that runs the walk finds the same cycle;
 * only the member with the highest ticket (the one whose wait closed the cycle) reports it, so there is exactly
 * one victim. Threads that are running (ticket 0) end the walk: they are not blocked, so no deadlock goes through
 * them. Asynchronous waits (`lockAsync`) do not block their thread and take no part in the walk.
 *
 * None of this runs on the fast path: only when a thread is about to sleep.
 */

import type { Runtime } from "../runtime/runtime.js";
import { H_WAIT_TICKETS_I64 } from "../runtime/runtime.js";
import { OWNER_SHIFT } from "../runtime/locks.js";
import {
  MAX_THREADS,
  T_TICKET_I64,
  T_WAIT_LOCK,
  T_WAIT_SINCE,
  TICKET_NONE,
  TICKET_PUBLISHING,
  slotOf,
} from "../runtime/threads.js";

/** Publishes that thread `me` is about to block on `lockId`; returns its wait ticket. */
export function publishWait(rt: Runtime, me: number, lockId: number): bigint {
  const base = rt.threadBase(slotOf(me));
  Atomics.store(rt.words, base + T_WAIT_LOCK, lockId + 1);
  Atomics.store(rt.words, base + T_WAIT_SINCE, rt.elapsed());
  const ticketIndex = base / 2 + T_TICKET_I64;
  Atomics.store(rt.wide, ticketIndex, TICKET_PUBLISHING);
  const ticket = Atomics.add(rt.wide, H_WAIT_TICKETS_I64, 1n) + 1n;
  Atomics.store(rt.wide, ticketIndex, ticket);
  return ticket;
}

/** Withdraws thread `me`'s wait (it acquired, timed out, or gave up). */
export function unpublishWait(rt: Runtime, me: number): void {
  const base = rt.threadBase(slotOf(me));
  Atomics.store(rt.wide, base / 2 + T_TICKET_I64, TICKET_NONE);
  Atomics.store(rt.words, base + T_WAIT_LOCK, 0);
}

/** The lock thread `id` is blocked on in a synchronous wait, or -1. */
export function waitingFor(rt: Runtime, id: number): number {
  const base = rt.threadBase(slotOf(id));
  if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) === TICKET_NONE) return -1;
  return Atomics.load(rt.words, base + T_WAIT_LOCK) - 1;
}

/** Since when (ms since the runtime's epoch) thread `id` has been blocked, if it is. */
export function waitingSince(rt: Runtime, id: number): number | undefined {
  const base = rt.threadBase(slotOf(id));
  if (Atomics.load(rt.wide, base / 2 + T_TICKET_I64) === TICKET_NONE) return undefined;
  return Atomics.load(rt.words, base + T_WAIT_SINCE);
}

/** One edge of a wait-for chain: `lockId` is held by `owner`, who waits (with `ticket`) for `next`. */
interface Edge {
  lockId: number;
  owner: number;
  ticket: bigint;
  next: number;
}

/** A wait-for cycle found by the thread that must report it. */
export interface FoundCycle {
  /** The threads of the cycle in wait order, starting with the detecting thread. */
  readonly threads: readonly number[];
  /** `waits[i]` is the lock `threads[i]` waits for (held by `threads[i + 1]`). */
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

/** Follows the wait-for chain from `lockId`; returns its edges if it leads back to `me`. */
function walk(rt: Runtime, me: number, lockId: number): Edge[] | undefined {
  const edges: Edge[] = [];
  let current = lockId;
  for (let step = 0; step < MAX_THREADS; step++) {
    const owner = Atomics.load(rt.words, rt.lockWordIndex(current)) >>> OWNER_SHIFT;
    if (owner === 0) return undefined;
    if (owner === me) return edges;
    if (!rt.isAlive(owner)) return undefined;
    const ticket = readTicket(rt, owner);
    if (ticket <= TICKET_NONE) return undefined;
    const next = Atomics.load(rt.words, rt.threadBase(slotOf(owner)) + T_WAIT_LOCK) - 1;
    if (next < 0) return undefined;
    edges.push({ lockId: current, owner, ticket, next });
    current = next;
  }
  return undefined; // a cycle that does not pass through this thread: its own closing thread reports it
}

/** Re-reads every edge in reverse order; true when nothing changed (a double collect). */
function unchanged(rt: Runtime, edges: readonly Edge[]): boolean {
  for (let i = edges.length - 1; i >= 0; i--) {
    const edge = edges[i]!;
    if (Atomics.load(rt.words, rt.lockWordIndex(edge.lockId)) >>> OWNER_SHIFT !== edge.owner) return false;
    if (Atomics.load(rt.wide, rt.threadBase(slotOf(edge.owner)) / 2 + T_TICKET_I64) !== edge.ticket) return false;
    if (Atomics.load(rt.words, rt.threadBase(slotOf(edge.owner)) + T_WAIT_LOCK) - 1 !== edge.next) return false;
  }
  return true;
}

/**
 * Run by thread `me` (wait ticket `ticket`) after publishing its wait on `lockId` and before sleeping.
 * Returns the cycle when one exists and this thread is the one that must report it; otherwise undefined.
 */
export function findDeadlock(rt: Runtime, me: number, lockId: number, ticket: bigint): FoundCycle | undefined {
  for (let attempt = 0; attempt < VALIDATION_ATTEMPTS; attempt++) {
    const edges = walk(rt, me, lockId);
    if (!edges) return undefined;
    if (!unchanged(rt, edges)) continue; // something moved: walk again
    for (const edge of edges) if (edge.ticket > ticket) return undefined; // a later waiter closed it: it reports
    return {
      threads: [me, ...edges.map((edge) => edge.owner)],
      waits: [lockId, ...edges.map((edge) => edge.next)],
    };
  }
  return undefined;
}
