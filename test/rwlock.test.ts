// RwLock<T> across real workers on real shared memory. Every test has an exact oracle and a time bound (a hang
// guard, never an oracle); interleavings are ordered by what dumpLocks() shows, not by sleeping.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DeadlockError,
  LockOrderError,
  LockTimeoutError,
  Mutex,
  PoisonError,
  RwLock,
  RwLockReadGuard,
  RwLockWriteGuard,
  ThreadError,
  array,
  currentThread,
  dumpLocks,
  i32,
  receive,
  share,
  spawn,
  struct,
  type CycleEntry,
} from "threadsafe";
import { Runtime, setParkSliceMs } from "../dist/internal.js";
import { lockState, waitForOwner, waitForWaiters, waitUntil } from "./support/wait-for.ts";
import { terminateWaiting } from "./support/terminate.ts";

/** A small shared Int32Array for making threads meet at known points. */
function flags(n = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Sets flag `i` and wakes whoever waits on it. */
function signalFlag(f: Int32Array, i: number): void {
  Atomics.store(f, i, 1);
  Atomics.notify(f, i);
}

/** Raises the parking slice so that a lost wake-up hangs (and fails on the test's time bound) instead of costing 100 ms. */
function withLongSlices(): () => void {
  const probe = new RwLock(i32, 0, { name: "slice-probe" });
  const message = share({ probe }); // its handle names the runtime buffer
  const handle = (message as unknown as { value: { probe: Record<string, unknown> } }).value.probe;
  receive(message); // drops the message's pin
  const rt = Runtime.attach(handle["runtime"]);
  setParkSliceMs(rt, 600_000);
  return () => setParkSliceMs(rt, 0);
}

const mainId = currentThread().id;

test("readers overlap: 4 workers are inside read() at once (a counter of readers inside reaches 4)", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 7, { name: "shared-read" });
  const ctl = flags(2); // 0: readers inside, 1: max observed
  const handles = [];
  for (let w = 0; w < 4; w++) {
    handles.push(
      spawn(
        (lock: RwLock<number>, ctl: Int32Array) => {
          const g = lock.read();
          const inside = Atomics.add(ctl, 0, 1) + 1;
          for (let seen = inside; ; seen = Atomics.load(ctl, 0)) {
            // Record the most readers ever seen inside together; stay until all 4 are in (bounded: a hang guard).
            Atomics.store(ctl, 1, Math.max(Atomics.load(ctl, 1), seen));
            if (seen >= 4) break;
            if (Atomics.wait(ctl, 0, seen, 10_000) === "timed-out") break;
          }
          Atomics.notify(ctl, 0);
          const value = g.value;
          g.unlock();
          return value;
        },
        [lock, ctl],
      ),
    );
  }
  const values = await Promise.all(handles.map((h) => h.join()));
  assert.deepEqual(values, [7, 7, 7, 7]);
  assert.equal(Atomics.load(ctl, 1), 4, "all 4 readers were inside at the same time");
  assert.equal(lockState(lock), undefined, "released by all");
});

test("a writer excludes everyone: 2 writers and 2 readers, invariant a + b = 0 and nobody inside beside a writer", { timeout: 60_000 }, async () => {
  const lock = new RwLock(struct({ a: i32, b: i32 }), { a: 0, b: 0 }, { name: "pair" });
  const ctl = flags(4); // 0: writers inside, 1: readers inside
  const handles = [];
  for (let w = 0; w < 2; w++) {
    handles.push(
      spawn(
        (lock: RwLock<{ a: number; b: number }>, ctl: Int32Array, n: number) => {
          let bad = 0;
          for (let i = 0; i < n; i++) {
            const g = lock.write();
            if (Atomics.add(ctl, 0, 1) !== 0 || Atomics.load(ctl, 1) !== 0) bad++;
            const v = g.value;
            v.a = v.a + 1; // two non-atomic steps: only exclusion keeps a + b = 0 for readers
            v.b = v.b - 1;
            Atomics.sub(ctl, 0, 1);
            g.unlock();
          }
          return bad;
        },
        [lock, ctl, 20_000],
      ),
    );
  }
  for (let r = 0; r < 2; r++) {
    handles.push(
      spawn(
        (lock: RwLock<{ a: number; b: number }>, ctl: Int32Array, n: number) => {
          let bad = 0;
          for (let i = 0; i < n; i++) {
            const g = lock.read();
            Atomics.add(ctl, 1, 1);
            if (Atomics.load(ctl, 0) !== 0) bad++;
            const v = g.value;
            if (v.a + v.b !== 0) bad++;
            Atomics.sub(ctl, 1, 1);
            g.unlock();
          }
          return bad;
        },
        [lock, ctl, 20_000],
      ),
    );
  }
  const bad = await Promise.all(handles.map((h) => h.join()));
  assert.deepEqual(bad, [0, 0, 0, 0]);
  assert.deepEqual(lock.get(), { a: 40_000, b: -40_000 });
});

