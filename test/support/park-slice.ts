// Wake-up tests raise the parking slice (the longest single sleep of a waiter, 100 ms by default) so that a lost
// wake-up hangs (and fails the test's own bound) instead of being rescued by the next re-check. The slice is a word
// of the runtime buffer: setting it here sets it for every thread of the program, spawned ones included.
import { setCurrentParkSliceMs } from "../../dist/internal.js";

/** Far above every bound of the tests that use it (their waits, their node:test timeouts). */
export const RAISED_SLICE_MS = 10 * 60_000;

/** Runs `body` with the parking slice raised, and restores the default after it, however it ends. */
export async function withRaisedSlice<R>(body: () => Promise<R> | R): Promise<R> {
  setCurrentParkSliceMs(RAISED_SLICE_MS);
  try {
    return await body();
  } finally {
    setCurrentParkSliceMs(0);
  }
}
