/**
 * The kinds of shared object, and what the rest of the runtime must know about each: its name in messages, who
 * holds it (deadlock detection walks waiter → awaited object → its holders → what they await), and how to release
 * what a dead thread held of it (owner death). Each primitive's word protocol (src/raw/) registers its kind here,
 * so that detection, reaping and reports stay the same code for every primitive.
 */

import type { Runtime } from "./runtime.js";

/** Kind numbers stored in an object record (objects.ts, O_KIND). Never renumber: they travel in handles. */
export const ObjectKind = {
  Mutex: 1,
  Arc: 2,
  RwLock: 3,
  Condvar: 4,
  Barrier: 5,
  Semaphore: 6,
  Once: 7,
  OnceLock: 8,
  LazyLock: 9,
  Atomic: 10,
  Channel: 11,
  /** The sending side of a Channel: one record per channel, counted by every thread that has a Sender. */
  ChannelSender: 12,
  /** The receiving side of a Channel: one record per channel, counted by every thread that has a Receiver. */
  ChannelReceiver: 13,
} as const;

/** What a thread is waiting for, as it publishes it (threads.ts, T_WAIT_KIND). */
export const WaitKind = {
  /** An exclusive lock (a Mutex, or a lock a Condvar waiter takes back). */
  Lock: 1,
  /** A read hold of an RwLock. */
  Read: 2,
  /** The write hold of an RwLock. */
  Write: 3,
  /** A notify on a Condvar. */
  Condvar: 4,
  /** The rest of a Barrier's round. */
  Barrier: 5,
  /** Permits of a Semaphore. */
  Permits: 6,
  /** Another thread's run of a Once (OnceLock, LazyLock) initializer. */
  Once: 7,
  /** A message on a channel. */
  Recv: 8,
  /** Room on a channel. */
  Send: 9,
} as const;

/**
 * Whether a wait of `waitKind` waits for holders to release (a lock, permits), as opposed to an event (a notify, a
 * barrier's round, a message): its timeout is a `LockTimeoutError` naming the holder, else a `TimeoutError`.
 */
export function isLockWait(waitKind: number): boolean {
  return waitKind === WaitKind.Lock || waitKind === WaitKind.Read || waitKind === WaitKind.Write || waitKind === WaitKind.Permits;
}

/** A `waitKind` for `holders` that asks for every holder, whatever it blocks (reports, dumps). */
export const ANY_WAIT = 0;

/** What a primitive's word protocol tells the runtime about objects of its kind. */
export interface KindProtocol {
  readonly kind: number;
  /** The name of the primitive in messages: "Mutex". */
  readonly displayName: string;
  /**
   * Appends to `out` the threads whose holds make a waiter of `waitKind` on object `id` wait. An empty answer means
   * that nothing held blocks the waiter (it is waiting for an event, such as a notify). `waiter`, when given, is the
   * thread whose wait is asked about (deadlock detection): a kind whose answer depends on what that wait wants (how
   * many permits) reads it from what the waiter published.
   */
  holders(rt: Runtime, id: number, waitKind: number, out: number[], waiter?: number): void;
  /** Whether object `id` is poisoned. */
  isPoisoned(rt: Runtime, id: number): boolean;
  /**
   * What object `id` is tied to right now, appended to its name in messages and dumps (a Condvar in use: `of Mutex
   * "queue"`), or undefined. Optional.
   */
  relation?(rt: Runtime, id: number): string | undefined;
  /**
   * Releases what thread `threadId`, which is no longer alive, held of object `id`: `holds` is what its reference
   * entry recorded (runtime/lifetime.ts), `cause` how it ended (objects.ts, PoisonCause). Idempotent. Returns
   * whether anything was released.
   */
  releaseDead(rt: Runtime, id: number, threadId: number, holds: number, cause: number): boolean;
  /**
   * Optional: object `id`'s last count is gone (no thread and no message in flight has it; runtime/lifetime.ts) and
   * its record is about to be freed. For objects whose end means something to others (the last Sender of a channel
   * gone wakes its receivers). Runs in whichever thread dropped the last count, with the record still intact.
   */
  reclaimed?(rt: Runtime, id: number): void;
}

const protocols: Array<KindProtocol | undefined> = [];

/** Registers the protocol of a kind (once per kind; later registrations of the same kind are ignored). */
export function registerKind(protocol: KindProtocol): void {
  protocols[protocol.kind] ??= protocol;
}

/** The protocol of kind `kind`, if one is registered in this thread. */
export function protocolOf(kind: number): KindProtocol | undefined {
  return protocols[kind];
}

/** The display name of kind `kind` ("Mutex"), or "object". */
export function kindName(kind: number): string {
  return protocols[kind]?.displayName ?? "object";
}

/** What object `id` (of kind `kind`) is tied to right now, with a leading space (`' of Mutex "queue"'`), or "". */
export function relationOf(rt: Runtime, kind: number, id: number): string {
  const relation = protocols[kind]?.relation?.(rt, id);
  return relation === undefined ? "" : ` ${relation}`;
}
