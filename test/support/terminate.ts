// terminate() of a thread that is busy in its own code, for tests that must mean the same on every runtime.
// Where terminate() stops a worker at once (Node, Bun) the thread is stopped wherever it is. Where it is a request
// (Deno, browsers: README, "Thread ends on each runtime"), the thread obeys at its next call into the library (a wait's
// slice, a mutex's lock or unlock, its event loop, the end of its function): a thread sitting in its own
// Atomics.wait or busy loop would never get there, and the test would wait out its bound instead.
import type { JoinHandle } from "threadsafe";
import { terminateStopsAtOnce } from "../../dist/internal.js";

/**
 * Terminates `handle`'s thread, which is waiting or spinning in its own code until `release()` lets it go on to its
 * next library call. Where terminate() is a request, `release()` runs right after the request was made (terminate()
 * makes it before its first await), so the thread obeys there, holding whatever it held, exactly as a thread
 * stopped at once would have left it. Where terminate() stops the thread at once, `release()` is not called: the
 * release would race the termination, and the thread could go on and finish instead of being terminated.
 */
export async function terminateWaiting(handle: JoinHandle<unknown>, release: () => void): Promise<void> {
  const terminated = handle.terminate();
  if (!terminateStopsAtOnce) release();
  await terminated;
}
