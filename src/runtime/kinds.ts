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
} as const;

/** What a thread is waiting for, as it publishes it (threads.ts, T_WAIT_KIND). */
export const WaitKind = {
  /** An exclusive lock (a Mutex, or a lock a Condvar waiter takes back). */
  Lock: 1,
} as const;

/** A `waitKind` for `holders` that asks for every holder, whatever it blocks (reports, dumps). */
export const ANY_WAIT = 0;

/** What a primitive's word protocol tells the runtime about objects of its kind. */
export interface KindProtocol {
  readonly kind: number;
  /** The name of the primitive in messages: "Mutex". */
  readonly displayName: string;
  /**
   * Appends to `out` the threads whose holds make a waiter of `waitKind` on object `id` wait. An empty answer means
   * that nothing held blocks the waiter (it is waiting for an event, such as a notify).
   */
  holders(rt: Runtime, id: number, waitKind: number, out: number[]): void;
  /** Whether object `id` is poisoned. */
  isPoisoned(rt: Runtime, id: number): boolean;
  /**
   * Releases what thread `threadId`, which is no longer alive, held of object `id`: `holds` is what its reference
   * entry recorded (runtime/lifetime.ts), `cause` how it ended (objects.ts, PoisonCause). Idempotent. Returns
   * whether anything was released.
   */
  releaseDead(rt: Runtime, id: number, threadId: number, holds: number, cause: number): boolean;
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
