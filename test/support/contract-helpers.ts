// Helpers for the contract suites written from DESIGN.md §1 and §1b alone (rust-std-mutex, poison-lifetime, arc).
// They order interleavings by polling observable state (dumpLocks(), shared flags), never by sleeping for a guess.
import v8 from "node:v8";
import vm from "node:vm";
import { dumpLocks, spawn, type LockState, type Mutex } from "threadsafe";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; the bound only turns a hang into a failure (nothing is timed). */
export async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

/**
 * Lets the current task end and the event loop go round: a timer turn and a check (setImmediate) turn. Whatever a
 * library schedules "when this task ends" has run after this.
 */
export async function macrotaskTurn(): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/** A shared Int32Array for flags. */
export function flags(n = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Sets flag `i` to `v` and wakes anyone waiting on it. */
export function signal(f: Int32Array, i: number, v = 1): void {
  Atomics.store(f, i, v);
  Atomics.notify(f, i);
}

/** This lock's entry in dumpLocks(), by name (undefined when the dump does not list it: free, unpoisoned, no waiters). */
export function lockState(name: string): LockState | undefined {
  return dumpLocks().locks.find((l) => l.lock.name === name);
}

/** The id of the thread that owns the lock named `name`, or undefined when nobody owns it. */
export function ownerOf(name: string): number | undefined {
  return lockState(name)?.owner?.id;
}

/** Whether any thread is listed as blocked on the lock named `name` (sync waiter) right now. */
export function hasSyncWaiter(name: string): boolean {
  const dump = dumpLocks();
  if (dump.threads.some((t) => t.blockedOn?.name === name)) return true;
  return dump.locks.some((l) => l.lock.name === name && l.waiters.some((w) => w.kind === "sync"));
}

/** What a probe thread saw when it looked at a mutex with tryLock(). */
export interface Probe {
  /** "free": tryLock gave a guard; "held": tryLock gave undefined; "poisoned": tryLock threw PoisonError (so: free and poisoned). */
  readonly state: "free" | "held" | "poisoned" | "error";
  readonly value?: unknown;
  readonly message?: string;
}

/**
 * Looks at `m` from another thread, without blocking: is it held, free, or free and poisoned, and what value it
 * has. It leaves the mutex as it found it (poisoned stays poisoned).
 */
export async function probe<T>(m: Mutex<T>): Promise<Probe> {
  const h = spawn(
    (m: Mutex<unknown>) => {
      const snap = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
      try {
        const g = m.tryLock();
        if (g === undefined) return { state: "held" as const };
        const value = snap(g.value);
        g.unlock();
        return { state: "free" as const, value };
      } catch (e) {
        const error = e as Error & { intoInner?: () => { value: unknown; unlock(): void } };
        if (error.name !== "PoisonError") return { state: "error" as const, message: `${error.name}: ${error.message}` };
        const g = error.intoInner!();
        const value = snap(g.value);
        g.unlock();
        return { state: "poisoned" as const, value, message: error.message };
      }
    },
    [m as Mutex<unknown>],
    { name: "probe" },
  );
  return (await h.join()) as Probe;
}

let gcFn: (() => void) | undefined;

/** A working full `gc()`, whether or not node was started with --expose-gc, on V8 and on Bun. */
export function gc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    // Bun (JavaScriptCore) has no V8 flags: its own full collection is Bun.gc(true).
    const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
    if (typeof exposed === "function") gcFn = exposed;
    else if (bun !== undefined) gcFn = () => bun.gc(true);
    else {
      v8.setFlagsFromString("--expose-gc");
      gcFn = vm.runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

/**
 * Runs full GCs with event-loop turns in between (FinalizationRegistry callbacks run between tasks) until
 * `condition` holds or `rounds` rounds have passed. Returns whether it held. Bounded by rounds, not by time.
 */
export async function collectUntil(condition: () => boolean, rounds = 60): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    // A WeakRef deref()ed by `condition` keeps its target alive until the end of that job: let the job end first.
    await macrotaskTurn();
    gc();
    await macrotaskTurn();
    if (condition()) return true;
  }
  return false;
}
