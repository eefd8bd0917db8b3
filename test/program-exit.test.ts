// A program that uses threadsafe ends by itself once its work is done: the library leaves nothing behind that keeps
// the process alive (a timer, a listening port, a global message listener). Found on Bun 1.4.5, where a global
// "message" listener on the main thread (src/platform/, the one watch() uses in Web Workers) kept every program that
// imported the library running forever: its output was right, but the process never exited.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

test("a program that locks, spawns and joins a thread and awaits lockAsync() ends by itself, exit code 0", { timeout: 120_000 }, async () => {
  const child = fileURLToPath(new URL("./support/program-exit-child.mjs", import.meta.url));
  // The 60 s bound only turns a process that never ends into a failure (execFile kills it and rejects).
  const { stdout } = await run(process.execPath, [child], { timeout: 60_000 });
  assert.deepEqual(JSON.parse(stdout.trim()), ["thread done", 11]);
});