test("writer preference: two readers that always overlap do not starve a writer; the writer gets in", { timeout: 60_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "hot" });
  const ctl = flags(4); // 0: stop, 1-2: entries of reader 0 and 1
  const readers = [0, 1].map((i) =>
    spawn(
      (lock: RwLock<number>, ctl: Int32Array, i: number) => {
        let holds = 0;
        while (Atomics.load(ctl, 0) === 0) {
          const g = lock.read();
          holds++;
          Atomics.add(ctl, 1 + i, 1);
          // Hold until the other reader has come in beside us (so the lock is never free of readers), unless it
          // cannot come in (a waiting writer holds it back): then give up after 20 ms.
          const other = Atomics.load(ctl, 2 - i);
          const until = Date.now() + 20;
          while (Atomics.load(ctl, 2 - i) === other && Atomics.load(ctl, 0) === 0 && Date.now() < until);
          g.unlock();
        }
        return holds;
      },
      [lock, ctl, i],
      { name: `reader-${i}` },
    ),
  );
  await waitUntil(() => Atomics.load(ctl, 1) > 100 && Atomics.load(ctl, 2) > 100, "both readers take turns");
  // The writer: a hang guard of 20 s, which a starved writer would hit (LockTimeoutError fails the test).
  const writer = spawn(
    (lock: RwLock<number>) => {
      lock.withWrite((g) => {
        g.value = 1;
      }, { timeout: 20_000 });
      return "in";
    },
    [lock],
    { name: "writer" },
  );
  assert.equal(await writer.join(), "in");
  Atomics.store(ctl, 0, 1);
  const holds = await Promise.all(readers.map((h) => h.join()));
  assert.ok(holds.every((n) => n > 100), `both readers read: ${holds}`);
  assert.equal(lock.get(), 1);
});

test("downgrade is atomic: a writer waiting when a write guard is downgraded never gets in before that read guard reads, 20 rounds", { timeout: 60_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "downgrade" });
  for (let round = 1; round <= 20; round++) {
    const w = lock.write();
    w.value = round * 2 - 1;
    const other = spawn(
      (lock: RwLock<number>, value: number) => {
        lock.withWrite((g) => {
          g.value = value;
        });
      },
      [lock, round * 2],
      { name: `writer-${round}` },
    );
    await waitForWaiters(lock, [`writer-${round}`]);
    const r = w.downgrade();
    assert.equal(w.held, false);
    assert.ok(r instanceof RwLockReadGuard);
    assert.equal(r.value, round * 2 - 1, "no writer got in between write and read");
    assert.equal(lock.tryWrite(), undefined);
    r.unlock();
    await other.join();
    assert.equal(lock.get(), round * 2);
  }
});

test("downgrade wakes waiting readers (with long parking slices: a lost wake hangs)", { timeout: 30_000 }, async () => {
  const restore = withLongSlices();
  try {
    const lock = new RwLock(i32, 0, { name: "downgrade-wake" });
    const w = lock.write();
    const readers = [0, 1, 2].map((i) => spawn((lock: RwLock<number>) => lock.withRead((g) => g.value), [lock], { name: `dr-${i}` }));
    await waitForWaiters(lock, ["dr-0", "dr-1", "dr-2"]);
    w.value = 5;
    const r = w.downgrade();
    assert.deepEqual(await Promise.all(readers.map((h) => h.join())), [5, 5, 5]);
    r.unlock();
  } finally {
    restore();
  }
});

