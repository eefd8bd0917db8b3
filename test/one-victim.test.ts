// One deadlock, one victim: a thread that leaves its wait (to throw DeadlockError, or on a timeout) withdraws it
// before building its report, so that no other thread sees it still asleep meanwhile. Found by review: with a cycle
// A↔B and a third thread blocking with no timeout on A just after B's wait closed the cycle, the third thread
// sometimes got an "all-asleep" DeadlockError too (7 rounds in 20), though it would have got A once B unwound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

const ROUNDS = 20;

test("a cycle A↔B with a third thread blocked (no timeout) on A: exactly one DeadlockError, and the third thread gets A", { timeout: 120_000 }, async () => {
  // The third thread is the main thread of a process of its own: the scenario needs every thread of the program in
  // it (a free main thread, like this test's, is a thread that could still wake the others).
  const child = fileURLToPath(new URL("./support/one-victim-child.mjs", import.meta.url));
  const { stdout } = await run(process.execPath, [child, String(ROUNDS)], { timeout: 100_000 });
  const outcomes = JSON.parse(stdout) as string[][];
  assert.equal(outcomes.length, ROUNDS);
  for (const [round, outcome] of outcomes.entries()) {
    const errors = outcome.filter((o) => !o.endsWith(" ok"));
    assert.deepEqual(errors.length, 1, `round ${round}: exactly one victim, got ${outcome.join(" | ")}`);
    assert.match(errors[0]!, /^(A|B) cycle$/, `round ${round}: the victim is a member of the cycle: ${outcome.join(" | ")}`);
    assert.equal(outcome[2], "C ok", `round ${round}: C gets A once the victim unwinds`);
  }
});
