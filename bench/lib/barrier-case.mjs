// The barrier case's driver: a contended run (lib/measure.mjs runContended) of two workers × n rounds, each worker
// calling wait() n times; the leader of each round adds 2 to a non-atomic counter (so a correct run counts 2n, as
// the other contended cases do). Reported per round (wall ÷ n), not per wait.
import { runContended } from './measure.mjs';

/** Wraps a contended handler so that its ns/op is per barrier round. */
export function barrierRounds(implName, handler) {
  return {
    ...handler,
    async run(n, { timeoutMs, caseDef }) {
      const r = await runContended(implName, caseDef.name, handler, n, { timeoutMs });
      return { ...r, ops: n, nsPerOp: r.nsPerOp * 2 };
    },
  };
}