test("wake-ups (long parking slices): a writer's unlock wakes every blocked reader; the last reader's unlock wakes a blocked writer; writers hand over", { timeout: 60_000 }, async () => {
  const restore = withLongSlices();
  try {
    const lock = new RwLock(i32, 0, { name: "wakes" });
    // Readers blocked behind a writer.
    const w = lock.write();
    const readers = [0, 1, 2, 3].map((i) => spawn((lock: RwLock<number>) => lock.withRead((g) => g.value), [lock], { name: `r-${i}` }));
    await waitForWaiters(lock, ["r-0", "r-1", "r-2", "r-3"]);
    w.value = 9;
    w.unlock();
    assert.deepEqual(await Promise.all(readers.map((h) => h.join())), [9, 9, 9, 9]);
    // A writer blocked behind two readers (main holds both reads).
    const r1 = lock.read();
    const r2 = lock.read();
    const writer = spawn((lock: RwLock<number>) => lock.withWrite((g) => (g.value += 1)), [lock], { name: "w-1" });
    await waitForWaiters(lock, ["w-1"]);
    r1.unlock();
    assert.equal(lockState(lock)?.waiters.length, 1, "still waiting for the second read");
    r2.unlock();
    assert.equal(await writer.join(), 10);
    // Three writers behind one: each unlock hands over to the next.
    const first = lock.write();
    const writers = [0, 1, 2].map((i) => spawn((lock: RwLock<number>) => lock.withWrite((g) => (g.value += 1)), [lock], { name: `w-${i + 2}` }));
    await waitForWaiters(lock, ["w-2", "w-3", "w-4"]);
    first.unlock();
    const results = await Promise.all(writers.map((h) => h.join()));
    assert.deepEqual([...results].sort(), [11, 12, 13]);
  } finally {
    restore();
  }
});

test("a dead reader's hold is released, not poisoned; a waiting writer then gets in", { timeout: 30_000 }, async () => {
  for (const death of ["returned", "terminated"] as const) {
    const lock = new RwLock(i32, 1, { name: `reader-death-${death}` });
    const ctl = flags(3);
    const reader = spawn(
      (lock: RwLock<number>, ctl: Int32Array, death: string) => {
        const g = lock.read();
        void g;
        Atomics.store(ctl, 0, 1);
        Atomics.notify(ctl, 0);
        // Until told to go: "returned" then ends holding the read guard; "terminated" goes only where terminate() is
        // a request, released right after it (flag 2) to obey as its function ends.
        const go = death === "terminated" ? 2 : 1;
        while (Atomics.load(ctl, go) === 0) Atomics.wait(ctl, go, 0, 1000);
      },
      [lock, ctl, death],
      { name: `dying-reader-${death}` },
    );
    await waitUntil(() => Atomics.load(ctl, 0) === 1, "the reader holds its read lock");
    assert.deepEqual(lockState(lock)?.holders.map((t) => t.name), [`dying-reader-${death}`]);
    const writer = spawn((lock: RwLock<number>) => lock.withWrite((g) => (g.value += 1), { timeout: 20_000 }), [lock], { name: "after-death" });
    await waitForWaiters(lock, ["after-death"]);
    if (death === "terminated") await terminateWaiting(reader, () => signalFlag(ctl, 2));
    else Atomics.store(ctl, 1, 1);
    const end = await reader.join().then(
      () => "ok",
      (e: ThreadError) => e.how,
    );
    assert.equal(end, death === "terminated" ? "terminated" : "held-locks");
    assert.equal(await writer.join(), 2);
    assert.equal(lock.isPoisoned(), false, "readers never poison");
    assert.equal(lockState(lock), undefined);
  }
});

