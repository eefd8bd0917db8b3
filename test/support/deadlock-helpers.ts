// Main-thread helpers for test/deadlock.test.ts and test/lock-order.test.ts. Spawned functions cannot use these
// (they travel as source text): they get everything they need through their args.
import { dumpLocks, type JoinHandle } from "threadsafe";
import { waitUntil } from "./wait-for.ts";

export { lockState, threadState, waitForAsyncWaits, waitForOwner, waitForWaiterCount, waitForWaiters, waitUntil } from "./wait-for.ts";

/** A small shared flag array for making threads meet at known points. */
export function flags(n = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` from the main thread's event loop; throws after `ms` (a guard against hangs only). */
export function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  return waitUntil(condition, what, ms);
}

/**
 * Joins every handle within `ms`. If the time runs out (a missed deadlock or a lost wake-up would hang the workers
 * forever) or one thread fails, the others are terminated so the test fails at once instead of hanging the file,
 * and the error carries a lock dump taken before the terminations.
 */
export async function joinAll<T>(handles: ReadonlyArray<JoinHandle<T>>, ms: number, what: string): Promise<T[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), ms);
  });
  try {
    const all = Promise.all(handles.map((h) => h.join()));
    const outcome = await Promise.race([all, expired]);
    if (outcome === "expired") {
      const dump = String(dumpLocks());
      await Promise.all(handles.map((h) => h.terminate().catch(() => {})));
      throw new Error(`${what}: the threads did not finish within ${ms} ms (a missed deadlock or a lost wake-up?)\n${dump}`);
    }
    return outcome;
  } catch (error) {
    await Promise.all(handles.map((h) => h.terminate().catch(() => {})));
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Numbers the reply to the issue reports, printed as TAP comments at the end of the file. */
const notes: string[] = [];
export function note(line: string): void {
  notes.push(line);
}
process.on("exit", () => {
  if (notes.length > 0) console.log(notes.join("\n")); // the test runner turns this output into TAP comments
});
