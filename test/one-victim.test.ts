// One deadlock, one victim: a thread that leaves its wait (to throw DeadlockError, or on a timeout) withdraws it
// before building its report, so that no other thread sees it still asleep meanwhile. Found by review: with a cycle
// A↔B and a third thread blocking with no timeout on A just after B's wait closed the cycle, the third thread
// sometimes got an "all-asleep" DeadlockError too (7 rounds in 20), though it would have got A once B unwound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, i32, spawn } from "threadsafe";

const ROUNDS = 12;

test("a cycle A↔B with a third thread blocked (no timeout) on A: exactly one DeadlockError, and the third thread gets A", { timeout: 120_000 }, async () => {
  const outcomes: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const a = new Mutex(i32, 0, { name: `victim-A-${round}` });
    const b = new Mutex(i32, 0, { name: `victim-B-${round}` });
    const flags = new Int32Array(new SharedArrayBuffer(16));
    const body = (mine: Mutex<number>, other: Mutex<number>, flags: Int32Array, role: string) => {
      const spin = (ms: number) => {
        const until = performance.now() + ms;
        while (performance.now() < until);
      };
      const first = mine.lock();
      try {
        Atomics.add(flags, 0, 1);
        while (Atomics.load(flags, 0) < 2);
        if (role === "B") {
          spin(5);
          Atomics.store(flags, 1, 1);
        }
        other.lock().unlock();
        return `${role} ok`;
      } catch (e) {
        return `${role} ${(e as { kind?: string; name: string }).kind ?? (e as Error).name}`;
      } finally {
        first.unlock();
      }
    };
    // The third thread, C, blocks with no timeout on A shortly after B has closed the cycle (the delay varies).
    const third = (a: Mutex<number>, flags: Int32Array, delayMs: number) => {
      while (Atomics.load(flags, 0) < 2 || Atomics.load(flags, 1) === 0) Atomics.wait(flags, 2, 0, 0.2);
      const until = performance.now() + delayMs;
      while (performance.now() < until);
      try {
        a.lock().unlock();
        return "C ok";
      } catch (e) {
        return `C ${(e as { kind?: string; name: string }).kind ?? (e as Error).name}`;
      }
    };
    const hA = spawn(body, [a, b, flags, "A"], { name: "A" });
    const hB = spawn(body, [b, a, flags, "B"], { name: "B" });
    const hC = spawn(third, [a, flags, 0.5 + (round % 6) * 0.5], { name: "C" });
    outcomes.push(await Promise.all([hA.join(), hB.join(), hC.join()]));
  }
  for (const [round, outcome] of outcomes.entries()) {
    const errors = outcome.filter((o) => !o.endsWith(" ok"));
    assert.deepEqual(errors.length, 1, `round ${round}: exactly one victim, got ${outcome.join(" | ")}`);
    assert.match(errors[0]!, /^(A|B) cycle$/, `round ${round}: the victim is a member of the cycle: ${outcome.join(" | ")}`);
    assert.equal(outcome[2], "C ok", `round ${round}: C gets A once the victim unwinds`);
  }
});