test("a dead writer poisons the lock; a waiting reader wakes with PoisonError naming it, intoInner() reads, clearPoison() clears", { timeout: 30_000 }, async () => {
  const lock = new RwLock(struct({ a: i32 }), { a: 1 }, { name: "writer-death" });
  const ctl = flags(2);
  const victim = spawn(
    (lock: RwLock<{ a: number }>, ctl: Int32Array) => {
      const g = lock.write();
      g.value.a = 2;
      Atomics.store(ctl, 0, 1);
      // Until terminated; where terminate() is a request, released after it to obey as its function ends, holding g.
      while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 1000);
    },
    [lock, ctl],
    { name: "dying-writer" },
  );
  await waitUntil(() => Atomics.load(ctl, 0) === 1, "the writer holds the lock");
  await waitForOwner(lock, "dying-writer");
  // The guard inside a PoisonError must be claimed in the task that got it (else it is released when that task ends).
  const reading = lock.readAsync({ timeout: 20_000 }).then(
    () => "no error",
    (e: unknown) => (e instanceof PoisonError ? { error: e, guard: e.intoInner() as RwLockReadGuard<{ a: number }> } : e),
  );
  await waitUntil(() => lockState(lock)?.waiters.some((w) => w.kind === "async") === true, "the main thread's readAsync waits");
  await terminateWaiting(victim, () => signalFlag(ctl, 1));
  const outcome = await reading;
  assert.ok(typeof outcome === "object" && outcome !== null && "guard" in outcome, String(outcome));
  const { error, guard: g } = outcome as { error: PoisonError<unknown>; guard: RwLockReadGuard<{ a: number }> };
  assert.match(error.message, /RwLock "writer-death" is poisoned: thread "dying-writer"/);
  assert.match(error.message, /terminated/);
  assert.equal(g.value.a, 2);
  assert.throws(() => lock.write({ timeout: 0 }), DeadlockError, "an upgrade of the claimed read guard");
  g.unlock();
  assert.equal(lock.isPoisoned(), true);
  assert.throws(() => lock.read(), PoisonError);
  lock.clearPoison();
  assert.equal(lock.isPoisoned(), false);
  assert.deepEqual(lock.get(), { a: 2 });
});

test("poisoning: only a throwing withWrite poisons; withRead throwing does not", { timeout: 10_000 }, () => {
  const lock = new RwLock(i32, 0, { name: "poison" });
  assert.throws(() => lock.withRead(() => {
    throw new Error("reader boom");
  }), /reader boom/);
  assert.equal(lock.isPoisoned(), false);
  assert.throws(() => lock.withWrite((g) => {
    g.value = 5;
    throw new Error("writer boom");
  }), /writer boom/);
  assert.equal(lock.isPoisoned(), true);
  for (const take of [() => lock.read(), () => lock.write(), () => lock.tryRead(), () => lock.tryWrite()]) {
    try {
      take();
      assert.fail("expected a PoisonError");
    } catch (error) {
      assert.ok(error instanceof PoisonError);
      assert.match(error.message, /threw while holding it/);
      const g = error.intoInner() as RwLockReadGuard<number> | RwLockWriteGuard<number>;
      assert.equal(g.value, 5);
      g.unlock();
    }
  }
  lock.clearPoison();
  assert.equal(lock.withRead((g) => g.value), 5);
});

test("read/write cycle: T1 holds read(A) and waits write(B), T2 holds read(B) and waits write(A): exactly one DeadlockError, 20 rounds", { timeout: 60_000 }, async () => {
  const ROUNDS = 20;
  const a = new RwLock(i32, 0, { name: "A" });
  const b = new RwLock(i32, 0, { name: "B" });
  const ctl = flags(2 * ROUNDS + 2);
  const body = async (first: RwLock<number>, second: RwLock<number>, ctl: Int32Array, rounds: number, me: number) => {
    const { DeadlockError } = await import("threadsafe");
    const outcome: string[] = [];
    let cycle: unknown;
    for (let r = 0; r < rounds; r++) {
      const held = first.read();
      // Meet: both hold their read before either asks for the write.
      Atomics.add(ctl, 2 * r, 1);
      while (Atomics.load(ctl, 2 * r) < 2) Atomics.wait(ctl, 2 * r, 1, 5);
      try {
        second.withWrite((g) => {
          g.value += 1;
        }, { timeout: 20_000 });
        outcome.push("wrote");
      } catch (error) {
        if (!(error instanceof DeadlockError)) throw error;
        outcome.push("victim");
        cycle ??= { kind: error.kind, cycle: error.cycle, message: error.message, me };
      }
      held.unlock();
      // Both leave the round before the next starts.
      Atomics.add(ctl, 2 * r + 1, 1);
      while (Atomics.load(ctl, 2 * r + 1) < 2) Atomics.wait(ctl, 2 * r + 1, 1, 5);
    }
    return { outcome, cycle };
  };
  const t1 = spawn(body, [a, b, ctl, ROUNDS, 1], { name: "T1" });
  const t2 = spawn(body, [b, a, ctl, ROUNDS, 2], { name: "T2" });
  const [one, two] = await Promise.all([t1.join(), t2.join()]);
  for (let r = 0; r < ROUNDS; r++) {
    assert.deepEqual([one.outcome[r], two.outcome[r]].sort(), ["victim", "wrote"], `round ${r}`);
  }
  assert.equal(a.get() + b.get(), ROUNDS);
  const found = (one.cycle ?? two.cycle) as { kind: string; cycle: CycleEntry[]; message: string };
  assert.equal(found.kind, "cycle");
  assert.equal(found.cycle.length, 2);
  assert.deepEqual(found.cycle.map((e) => e.waitsFor.name).sort(), ["A", "B"]);
  assert.deepEqual(found.cycle.map((e) => e.holds.map((l) => l.name)).sort(), [["A"], ["B"]]);
  assert.match(found.message, /RwLock "A"/);
  assert.match(found.message, /RwLock "B"/);
});

