// Main-thread helpers that order a test's interleaving by observing state instead of sleeping: poll a condition
// (usually on dumpLocks()) until it holds. The bound only turns a hang into a clear failure; no test depends on it.
// Spawned functions cannot use these (they travel as source text): a worker that must wait for a state polls
// dumpLocks() itself (see owner-death.test.ts).
import { dumpLocks, type LockState, type LockWaiter, type ThreadState } from "threadsafe";

/** How long a poll may go on before it fails the test: only a guard against hangs, never an oracle. */
export const POLL_LIMIT_MS = 30_000;

/** Anything with a lock id: a Mutex (its public `lockId` is the id in dumpLocks()). */
export interface HasLockId {
  readonly lockId: number;
  readonly name: string;
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

/**
 * Polls `predicate` from this thread's event loop (so this thread's own async work keeps running) until it returns
 * true; throws an error naming `what`, with a lock dump, if it is still false after `ms`.
 */
export async function waitUntil(predicate: () => boolean, what: string, ms = POLL_LIMIT_MS): Promise<void> {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}\n${String(dumpLocks())}`);
    await tick();
  }
}

/** The dump entry of `m`, or undefined when it is free, unawaited and unpoisoned. */
export function lockState(m: HasLockId): LockState | undefined {
  return dumpLocks().locks.find((l) => l.lock.id === m.lockId);
}

/** The dump entry of the live thread with library id `threadId`, or undefined. */
export function threadState(threadId: number): ThreadState | undefined {
  return dumpLocks().threads.find((t) => t.thread.id === threadId);
}

/** Who may be awaited: a thread name or a library thread id, optionally with the kind of wait. */
export interface WaiterSpec {
  readonly thread: string | number;
  readonly kind?: "sync" | "async";
}

function matches(w: LockWaiter, spec: WaiterSpec): boolean {
  const who = typeof spec.thread === "number" ? w.thread.id === spec.thread : w.thread.name === spec.thread;
  return who && (spec.kind === undefined || w.kind === spec.kind);
}

/**
 * Waits until dumpLocks() lists every waiter of `specs` on `m` (a sync waiter is listed once it is in lock()'s
 * wait loop; an async one once its lockAsync() is pending). Returns the lock's state at that moment.
 * A thread with several pending lockAsync() calls is listed once: count those with `waitForAsyncWaits`.
 */
export async function waitForWaiters(m: HasLockId, specs: ReadonlyArray<WaiterSpec | string>, what?: string): Promise<LockState> {
  const wanted = specs.map((s) => (typeof s === "string" ? { thread: s } : s));
  let state: LockState | undefined;
  const describe = wanted.map((s) => `${String(s.thread)}${s.kind ? ` (${s.kind})` : ""}`).join(", ");
  await waitUntil(() => {
    state = lockState(m);
    return state !== undefined && wanted.every((spec) => state!.waiters.some((w) => matches(w, spec)));
  }, what ?? `Mutex "${m.name}" lists the waiters ${describe}`);
  return state!;
}

/** Waits until `m` has exactly `n` waiters listed (whoever they are). Returns the lock's state at that moment. */
export async function waitForWaiterCount(m: HasLockId, n: number, what?: string): Promise<LockState> {
  let state: LockState | undefined;
  await waitUntil(() => {
    state = lockState(m);
    return (state?.waiters.length ?? 0) === n;
  }, what ?? `Mutex "${m.name}" has ${n} waiters listed`);
  return state!;
}

/** Waits until thread `threadId` has `n` pending lockAsync() calls and its last one is on `m`. */
export async function waitForAsyncWaits(m: HasLockId, threadId: number, n: number, what?: string): Promise<ThreadState> {
  let state: ThreadState | undefined;
  await waitUntil(() => {
    state = threadState(threadId);
    return state !== undefined && state.asyncWaits === n && lockState(m)?.waiters.some((w) => w.thread.id === threadId && w.kind === "async") === true;
  }, what ?? `thread ${threadId} has ${n} pending lockAsync() on Mutex "${m.name}"`);
  return state!;
}

/** Waits until dumpLocks() names `owner` (a thread name or id) as the holder of `m`. */
export async function waitForOwner(m: HasLockId, owner: string | number, what?: string): Promise<LockState> {
  let state: LockState | undefined;
  await waitUntil(() => {
    state = lockState(m);
    const o = state?.owner;
    return o !== undefined && (typeof owner === "number" ? o.id === owner : o.name === owner);
  }, what ?? `Mutex "${m.name}" is held by ${String(owner)}`);
  return state!;
}
