// terminate() on every runtime: a thread the library declared dead never runs again. On Node and Bun terminate()
// stops a worker at once; on Deno and in browsers a terminated worker runs on for a while, so there terminate() is a
// request the thread obeys where the library next runs in it (runtime/termination.ts). Each test holds on every
// runtime: the oracle is what the victim could still do after terminate() resolved (nothing), never when it stopped.
// Interleavings are ordered by shared flags and dumpLocks(); node:test timeouts are hang guards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, MutexGuard, PoisonError, ThreadError, dumpLocks, i32, spawn } from "threadsafe";
import { terminateStopsAtOnce } from "../dist/internal.js";

/** Bounds of waits that must not hang a failing test (never asserted as durations). */
const HANG_GUARD_MS = 20_000;

async function until(what: string, condition: () => boolean): Promise<void> {
  const end = performance.now() + HANG_GUARD_MS;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`gave up waiting until ${what}\n${String(dumpLocks())}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Takes `m` expecting PoisonError from the death of `victim`; returns the value the victim left, releasing it. */
async function poisonedValue(m: Mutex<number>, victimName: string): Promise<number> {
  let error: unknown;
  try {
    (await m.lockAsync({ timeout: HANG_GUARD_MS })).unlock();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof PoisonError, `expected PoisonError, got ${(error as Error)?.name}: ${(error as Error)?.message}`);
  assert.match(error.message, new RegExp(`thread "${victimName}" .*was terminated`));
  const guard = error.intoInner() as MutexGuard<number>;
  const value = guard.value;
  m.clearPoison();
  guard.unlock();
  return value;
}

async function rejectsTerminated(join: Promise<unknown>, lockName: string): Promise<void> {
  await assert.rejects(join, (e: unknown) => {
    assert.ok(e instanceof ThreadError, String(e));
    assert.equal(e.how, "terminated", e.message);
    assert.ok(e.message.includes(`still held Mutex "${lockName}", now poisoned and released`), e.message);
    return true;
  });
}

console.log(`# terminate() here ${terminateStopsAtOnce ? "stops a thread at once" : "is a request the thread obeys when the library next runs in it"}`);

test("a holder terminated while busy in its own code never runs again: whatever it does next in the library, it does not get past it", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "term-busy" });
  const other = new Mutex(i32, 0, { name: "term-busy-other" });
  // [0] the victim holds m  [1] leave the busy loop  [2] the victim got past its next lock()
  const flags = new Int32Array(new SharedArrayBuffer(4 * 3));
  const victim = spawn(
    (m: Mutex<number>, other: Mutex<number>, flags: Int32Array, guardMs: number) => {
      const g = m.lock();
      g.value = 1;
      Atomics.store(flags, 0, 1);
      const end = Date.now() + guardMs;
      while (Atomics.load(flags, 1) === 0 && Date.now() < end); // busy in its own code: no library, no event loop
      other.lock().unlock(); // an uncontended lock(): the fast path
      Atomics.store(flags, 2, 1);
      g.value = 2;
      g.unlock();
      return "ran on after terminate()";
    },
    [m, other, flags, HANG_GUARD_MS],
    { name: "busy-victim" },
  );
  await until("the victim holds its lock", () => Atomics.load(flags, 0) === 1);
  if (terminateStopsAtOnce) {
    await victim.terminate(); // Node, Bun: gone now, wherever it was (Node stops a worker soon, not synchronously)
    Atomics.store(flags, 1, 1);
  } else {
    // Deno, browsers: the request is made; the victim, busy in its own code, runs on. Released from its loop now, it
    // obeys in its next lock(), and terminate() resolves once it has.
    const stopped = victim.terminate();
    Atomics.store(flags, 1, 1);
    await stopped;
  }
  await rejectsTerminated(victim.join(), "term-busy");
  assert.equal(Atomics.load(flags, 2), 0, "the terminated thread got past a lock()");
  assert.equal(await poisonedValue(m, "busy-victim"), 1);
  assert.equal(other.isPoisoned(), false);
  assert.equal(other.with((g) => ++g.value), 1, "the other lock is free");
});

test("a holder terminated while it awaits (idle in its event loop) is stopped, and never runs the rest of its function", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "term-idle" });
  // [0] the victim holds m  [1] the victim's await ended
  const flags = new Int32Array(new SharedArrayBuffer(4 * 2));
  const victim = spawn(
    async (m: Mutex<number>, flags: Int32Array, guardMs: number) => {
      const g = m.lock();
      g.value = 3;
      Atomics.store(flags, 0, 1);
      await new Promise((resolve) => setTimeout(resolve, guardMs));
      Atomics.store(flags, 1, 1);
      g.unlock();
    },
    [m, flags, HANG_GUARD_MS],
    { name: "idle-victim" },
  );
  await until("the victim holds its lock", () => Atomics.load(flags, 0) === 1);
  await victim.terminate();
  await rejectsTerminated(victim.join(), "term-idle");
  assert.equal(await poisonedValue(m, "idle-victim"), 3);
  assert.equal(Atomics.load(flags, 1), 0);
});

test("terminating a thread ends the threads it started: a child blocked in lock() never takes that lock, and its own lock is poisoned", { timeout: 90_000 }, async () => {
  const held = new Mutex(i32, 0, { name: "term-child-held" }); // the child holds it when its parent is terminated
  const wanted = new Mutex(i32, 0, { name: "term-child-wanted" }); // this thread holds it; the child waits for it
  // [0] the child holds `held`  [1] the child's id  [2] the child took `wanted`
  const flags = new Int32Array(new SharedArrayBuffer(4 * 3));
  const wantedGuard = await wanted.lockAsync();
  const parent = spawn(
    async (held: Mutex<number>, wanted: Mutex<number>, flags: Int32Array, guardMs: number) => {
      const { spawn } = await import("threadsafe");
      const child = spawn(
        (held: Mutex<number>, wanted: Mutex<number>, flags: Int32Array, guardMs: number) => {
          const g = held.lock();
          g.value = 8;
          Atomics.store(flags, 0, 1);
          // Blocks: the main thread holds it. Its own bound outlasts the main thread's, so that a child that was
          // not stopped fails the test instead of ending by this timeout (which would also poison `held`).
          const w = wanted.lock({ timeout: 3 * guardMs });
          Atomics.store(flags, 2, 1);
          w.unlock();
          g.unlock();
        },
        [held, wanted, flags, guardMs],
        { name: "blocked-child" },
      );
      Atomics.store(flags, 1, child.threadId);
      await child.join();
    },
    [held, wanted, flags, HANG_GUARD_MS],
    { name: "parent-of-blocked-child" },
  );
  try {
    await until("the child holds its lock", () => Atomics.load(flags, 0) === 1);
    const childId = Atomics.load(flags, 1);
    await until("the child is blocked on the main thread's lock", () =>
      dumpLocks().threads.some((t) => t.thread.id === childId && t.blockedOn?.id === wanted.lockId),
    );
    await parent.terminate();
    await assert.rejects(parent.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
    assert.equal(await poisonedValue(held, "blocked-child"), 8);
    wantedGuard.unlock();
    assert.equal(wanted.with((g) => ++g.value), 1);
    assert.equal(Atomics.load(flags, 2), 0, "the child of a terminated thread took a lock");
    assert.equal(wanted.isPoisoned(), false);
  } finally {
    if (wantedGuard.held) wantedGuard.unlock();
  }
});
