/**
 * Every error the library throws on purpose. Each class sets `name` to its own class name, so code in another
 * thread (which receives a structured clone, not the class) can still tell them apart.
 *
 * This file is the floor of the architecture: it imports nothing, and any room may import it.
 */

/** A thread as errors and reports name it. */
export interface ThreadRef {
  /** The library's thread id (see `currentThread()`). */
  readonly id: number;
  readonly name: string;
}

/** A lock as errors and reports name it. */
export interface LockRef {
  /** The lock's id in the runtime (stable for the life of the program). */
  readonly id: number;
  readonly name: string;
}

/** One member of a wait-for cycle: `thread` holds `holds` and waits for `waitsFor`. */
export interface CycleEntry {
  readonly thread: ThreadRef;
  readonly waitsFor: LockRef;
  readonly holds: readonly LockRef[];
}

/**
 * Thrown by `lock()` (and `lockAsync()`) when a lock was poisoned: a thread panicked inside `with`, or died
 * while holding it. The lock **is** held by the caller when this is thrown: take the guard with `intoInner()`
 * where you catch the error (and release it). A guard nobody claims is released when the current task ends, or
 * when this thread asks for the same lock again (as Rust drops the guard of a discarded error).
 *
 * @example
 * try { g = m.lock(); } catch (e) {
 *   if (!(e instanceof PoisonError)) throw e;
 *   g = e.intoInner();      // the data may be half-updated: check it
 *   m.clearPoison();
 * }
 */
export class PoisonError<G = unknown> extends Error {
  override name = "PoisonError";
  readonly #guard: G;
  constructor(message: string, guard: G) {
    super(message);
    this.#guard = guard;
  }
  /** The guard of the (held) lock, to read or repair the data anyway. */
  intoInner(): G {
    return this.#guard;
  }
}

/**
 * The base class of every timeout: a wait that is not for a lock (a barrier, a channel, a `Once`) throws it
 * directly, naming what it waited for; lock waits throw its subclass `LockTimeoutError`.
 *
 * @example
 * try { barrier.wait({ timeout: 1000 }); } catch (e) { if (e instanceof TimeoutError) retryLater(); else throw e; }
 */
export class TimeoutError extends Error {
  override name = "TimeoutError";
  constructor(
    message: string,
    /** What the wait was for (`id` and `name` of the shared object). */
    readonly object: LockRef,
    /** How long this thread waited, in milliseconds. */
    readonly waitedMs: number,
  ) {
    super(message);
  }
}

/** Thrown when `lock({ timeout })` or `lockAsync({ timeout })` gives up. The message says who holds the lock. */
export class LockTimeoutError extends TimeoutError {
  override name = "LockTimeoutError";
  constructor(
    message: string,
    /** The lock that could not be taken in time. */
    readonly lock: LockRef,
    /** The thread holding it when the wait gave up, if any. */
    readonly owner: ThreadRef | undefined,
    waitedMs: number,
  ) {
    super(message, lock, waitedMs);
  }
}

/** How a deadlock was found: a cycle between threads, or a thread that re-locks a lock it already holds. */
export type DeadlockKind = "cycle" | "self" | "all-asleep";

/**
 * Thrown in exactly one thread of a wait-for cycle (the thread whose wait closed it) instead of hanging
 * forever. The other threads of the cycle keep waiting and go on once this thread releases its locks.
 */
export class DeadlockError extends Error {
  override name = "DeadlockError";
  constructor(
    message: string,
    readonly kind: DeadlockKind,
    /** The cycle in wait order, starting with the thread that threw. */
    readonly cycle: readonly CycleEntry[],
  ) {
    super(message);
  }
  /** A plain-JSON form of the report. */
  toJSON(): { name: string; kind: DeadlockKind; message: string; cycle: readonly CycleEntry[] } {
    return { name: this.name, kind: this.kind, message: this.message, cycle: this.cycle };
  }
  /** The cycle as a Graphviz DOT digraph: threads are boxes, locks ellipses; edges read "waits for" and "held by". */
  toDot(): string {
    const lines = ["digraph deadlock {", "  rankdir=LR;"];
    for (const { thread, waitsFor, holds } of this.cycle) {
      lines.push(`  "t${thread.id}" [shape=box, label=${JSON.stringify(`${thread.name} (thread ${thread.id})`)}];`);
      lines.push(`  "l${waitsFor.id}" [shape=ellipse, label=${JSON.stringify(waitsFor.name)}];`);
      lines.push(`  "t${thread.id}" -> "l${waitsFor.id}" [label="waits for", color=red];`);
      for (const held of holds) {
        lines.push(`  "l${held.id}" [shape=ellipse, label=${JSON.stringify(held.name)}];`);
        lines.push(`  "l${held.id}" -> "t${thread.id}" [label="held by"];`);
      }
    }
    lines.push("}");
    return lines.join("\n");
  }
  /** The cycle as a Mermaid flowchart. */
  toMermaid(): string {
    const label = (text: string) => text.replace(/["\\]/g, "'");
    const lines = ["flowchart LR"];
    for (const { thread, waitsFor, holds } of this.cycle) {
      lines.push(`  t${thread.id}["${label(thread.name)} (thread ${thread.id})"]`);
      lines.push(`  l${waitsFor.id}(["${label(waitsFor.name)}"])`);
      lines.push(`  t${thread.id} -- waits for --> l${waitsFor.id}`);
      for (const held of holds) {
        lines.push(`  l${held.id}(["${label(held.name)}"])`);
        lines.push(`  l${held.id} -- held by --> t${thread.id}`);
      }
    }
    return lines.join("\n");
  }
}

/** A potential deadlock: locks taken in an order that could deadlock (lock levels, lock-order checking). */
export class LockOrderError extends Error {
  override name = "LockOrderError";
}

/** How a thread ended, as `ThreadError.how` reports it. */
export type ThreadEnd = "threw" | "exited" | "terminated" | "held-locks" | "crashed";

/**
 * `join()` rejects with this when the thread threw, exited early, was terminated, or ended while still holding
 * locks (which were then poisoned and released).
 */
export class ThreadError extends Error {
  override name = "ThreadError";
  constructor(
    message: string,
    /** The thread that ended. */
    readonly thread: ThreadRef,
    /** How it ended. */
    readonly how: ThreadEnd,
    /** The error the thread threw, as received (a structured clone), when it threw. */
    readonly error?: unknown,
    /** The thread's exit code, when it exited. */
    readonly exitCode?: number,
  ) {
    super(message, error === undefined ? undefined : { cause: error });
  }
}

/**
 * Thrown by `Receiver.recv()` (and `recvAsync()`, `tryRecv()`) once every `Sender` of the channel is gone (closed,
 * garbage-collected, or its thread ended) and every message sent before has been received: nothing can arrive any
 * more. Iterating a `Receiver` ends quietly instead.
 *
 * @example
 * try { for (;;) handle(rx.recv()); } catch (e) { if (!(e instanceof RecvError)) throw e; } // drained and disconnected
 */
export class RecvError extends Error {
  override name = "RecvError";
}

/**
 * Thrown by `Sender.send()` (and `sendAsync()`, `trySend()`) when every `Receiver` of the channel is gone, so the
 * message could never be received. `value` is the message, given back (Rust's `SendError(T)`).
 *
 * @example
 * try { tx.send(job); } catch (e) { if (e instanceof SendError) requeue(e.value); else throw e; }
 */
export class SendError<T = unknown> extends Error {
  override name = "SendError";
  constructor(
    message: string,
    /** The message that could not be sent. */
    readonly value: T,
  ) {
    super(message);
  }
}
