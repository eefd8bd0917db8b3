// Rust std's Barrier tests (library/std/tests/sync/barrier.rs), ported test by test to the names of DESIGN.md §1b.
// A `thread::spawn` is a `spawn` (a real worker), the `Arc<Barrier>` is the barrier passed in spawn's args,
// `mpsc::channel` is threadsafe's `channel` (`try_recv` → `tryRecv()`, `undefined` for Rust's `Empty`), and Rust's
// `BarrierWaitResult::is_leader()` is the `isLeader` property of what `wait()` returns. Rust spawns detached threads;
// here they are joined at the end, so a failure inside one is seen. The body runs on the main thread, as a ported
// suite would run it, and as a thread of its own (Rust's harness runs each #[test] on one) with the parking slice
// raised, so that a lost wake-up hangs that thread and the free main thread fails the test at its hang guard.
// What cannot apply is a `test.skip` that says why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type Barrier, type Sender } from "threadsafe";
import { withRaisedSlice } from "./support/park-slice.ts";

/** node:assert/strict, as a body takes it by `await import` (assertion functions need a declared type). */
type Assert = typeof assert;

/**
 * The body of Rust's test_barrier, self-contained (it travels to a worker as source text); `asyncArrival` makes the
 * test thread's own arrival a `waitAsync`.
 */
async function testBarrier(label: string, asyncArrival: boolean): Promise<void> {
  const { Barrier, RecvError, bool, channel, spawn } = await import("threadsafe");
  const assert: Assert = (await import("node:assert/strict")).default;
  const N = 10;
  const barrier = new Barrier(N, { name: label });
  const [tx, rx] = channel(bool, { name: `${label}-rx` });
  const handles = [];
  for (let i = 0; i < N - 1; i++) {
    handles.push(
      spawn(
        (c: Barrier, tx: Sender<boolean>) => {
          tx.send(c.wait().isLeader);
        },
        [barrier, tx],
        { name: `${label}-${i}` },
      ),
    );
  }
  tx.close(); // Rust's last clone is moved into a thread; the test thread keeps no sender

  // At this point the spawned threads are blocked (or not yet started): nothing can have been sent.
  assert.equal(rx.tryRecv(), undefined, "nothing passes the barrier before its 10th party arrives");

  let leaderFound = (asyncArrival ? await barrier.waitAsync() : barrier.wait()).isLeader;

  // Now the barrier is cleared: every thread sends, and exactly one of the 10 was the leader.
  for (let i = 0; i < N - 1; i++) {
    if (rx.recv()) {
      assert.equal(leaderFound, false, "a second leader in one round");
      leaderFound = true;
    }
  }
  assert.equal(leaderFound, true, "no leader in the round");
  await Promise.all(handles.map((h) => h.join()));
  // Exactly N - 1 messages were sent.
  assert.throws(() => rx.recv({ timeout: 30_000 }), (e: unknown) => e instanceof RecvError);
}

test("test_barrier: 9 threads and the main thread meet at Barrier(10); nothing passes early; exactly one leader", { timeout: 120_000 }, async () => {
  await testBarrier("test_barrier", false);
});

test("test_barrier (as a thread of its own, parking slice raised: a lost wake-up hangs)", { timeout: 120_000 }, async () => {
  await withRaisedSlice(() => spawn(testBarrier, ["test_barrier-thread", false], { name: "rust-test" }).join());
});

test.skip("check_barrier_is_ref_unwind_safe: n/a — a compile-time RefUnwindSafe auto-trait check; JS has no such trait");

// ## The same through the async twin (a JS addition: a main thread that may not block uses waitAsync)

test("test_barrier (waitAsync): the main thread's arrival is a waitAsync; exactly one leader", { timeout: 120_000 }, async () => {
  await testBarrier("test_barrier-async", true);
});
