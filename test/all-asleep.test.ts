// DESIGN §1b, "all threads asleep": when every live thread of the program is blocked in an untimed wait that only
// another thread could end, the last one to go to sleep throws DeadlockError with kind "all-asleep" (Go's "all
// goroutines are asleep"); and no such error while one thread is merely slow. Each scenario runs in a process of
// its own (test/support/all-asleep-child.mjs), whose main thread takes part: this test's main thread is free to run
// its event loop, so in this process no wait could ever be "all asleep".
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./support/all-asleep-child.mjs", import.meta.url));

async function scenario(mode: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [child, mode], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as string[];
}

test("three threads waiting on a condvar nobody will notify: exactly one DeadlockError, of kind all-asleep", { timeout: 120_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const outcomes = await scenario("stuck");
    assert.deepEqual(
      outcomes.filter((o) => o.startsWith("DeadlockError")),
      ["DeadlockError all-asleep"],
      `round ${round}: one victim of kind all-asleep, got ${outcomes.join(" | ")}`,
    );
    assert.equal(outcomes.filter((o) => o === "woken").length, 2, `round ${round}: the victim released the others: ${outcomes.join(" | ")}`);
  }
});

test("no all-asleep error while one thread is merely slow: it wakes the others later", { timeout: 120_000 }, async () => {
  const outcomes = await scenario("slow");
  assert.deepEqual(outcomes, ["woken", "woken", "woken", "notifier"]);
});