test("writer preference cycle: a thread holding read(A) asks for read(A) again behind a waiting writer: it gets the DeadlockError, the writer goes on", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "recursive" });
  const ctl = flags(2);
  const reader = spawn(
    async (lock: RwLock<number>, ctl: Int32Array) => {
      const { DeadlockError } = await import("threadsafe");
      const first = lock.read();
      Atomics.store(ctl, 0, 1);
      while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 5); // until the writer waits
      let result = "no error";
      try {
        lock.read({ timeout: 20_000 }).unlock();
      } catch (error) {
        result = error instanceof DeadlockError ? `${error.kind}: ${error.cycle.map((e) => e.thread.name).join(",")}` : String(error);
      }
      first.unlock();
      return result;
    },
    [lock, ctl],
    { name: "re-reader" },
  );
  await waitUntil(() => Atomics.load(ctl, 0) === 1, "the reader holds read(A)");
  const writer = spawn((lock: RwLock<number>) => lock.withWrite((g) => (g.value = 1), { timeout: 20_000 }), [lock], { name: "waiting-writer" });
  await waitForWaiters(lock, ["waiting-writer"]);
  Atomics.store(ctl, 1, 1);
  assert.equal(await reader.join(), "cycle: re-reader,waiting-writer");
  assert.equal(await writer.join(), 1);
});

test("no false positive: a reader waiting behind a waiting writer, whose holder is merely running, gets no DeadlockError", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "queue" });
  const held = lock.read(); // the main thread holds a read and keeps running
  const writer = spawn((lock: RwLock<number>) => lock.withWrite((g) => (g.value = 1)), [lock], { name: "w" });
  await waitForWaiters(lock, ["w"]);
  const reader = spawn((lock: RwLock<number>) => lock.withRead((g) => g.value), [lock], { name: "r" });
  await waitForWaiters(lock, ["w", "r"]);
  // Both have published their waits (and checked for cycles): let them run their checks a few slices.
  await waitUntil(() => (lockState(lock)?.waiters.every((w) => (w.waitingMs ?? 0) > 250) ?? false), "both have waited past a few checks");
  held.unlock();
  assert.equal(await writer.join(), 1);
  assert.equal(await reader.join(), 1, "the writer went first (writer preference)");
});

test("an upgrade (write while holding read) and read while holding write throw DeadlockError 'self' at once; try* give undefined", { timeout: 10_000 }, () => {
  const lock = new RwLock(i32, 0, { name: "self" });
  const r = lock.read();
  for (const attempt of [() => lock.write(), () => lock.write({ timeout: 10_000 }), () => lock.withWrite(() => 0)]) {
    assert.throws(attempt, (e: unknown) => e instanceof DeadlockError && e.kind === "self" && /cannot be upgraded/.test(e.message));
  }
  assert.equal(lock.tryWrite(), undefined);
  const r2 = lock.read(); // a second read is fine with no writer waiting
  r2.unlock();
  r.unlock();
  const w = lock.write();
  assert.throws(() => lock.read(), (e: unknown) => e instanceof DeadlockError && e.kind === "self" && /downgrade/.test(e.message));
  assert.throws(() => lock.write(), (e: unknown) => e instanceof DeadlockError && e.kind === "self");
  assert.equal(lock.tryRead(), undefined);
  assert.equal(lock.tryWrite(), undefined);
  w.unlock();
  assert.equal(lockState(lock), undefined);
});

