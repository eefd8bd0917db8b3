/** `currentThread()`: who is running this code, as errors and reports name it. */

import type { ThreadRef } from "../errors.js";
import { currentThreadId, runtime } from "../runtime/current.js";

/**
 * The calling thread's id and name. The main thread is `{ id: 1, name: "main" }` when it is the first to use the
 * library; spawned threads have the name given to `spawn` (or `thread-<id>`).
 *
 * @example
 * spawn(async () => { const { currentThread } = await import("threadsafe"); return currentThread().name; }, [], { name: "w1" });
 */
export function currentThread(): ThreadRef {
  const rt = runtime();
  return { id: currentThreadId, name: rt.threadName(currentThreadId) };
}
