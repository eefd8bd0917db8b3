// Barrier across real workers on real shared memory: exactly one leader per round, nobody passes early, reuse,
// withdrawal on timeout, abort and death. Exact oracles, a time bound on each test, interleavings ordered by what
// dumpLocks() shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, ThreadError, TimeoutError, dumpLocks, spawn, type BarrierWaitResult } from "threadsafe";
import { waitUntil } from "./support/wait-for.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

function words(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Threads listed by dumpLocks() as waiting (sync or async) on barrier `b`. */
function barrierWaiters(b: Barrier): string[] {
  return (dumpLocks().locks.find((l) => l.lock.id === b.lockId)?.waiters ?? []).map((w) => w.thread.name);
}

test("10 threads × 100 rounds: exactly one leader per round, nobody passes early (slice raised)", { timeout: 120_000 }, async () => {
  const THREADS = 10;
  const ROUNDS = 100;
  const barrier = new Barrier(THREADS, { name: "rounds" });
  const arrived = words(ROUNDS); // per round: how many arrived before waiting
  const leaders = words(ROUNDS);
  const early = words(1); // waits that returned before the round's 10 arrivals
  await withRaisedSlice(async () => {
    const handles = [];
    for (let t = 0; t < THREADS; t++) {
      handles.push(
        spawn(
          (b: Barrier, arrived: Int32Array, leaders: Int32Array, early: Int32Array, rounds: number, threads: number) => {
            for (let r = 0; r < rounds; r++) {
              Atomics.add(arrived, r, 1);
              const { isLeader } = b.wait();
              if (Atomics.load(arrived, r) !== threads) Atomics.add(early, 0, 1);
              if (isLeader) Atomics.add(leaders, r, 1);
            }
          },
          [barrier, arrived, leaders, early, ROUNDS, THREADS],
          { name: `party-${t}` },
        ),
      );
    }
    await Promise.all(handles.map((h) => h.join()));
  });
  assert.equal(early[0], 0, "no wait returned before all 10 had arrived");
  assert.deepEqual([...arrived], new Array(ROUNDS).fill(THREADS));
  assert.deepEqual([...leaders], new Array(ROUNDS).fill(1), "exactly one leader per round");
});

test("the main thread takes part with waitAsync while workers use wait(): one leader per round", { timeout: 60_000 }, async () => {
  const ROUNDS = 50;
  const barrier = new Barrier(3, { name: "mixed" });
  const leaders = words(ROUNDS);
  const handles = [0, 1].map((t) =>
    spawn(
      (b: Barrier, leaders: Int32Array, rounds: number) => {
        for (let r = 0; r < rounds; r++) if (b.wait().isLeader) Atomics.add(leaders, r, 1);
      },
      [barrier, leaders, ROUNDS],
      { name: `sync-${t}` },
    ),
  );
  for (let r = 0; r < ROUNDS; r++) if ((await barrier.waitAsync()).isLeader) Atomics.add(leaders, r, 1);
  await Promise.all(handles.map((h) => h.join()));
  assert.deepEqual([...leaders], new Array(ROUNDS).fill(1));
});

test("Barrier(1) and Barrier(0): every wait returns at once as the leader; reuse", async () => {
  for (const n of [0, 1]) {
    const b = new Barrier(n);
    assert.equal(b.parties, 1);
    for (let i = 0; i < 5; i++) assert.deepEqual(b.wait(), { isLeader: true });
    assert.deepEqual(await b.waitAsync(), { isLeader: true });
  }
});

test("a wait that times out withdraws its arrival: the next round needs all its parties again", { timeout: 60_000 }, async () => {
  const barrier = new Barrier(2, { name: "withdraw" });
  const error = (() => {
    try {
      barrier.wait({ timeout: 20 });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.name, "TimeoutError");
  assert.match(error.message, /waiting on Barrier "withdraw"/);
  assert.throws(() => barrier.wait({ timeout: 0 }), TimeoutError);
  // Had an arrival stood, this worker's arrival would complete the round alone and it would pass as the leader.
  const passed = words(1);
  const worker = spawn(
    (b: Barrier, passed: Int32Array) => {
      const r = b.wait({ timeout: 30_000 });
      Atomics.store(passed, 0, 1);
      return r.isLeader;
    },
    [barrier, passed],
    { name: "second-party" },
  );
  await waitUntil(() => barrierWaiters(barrier).includes("second-party") || Atomics.load(passed, 0) === 1, "the worker waits (or passed)");
  assert.equal(Atomics.load(passed, 0), 0, "the worker did not pass alone: the timed-out arrivals were withdrawn");
  const mine = barrier.wait();
  assert.equal(mine.isLeader, true);
  assert.equal(await worker.join(), false);
});

test("waitAsync: abort and timeout withdraw the arrival and reject; the barrier still works", { timeout: 60_000 }, async () => {
  const barrier = new Barrier(2, { name: "async-withdraw" });
  const controller = new AbortController();
  const pending = barrier.waitAsync({ signal: controller.signal });
  await waitUntil(() => barrierWaiters(barrier).length === 1, "the async wait is listed");
  const reason = new Error("cancelled");
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(barrier.waitAsync({ timeout: 10 }), TimeoutError);
  await assert.rejects(barrier.waitAsync({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const passed = words(1);
  const worker = spawn(
    (b: Barrier, passed: Int32Array) => {
      const r = b.wait({ timeout: 30_000 });
      Atomics.store(passed, 0, 1);
      return r.isLeader;
    },
    [barrier, passed],
    { name: "async-second" },
  );
  await waitUntil(() => barrierWaiters(barrier).includes("async-second") || Atomics.load(passed, 0) === 1, "the worker waits (or passed)");
  assert.equal(Atomics.load(passed, 0), 0, "no withdrawn arrival counted");
  const results: BarrierWaitResult[] = [await barrier.waitAsync(), { isLeader: await worker.join() }];
  assert.deepEqual(results.map((r) => r.isLeader).sort(), [false, true]);
});

test("a thread that dies while waiting at a barrier has its arrival withdrawn", { timeout: 60_000 }, async () => {
  const barrier = new Barrier(2, { name: "death" });
  const victim = spawn(
    (b: Barrier) => {
      b.wait();
      return "passed";
    },
    [barrier],
    { name: "dies-waiting" },
  );
  await waitUntil(() => barrierWaiters(barrier).includes("dies-waiting"), "the victim waits at the barrier");
  void victim.terminate();
  const joined = await victim.join().then(
    (v) => v,
    (e: unknown) => e,
  );
  assert.ok(joined instanceof ThreadError && joined.how === "terminated", String(joined));
  // The dead party's arrival is gone: a lone arrival does not complete the round.
  assert.throws(() => barrier.wait({ timeout: 20 }), TimeoutError);
  // Two live parties do.
  const other = spawn((b: Barrier) => b.wait({ timeout: 30_000 }).isLeader, [barrier], { name: "live-party" });
  const mine = barrier.wait({ timeout: 30_000 });
  assert.deepEqual([mine.isLeader, await other.join()].sort(), [false, true]);
});

test("arguments are validated with threadsafe: errors naming what is allowed", async () => {
  for (const bad of [-1, 1.5, NaN, Infinity, 65_536]) assert.throws(() => new Barrier(bad), /threadsafe: new Barrier\(n\): n must be an integer from 0 to 65535/);
  for (const bad of ["3", null, undefined, {}]) assert.throws(() => new Barrier(bad as number), TypeError);
  assert.throws(() => new Barrier(2, "x" as unknown as object), /options must be an object/);
  const b = new Barrier(2);
  assert.throws(() => b.wait({ timeout: -5 }), RangeError);
  assert.throws(() => b.wait(3 as unknown as object), /threadsafe: wait\(options\)/);
  await assert.rejects(b.waitAsync({ signal: "no" as unknown as AbortSignal }), /signal must be an AbortSignal/);
  assert.match(b.name, /^Barrier#\d+$/);
});