test("read guards are read-only: value, struct fields, nested fields and array elements throw TypeError; views die at release", { timeout: 10_000 }, () => {
  const layout = struct({ n: i32, pos: struct({ x: i32 }), xs: array(i32, 3) });
  const lock = new RwLock(layout, { n: 1, pos: { x: 2 }, xs: [3, 4, 5] }, { name: "ro" });
  const g = lock.read();
  const v = g.value;
  const writes: Array<() => void> = [
    () => ((g as unknown as { value: unknown }).value = { n: 0, pos: { x: 0 }, xs: [0, 0, 0] }),
    () => (v.n = 9),
    () => (v.pos.x = 9),
    () => (v.pos = { x: 9 }),
    () => (v.xs[1] = 9),
    () => v.xs.set(1, 9),
  ];
  for (const write of writes) assert.throws(write, TypeError);
  assert.deepEqual(JSON.parse(JSON.stringify(v)), { n: 1, pos: { x: 2 }, xs: [3, 4, 5] }, "nothing was written");
  g.unlock();
  assert.throws(() => v.n, /after it was unlocked/);
  assert.throws(() => g.value, /after it was unlocked/);
  assert.throws(() => g.unlock(), /twice/);
  g[Symbol.dispose](); // harmless
  // A write guard's views write.
  lock.withWrite((w) => {
    w.value.pos.x = 7;
    w.value.xs[0] = 8;
  });
  assert.deepEqual(lock.get(), { n: 1, pos: { x: 7 }, xs: [8, 4, 5] });
});

test("timeouts: read and write give LockTimeoutError; a writer that timed out does not hold back later readers", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "timeouts" });
  const ctl = flags(2);
  const holder = spawn(
    (lock: RwLock<number>, ctl: Int32Array) => {
      const g = lock.write();
      Atomics.store(ctl, 0, 1);
      while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 50);
      g.unlock();
    },
    [lock, ctl],
    { name: "holder" },
  );
  await waitUntil(() => Atomics.load(ctl, 0) === 1, "the holder writes");
  assert.throws(() => lock.read({ timeout: 30 }), (e: unknown) => e instanceof LockTimeoutError && /holder/.test(e.message));
  assert.throws(() => lock.write({ timeout: 30 }), LockTimeoutError);
  assert.throws(() => lock.withRead(() => 0, { timeout: 0 }), LockTimeoutError);
  Atomics.store(ctl, 1, 1);
  await holder.join();

  // A writer times out behind a reader; its waiting bit must not keep new readers out.
  const r = lock.read();
  const writer = spawn(
    async (lock: RwLock<number>) => {
      const { LockTimeoutError } = await import("threadsafe");
      try {
        lock.write({ timeout: 200 });
        return "took it";
      } catch (error) {
        return error instanceof LockTimeoutError ? "timed out" : String(error);
      }
    },
    [lock],
    { name: "impatient" },
  );
  assert.equal(await writer.join(), "timed out");
  const r2 = lock.tryRead();
  assert.ok(r2, "a new reader gets in once the impatient writer has gone");
  r2.unlock();
  r.unlock();
  assert.throws(() => lock.read({ timeout: -1 }), RangeError);
  assert.throws(() => lock.write({ timeout: Number.NaN }), RangeError);
  assert.throws(() => lock.read({ timeout: "1" as unknown as number }), TypeError);
});

test("async: readAsync/writeAsync wait without blocking; abort rejects with the reason and an aborted writer does not hold readers back", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 0, { name: "async" });
  const ctl = flags(2);
  const holder = spawn(
    (lock: RwLock<number>, ctl: Int32Array) => {
      const g = lock.read();
      Atomics.store(ctl, 0, 1);
      while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 50);
      g.unlock();
    },
    [lock, ctl],
    { name: "async-holder" },
  );
  await waitUntil(() => Atomics.load(ctl, 0) === 1, "the worker reads");
  // Many async readers alongside.
  const reads = await Promise.all([lock.readAsync(), lock.readAsync()]);
  reads.forEach((g) => g.unlock());
  // An aborted writeAsync.
  const controller = new AbortController();
  const aborted = lock.writeAsync({ signal: controller.signal }).then(
    () => "acquired",
    (e: unknown) => e,
  );
  await waitUntil(() => lockState(lock)?.waiters.some((w) => w.thread.id === mainId && w.kind === "async") === true, "writeAsync is pending");
  const reason = new Error("stop waiting");
  controller.abort(reason);
  assert.equal(await aborted, reason);
  const r = lock.tryRead();
  assert.ok(r, "the aborted writer left no waiting bit behind");
  r.unlock();
  await assert.rejects(lock.writeAsync({ timeout: 20 }), LockTimeoutError);
  assert.ok(lock.tryRead()?.unlock() === undefined);
  // A pending writeAsync gets the lock once the worker releases.
  const later = lock.withWriteAsync(async (g) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    g.value = 3;
    return "written";
  });
  await waitUntil(() => lockState(lock)?.waiters.length === 1, "withWriteAsync waits");
  Atomics.store(ctl, 1, 1);
  assert.equal(await later, "written");
  assert.equal(await lock.withReadAsync(async (g) => g.value), 3);
  await holder.join();
  await assert.rejects(lock.withWriteAsync(async () => {
    throw new Error("async boom");
  }), /async boom/);
  assert.equal(lock.isPoisoned(), true);
  lock.clearPoison();
  const pre = new AbortController();
  pre.abort("already");
  await assert.rejects(lock.readAsync({ signal: pre.signal }), (e: unknown) => e === "already");
});

