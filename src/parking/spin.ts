/**
 * Waiting awake before parking: polls a condition for a short time, so that a hand-off between running threads costs
 * no futex sleep and no wake (docs/measurements.md §14: a thread that sleeps the instant it waits lets its vCPU go
 * idle, and waking an idle vCPU costs tens of µs to a millisecond on a VM).
 *
 * Bounded by time, not by a count of polls alone: a poll costs 6 ns on Node 20 (where `Atomics.pause` does not
 * exist) to 40 ns on Node 26. Also bounded by a count: where the clock is coarse or stands still (a browser's
 * coarsened `performance.now`, the model checker's virtual clock), the spin still ends.
 */

import { now, pause } from "../platform/index.js";

/** How long a spin lasts at most, in ms. */
export const SPIN_MS = 0.02;
/** How many polls a spin makes at most (~25 µs at Node 20's 6 ns per poll; the time bound ends it first elsewhere). */
const SPIN_POLLS = 4096;
/**
 * The clock is read once every this many polls, and first after that many: `performance.now()` costs about 70 ns
 * here (five compare-and-swaps; docs/measurements.md §16), and most spins end within a few polls (a hand-off between
 * running threads), which then read no clock at all. A spin so lasts up to `ms` plus this many polls.
 */
const CLOCK_EVERY = 64;
/** What a poll returns to be polled again. */
export const POLL_AGAIN = -1;
/** What a poll returns to end the spin at once, without a result (the caller then parks, or throws). */
export const POLL_STOP = -2;

/**
 * Calls `poll` (with a pause between calls) until it returns a result (≥ 0) or POLL_STOP, for up to `ms` and
 * SPIN_POLLS polls; returns that, or POLL_AGAIN when the spin ran out.
 */
export function spin(poll: () => number, ms: number = SPIN_MS): number {
  let start = -1;
  for (let i = 1; i <= SPIN_POLLS; i++) {
    const result = poll();
    if (result !== POLL_AGAIN) return result;
    if ((i & (CLOCK_EVERY - 1)) === 0) {
      const t = now();
      if (start < 0) {
        start = t;
        if (ms <= 0) break;
      } else if (t - start >= ms) break;
    }
    pause();
  }
  return POLL_AGAIN;
}