test("share/receive and spawn: the same lock arrives; dumpLocks() lists every reader as a holder", { timeout: 30_000 }, async () => {
  const lock = new RwLock(i32, 41, { name: "shared" });
  const again = (receive(share({ lock })) as { lock: RwLock<number> }).lock;
  assert.equal(again, lock, "received in its own thread: the same object");
  const ctl = flags(2);
  const readers = [0, 1].map((i) =>
    spawn(
      async (message: unknown, ctl: Int32Array) => {
        const { receive } = await import("threadsafe");
        const { lock } = receive(message as never) as { lock: RwLock<number> };
        const g = lock.read();
        Atomics.add(ctl, 0, 1);
        while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 50);
        const value = g.value;
        g.unlock();
        return value;
      },
      [share({ lock }), ctl],
      { name: `holder-${i}` },
    ),
  );
  await waitUntil(() => Atomics.load(ctl, 0) === 2, "both readers hold");
  const mine = lock.read();
  const state = lockState(lock)!;
  assert.equal(state.kind, "RwLock");
  assert.deepEqual(state.holders.map((t) => t.name).sort(), ["holder-0", "holder-1", "main"]);
  assert.match(String(dumpLocks()), /RwLock "shared" \(id \d+\): held by thread/);
  mine.unlock();
  Atomics.store(ctl, 1, 1);
  assert.deepEqual(await Promise.all(readers.map((h) => h.join())), [41, 41]);
});

test("lock levels and lock order apply to RwLock: a lower level is refused whether read or written", { timeout: 10_000 }, () => {
  const high = new RwLock(i32, 0, { name: "high", level: 2 });
  const low = new RwLock(i32, 0, { name: "low", level: 1 });
  const m = new Mutex(i32, 0, { name: "m", level: 1 });
  const g = high.read();
  assert.throws(() => low.read(), LockOrderError);
  assert.throws(() => low.write(), LockOrderError);
  assert.throws(() => m.lock(), LockOrderError);
  const again = high.read(); // re-reading the same lock is no level violation
  again.unlock();
  g.unlock();
  const l = low.write();
  const h = high.read();
  h.unlock();
  l.unlock();
  assert.equal(high.level, 2);
});

test("argument validation: layout, options, callbacks", () => {
  assert.throws(() => new RwLock({} as never, 0), /threadsafe: new RwLock\(layout, initial\): layout must be a layout/);
  assert.throws(() => new RwLock(i32, 0, { name: 5 as never }), TypeError);
  assert.throws(() => new RwLock(i32, 0, { level: 1.5 }), RangeError);
  assert.throws(() => new RwLock(i32, 2 ** 40), RangeError);
  const lock = new RwLock(i32, 0);
  assert.match(lock.name, /^RwLock#\d+$/);
  assert.throws(() => lock.withRead(5 as never), /withRead\(fn\): fn must be a function/);
  assert.throws(() => lock.withWrite(null as never), /withWrite\(fn\): fn must be a function/);
  assert.throws(() => lock.withRead((async () => 1) as never), /withReadAsync/);
  assert.equal(lock.isPoisoned(), false, "an async withRead callback does not poison");
  assert.throws(() => lock.withWrite((async () => 1) as never), /withWriteAsync/);
  assert.equal(lock.isPoisoned(), true, "an async withWrite callback poisons, as for a Mutex");
  lock.clearPoison();
  assert.throws(() => new (RwLockReadGuard as unknown as new (...args: unknown[]) => unknown)(Symbol(), {}), /cannot be constructed/);
  assert.equal(lock.replace(4), 0);
  lock.set(6);
  assert.equal(lock.get(), 6);
});
