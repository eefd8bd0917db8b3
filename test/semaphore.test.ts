// Semaphore across real workers on real shared memory. Every test has an exact oracle and a time bound; the
// interleavings are ordered by what dumpLocks() shows, never by sleeping.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DeadlockError,
  LockTimeoutError,
  Mutex,
  Permit,
  Semaphore,
  ThreadError,
  TimeoutError,
  currentThread,
  dumpLocks,
  i32,
  spawn,
  type JoinHandle,
} from "threadsafe";
import { setParkSliceMs, sharedObject } from "../dist/internal.js";
import { waitUntil } from "./support/wait-for.ts";
import { terminateWaiting } from "./support/terminate.ts";

/** A small shared flag array for making threads meet at known points. */
function flags(n = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

const mainId = currentThread().id;

/** The dump entry of semaphore `s` (undefined when no permit is out and nobody waits). */
function semState(s: Semaphore) {
  return dumpLocks().locks.find((l) => l.lock.id === s.lockId);
}

/** Waits until `n` threads wait on `s` (sync waiters are listed once their wait is published). */
function waitForSemWaiters(s: Semaphore, n: number, what: string): Promise<void> {
  return waitUntil(() => (semState(s)?.waiters.length ?? 0) >= n, what);
}

/**
 * Raises the parking slice for the duration of `fn`: a waiter then wakes only through a notify, so a lost wake-up
 * hangs the test (its node:test timeout fails it) instead of costing a 100 ms re-check.
 */
async function withLongSlices<R>(s: Semaphore, fn: () => Promise<R>): Promise<R> {
  const rt = s[sharedObject]().rt;
  setParkSliceMs(rt, 600_000);
  try {
    return await fn();
  } finally {
    setParkSliceMs(rt, 0);
  }
}

test("never more than N holders at once, and N is reached: 6 workers on Semaphore(3)", { timeout: 120_000 }, async () => {
  const N = 3;
  const sem = new Semaphore(N, { name: "three" });
  // [inside, max inside, N reached]
  const shared = flags(4);
  const handles = [];
  for (let w = 0; w < 6; w++) {
    handles.push(
      spawn(
        (sem: Semaphore, shared: Int32Array, n: number, rounds: number) => {
          for (let i = 0; i < rounds; i++) {
            using _permit = sem.acquire();
            const inside = Atomics.add(shared, 0, 1) + 1;
            for (let seen = Atomics.load(shared, 1); inside > seen; seen = Atomics.load(shared, 1)) {
              if (Atomics.compareExchange(shared, 1, seen, inside) === seen) break;
            }
            // The first N holders stay inside until all N are: proves that N permits are out at once.
            if (Atomics.load(shared, 2) === 0) {
              if (inside === n) Atomics.store(shared, 2, 1);
              const end = Date.now() + 20_000;
              while (Atomics.load(shared, 2) === 0 && Date.now() < end) Atomics.wait(shared, 3, 0, 1);
            }
            for (let k = 0; k < 50; k++) Atomics.load(shared, 0); // a little work while holding the permit
            Atomics.sub(shared, 0, 1);
          }
        },
        [sem, shared, N, 2_000],
        { name: `holder-${w}` },
      ),
    );
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(Atomics.load(shared, 2), 1, "N holders were inside at once");
  assert.equal(Atomics.load(shared, 1), N, `at most ${N} holders at once, and ${N} reached`);
  assert.equal(Atomics.load(shared, 0), 0);
  assert.equal(sem.available, N, "every permit came back");
});

test("Semaphore(1) as a lock: 4 workers × 50,000 non-atomic increments give exactly 200,000", { timeout: 120_000 }, async () => {
  const sem = new Semaphore(1, { name: "as-lock" });
  const counter = flags(1);
  const handles = [];
  for (let w = 0; w < 4; w++) {
    handles.push(
      spawn(
        (sem: Semaphore, c: Int32Array, n: number) => {
          for (let i = 0; i < n; i++) {
            const p = sem.acquire();
            c[0] = c[0]! + 1; // read, then write: only the semaphore makes it exact
            p.release();
          }
        },
        [sem, counter, 50_000],
      ),
    );
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(counter[0], 200_000);
  assert.equal(sem.available, 1);
});

test("tryAcquire: takes what is free, undefined otherwise; n > 1", () => {
  const sem = new Semaphore(3, { name: "try" });
  const two = sem.tryAcquire(2);
  assert.ok(two instanceof Permit);
  assert.equal(two.permits, 2);
  assert.equal(sem.available, 1);
  assert.equal(sem.tryAcquire(2), undefined);
  const one = sem.tryAcquire();
  assert.ok(one);
  assert.equal(sem.tryAcquire(), undefined);
  assert.equal(sem.available, 0);
  two.release();
  one.release();
  assert.equal(sem.available, 3);
  const all = sem.tryAcquire(3);
  assert.ok(all);
  all.release();
});

test("Permit: release() twice throws, dispose after release and dispose twice are harmless, using releases", () => {
  const sem = new Semaphore(2, { name: "rules" });
  const p = sem.acquire();
  assert.equal(p.held, true);
  p.release();
  assert.equal(p.held, false);
  assert.throws(() => p.release(), /release\(\) called twice on a Permit of Semaphore "rules"/);
  p[Symbol.dispose]();
  assert.equal(sem.available, 2);
  {
    using q = sem.acquire(2);
    assert.equal(q.permits, 2);
    assert.equal(sem.available, 0);
  }
  assert.equal(sem.available, 2);
  {
    using q = sem.acquire();
    q.release(); // early release, then the block's dispose
  }
  assert.equal(sem.available, 2);
  assert.throws(() => new (Permit as unknown as new (...a: unknown[]) => Permit)(Symbol("x"), {}, 1), TypeError);
});

test("arguments are validated with threadsafe: errors naming what is allowed", async () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 24]) assert.throws(() => new Semaphore(bad), RangeError);
  for (const bad of ["3", null, undefined, {}]) assert.throws(() => new Semaphore(bad as number), TypeError);
  assert.throws(() => new Semaphore(1, { name: 3 as unknown as string }), /threadsafe: new Semaphore\(\.\.\., \{ name \}\)/);
  const sem = new Semaphore(2, { name: "validate" });
  for (const bad of [0, 3, 1.5, -1, NaN]) {
    assert.throws(() => sem.acquire(bad), /threadsafe: acquire\(n\): n must be an integer from 1 to 2/);
    assert.throws(() => sem.tryAcquire(bad), /threadsafe: tryAcquire\(n\): n must be an integer from 1 to 2/);
    await assert.rejects(sem.acquireAsync(bad), /threadsafe: acquireAsync\(n\): n must be an integer from 1 to 2/);
  }
  assert.throws(() => sem.acquire({ timeout: 5 } as unknown as number), /options go second: acquire\(1, \{ timeout \}\)/);
  assert.throws(() => sem.acquire(1, { timeout: -1 }), RangeError);
  assert.throws(() => sem.with(() => 1, { permits: 3 }), /with\(\{ permits \}\): permits must be an integer from 1 to 2/);
  assert.throws(() => sem.with(42 as unknown as () => void), /with\(fn\): fn must be a function/);
  await assert.rejects(sem.acquireAsync(1, { signal: {} as AbortSignal }), /signal must be an AbortSignal/);
  assert.equal(sem.available, 2, "nothing was taken by a rejected call");
});

test("timeouts: acquire and acquireAsync give up with LockTimeoutError naming the holder, and take nothing", { timeout: 60_000 }, async () => {
  const sem = new Semaphore(2, { name: "timed" });
  const gate = flags(2);
  const holder = spawn(
    (sem: Semaphore, gate: Int32Array) => {
      const p = sem.acquire(2);
      Atomics.store(gate, 0, 1);
      while (Atomics.load(gate, 1) === 0) Atomics.wait(gate, 1, 0, 50);
      p.release();
    },
    [sem, gate],
    { name: "timed-holder" },
  );
  await waitUntil(() => Atomics.load(gate, 0) === 1, "the holder has both permits");
  assert.equal(sem.tryAcquire(), undefined);
  const waiter = spawn(
    (sem: Semaphore) => {
      try {
        sem.acquire(1, { timeout: 30 });
        return "acquired";
      } catch (e) {
        return `${(e as Error).name}|${e instanceof Error && (e as { name: string }).name}|${(e as Error).message}`;
      }
    },
    [sem],
  );
  const sync = await waiter.join();
  assert.match(sync, /^LockTimeoutError/);
  assert.match(sync, /waiting for Semaphore "timed": it is held by thread "timed-holder"/);
  const error = await sem.acquireAsync(1, { timeout: 20 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof LockTimeoutError && error instanceof TimeoutError, String(error));
  assert.throws(() => sem.acquire(1, { timeout: 0 }), LockTimeoutError);
  Atomics.store(gate, 1, 1);
  Atomics.notify(gate, 1);
  await holder.join();
  assert.equal(sem.available, 2, "the timed-out waits took nothing");
});

test("acquireAsync on the main thread: waits without blocking, abort rejects with the reason and takes nothing", { timeout: 60_000 }, async () => {
  const sem = new Semaphore(1, { name: "async" });
  await withLongSlices(sem, async () => {
    const held = sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquireAsync(1, { signal: controller.signal });
    const second = sem.acquireAsync(1, { timeout: 60_000 });
    await waitUntil(() => semState(sem)?.waiters.some((w) => w.kind === "async") === true, "the async waits are listed");
    const reason = new Error("stop waiting");
    controller.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    held.release(); // the wake goes to `second`, not to the aborted wait
    const p = await second;
    assert.equal(sem.available, 0);
    p.release();
    assert.equal(sem.available, 1, "the aborted wait took nothing");
    await assert.rejects(sem.acquireAsync(1, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(sem.available, 1);
  });
});

test("a release wakes a parked waiter (parking slice raised: a lost notify hangs)", { timeout: 60_000 }, async () => {
  const sem = new Semaphore(2, { name: "wake" });
  await withLongSlices(sem, async () => {
    const big = sem.acquire(2);
    const waiters: JoinHandle<number>[] = [];
    for (let w = 0; w < 2; w++) {
      waiters.push(
        spawn(
          (sem: Semaphore) => {
            const p = sem.acquire();
            const n = p.permits;
            p.release();
            return n;
          },
          [sem],
          { name: `wake-waiter-${w}` },
        ),
      );
    }
    await waitForSemWaiters(sem, 2, "both waiters are parked");
    big.release();
    assert.deepEqual(await Promise.all(waiters.map((h) => h.join())), [1, 1]);
    // A waiter for 2 permits woken by two releases of 1 (the release wakes every waiter when one wants more than 1).
    const a = sem.acquire();
    const b = sem.acquire();
    const two = spawn((sem: Semaphore) => sem.with((p) => p.permits, { permits: 2 }), [sem], { name: "wants-two" });
    await waitForSemWaiters(sem, 1, "the waiter for two permits is parked");
    a.release();
    b.release();
    assert.equal(await two.join(), 2);
    assert.equal(sem.available, 2);
  });
});

test("with / withAsync: give the permits back when fn returns or throws (no poisoning)", async () => {
  const sem = new Semaphore(2, { name: "with" });
  assert.equal(
    sem.with((p) => {
      assert.equal(sem.available, 1);
      return p.permits;
    }),
    1,
  );
  assert.throws(() => sem.with(() => { throw new Error("boom"); }, { permits: 2 }), /boom/);
  assert.equal(sem.available, 2);
  assert.equal(await sem.withAsync(async (p) => p.permits, { permits: 2 }), 2);
  await assert.rejects(sem.withAsync(async () => { throw new Error("async boom"); }), /async boom/);
  assert.equal(sem.available, 2);
  assert.throws(() => sem.with(async () => 1), /with\(fn\) got an async fn/);
  assert.equal(sem.available, 2);
  assert.equal(sem.with(() => "ok", { timeout: 10 }), "ok");
});

/** Ends a permit holder in one of the ways a thread can end. */
type End = "returned" | "threw" | "terminated";

for (const end of ["returned", "threw", "terminated"] as const satisfies readonly End[]) {
  test(`permits of a thread that ${end} holding them come back, and its waiters wake (slice raised)`, { timeout: 60_000 }, async () => {
    const sem = new Semaphore(3, { name: `death-${end}` });
    await withLongSlices(sem, async () => {
      const gate = flags(3); // 0: the victim holds its permits; 1: die now; 2: go on to the end (terminate() was asked)
      const victim = spawn(
        async (sem: Semaphore, gate: Int32Array, end: string) => {
          sem.acquire(2); // never released
          Atomics.store(gate, 0, 1);
          const until = Date.now() + 30_000;
          while (Atomics.load(gate, 1) === 0 && Date.now() < until) Atomics.wait(gate, 1, 0, 5);
          if (end === "threw") throw new Error("victim failed");
          // Until terminated; where terminate() is a request, released after it to obey as the function ends.
          if (end === "terminated") while (Atomics.load(gate, 2) === 0) Atomics.wait(gate, 2, 0, 5);
          return "returned";
        },
        [sem, gate, end],
        { name: `victim-${end}` },
      );
      await waitUntil(() => Atomics.load(gate, 0) === 1, "the victim holds 2 permits");
      assert.equal(semState(sem)?.holders.map((h) => h.name).join(), `victim-${end}`);
      const mine = sem.acquire(); // the third permit: now none is free
      // A sync waiter in a worker (for 2 permits) and an async one on the main thread (for 1).
      const syncWaiter = spawn((sem: Semaphore) => sem.with((p) => p.permits, { permits: 2, timeout: 60_000 }), [sem], { name: "sync-waiter" });
      const asyncWaiter = sem.acquireAsync(1, { timeout: 60_000 });
      await waitUntil(() => (semState(sem)?.waiters.length ?? 0) === 2, "both waiters are listed");
      if (end === "terminated") {
        await waitUntil(() => dumpLocks().threads.some((t) => t.thread.name === `victim-${end}`), "the victim is listed");
        void terminateWaiting(victim, () => {
          Atomics.store(gate, 2, 1);
          Atomics.notify(gate, 2);
        });
      }
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      const joined = await victim.join().then(
        () => undefined,
        (e: unknown) => e,
      );
      // A thread that ends holding permits is reported like one that ends holding a lock; its permits come back.
      assert.ok(joined instanceof ThreadError, String(joined));
      assert.equal(joined.how, end === "returned" ? "held-locks" : end);
      const p = await asyncWaiter;
      mine.release();
      assert.equal(await syncWaiter.join(), 2);
      p.release();
      assert.equal(sem.available, 3, "every permit is back");
    });
  });
}

test("a blocking acquire for permits only this thread holds throws DeadlockError at once", () => {
  const sem = new Semaphore(3, { name: "self" });
  const a = sem.acquire(2);
  const error = (() => {
    try {
      sem.acquire(2);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof DeadlockError, String(error));
  assert.equal(error.kind, "self");
  assert.match(error.message, /asked Semaphore "self" for 2 permits while only 1 is free and this thread holds all the others \(2 of 3\)/);
  assert.equal(error.cycle[0]!.thread.id, mainId);
  const b = sem.acquire(1); // one is free: no deadlock
  b.release();
  a.release();
  assert.equal(sem.available, 3);
});

test("a cycle through a semaphore with one holder: exactly one DeadlockError; with two holders, none", { timeout: 60_000 }, async () => {
  // T1 holds the only permit of S and waits for M; T2 holds M and waits for a permit of S.
  const sem = new Semaphore(1, { name: "cycle-sem" });
  const m = new Mutex(i32, 0, { name: "cycle-mutex" });
  const gate = flags(4);
  const body = (sem: Semaphore, m: Mutex<number>, gate: Int32Array, first: string) => {
    const until = Date.now() + 20_000;
    const meet = () => {
      Atomics.add(gate, 0, 1);
      while (Atomics.load(gate, 0) < 2 && Date.now() < until) Atomics.wait(gate, 1, 0, 1);
    };
    try {
      if (first === "sem") {
        const p = sem.acquire();
        meet();
        try {
          m.lock({ timeout: 20_000 }).unlock();
        } finally {
          p.release();
        }
      } else {
        const g = m.lock();
        meet();
        try {
          sem.acquire(1, { timeout: 20_000 }).release();
        } finally {
          g.unlock();
        }
      }
      return "ok";
    } catch (e) {
      return (e as Error).name;
    }
  };
  const t1 = spawn(body, [sem, m, gate, "sem"], { name: "T1" });
  const t2 = spawn(body, [sem, m, gate, "mutex"], { name: "T2" });
  const results = [await t1.join(), await t2.join()].sort();
  assert.deepEqual(results, ["DeadlockError", "ok"]);

  // Semaphore(2): T1 holds one permit and waits for M; a running thread holds the other; T2 holds M and waits for a
  // permit. Not a deadlock: the running holder releases, T2 goes on. No DeadlockError may be thrown.
  const sem2 = new Semaphore(2, { name: "two-holders" });
  const m2 = new Mutex(i32, 0, { name: "m2" });
  const g2 = flags(4); // 0: T1 holds a permit, 1: T2 holds M2, 2: the runner holds a permit, 3: runner may release
  const runner = spawn(
    (sem: Semaphore, g: Int32Array) => {
      const p = sem.acquire();
      Atomics.store(g, 2, 1);
      const until = Date.now() + 20_000;
      while (Atomics.load(g, 3) === 0 && Date.now() < until) Atomics.wait(g, 3, 0, 5);
      p.release();
    },
    [sem2, g2],
    { name: "runner" },
  );
  await waitUntil(() => Atomics.load(g2, 2) === 1, "the runner holds a permit");
  const a = spawn(
    (sem: Semaphore, m: Mutex<number>, g: Int32Array) => {
      try {
        const p = sem.acquire();
        try {
          Atomics.store(g, 0, 1);
          const until = Date.now() + 20_000;
          while (Atomics.load(g, 1) === 0 && Date.now() < until) Atomics.wait(g, 1, 0, 1);
          m.lock({ timeout: 20_000 }).unlock();
        } finally {
          p.release(); // also when lock() throws: the error's name is then the thread's result, not a leaked permit
        }
        return "ok";
      } catch (e) {
        return (e as Error).name;
      }
    },
    [sem2, m2, g2],
    { name: "T1b" },
  );
  await waitUntil(() => Atomics.load(g2, 0) === 1, "T1b holds a permit");
  const b = spawn(
    (sem: Semaphore, m: Mutex<number>, g: Int32Array) => {
      try {
        const guard = m.lock();
        Atomics.store(g, 1, 1);
        sem.acquire(1, { timeout: 20_000 }).release();
        guard.unlock();
        return "ok";
      } catch (e) {
        return (e as Error).name;
      }
    },
    [sem2, m2, g2],
    { name: "T2b" },
  );
  // Both T1b and T2b are blocked (a cycle through one of the two holders) while the runner still holds its permit.
  await waitUntil(() => {
    const d = dumpLocks();
    const blocked = (name: string) => d.threads.some((t) => t.thread.name === name && t.blockedOn !== undefined);
    return blocked("T1b") && blocked("T2b");
  }, "T1b and T2b are both blocked");
  await new Promise((r) => setImmediate(r));
  Atomics.store(g2, 3, 1);
  Atomics.notify(g2, 3);
  assert.deepEqual([await a.join(), await b.join()], ["ok", "ok"]);
  await runner.join();
  assert.equal(sem2.available, 2);
});

test("a cycle through a semaphore where the waiter wants more permits than are free: exactly one DeadlockError", { timeout: 90_000 }, async () => {
  // T1 holds `a` permits of Semaphore(3) and waits for M; T2 holds `before` permits and M, and waits for `b` permits
  // while fewer are free: only T1's release could let it in, and T1 waits for T2. Both cases used to go unreported
  // (T1's lock timed out instead), because the detector named a holder only when no permit was free.
  const body = (sem: Semaphore, m: Mutex<number>, gate: Int32Array, role: string, a: number, before: number, b: number) => {
    const until = Date.now() + 20_000;
    const meet = () => {
      Atomics.add(gate, 0, 1);
      while (Atomics.load(gate, 0) < 2 && Date.now() < until) Atomics.wait(gate, 1, 0, 1);
    };
    try {
      if (role === "T1") {
        const p = sem.acquire(a);
        meet();
        try {
          m.lock({ timeout: 15_000 }).unlock();
        } finally {
          p.release();
        }
      } else {
        const mine = before > 0 ? sem.acquire(before) : undefined;
        try {
          const g = m.lock();
          meet();
          try {
            sem.acquire(b, { timeout: 15_000 }).release();
          } finally {
            g.unlock();
          }
        } finally {
          mine?.release();
        }
      }
      return "ok";
    } catch (e) {
      return (e as Error).name;
    }
  };
  for (const [a, before, b] of [
    [2, 0, 2], // 1 free, T2 wants 2
    [1, 1, 2], // 1 free, T2 holds 1 and wants 2 more: its own permit does not count as a way out
  ] as const) {
    const sem = new Semaphore(3, { name: `more-than-free-${a}-${before}-${b}` });
    const m = new Mutex(i32, 0, { name: "more-than-free-mutex" });
    const gate = flags(4);
    const t1 = spawn(body, [sem, m, gate, "T1", a, before, b], { name: "T1" });
    const t2 = spawn(body, [sem, m, gate, "T2", a, before, b], { name: "T2" });
    const results = [await t1.join(), await t2.join()].sort();
    assert.deepEqual(results, ["DeadlockError", "ok"], `Semaphore(3), T1 holds ${a}, T2 holds ${before} and wants ${b}`);
    assert.equal(sem.available, 3);
  }
});

test("dumpLocks lists permit holders and waiters", { timeout: 60_000 }, async () => {
  const sem = new Semaphore(1, { name: "dumped" });
  const p = sem.acquire();
  const w = spawn((sem: Semaphore) => sem.acquire(1, { timeout: 30_000 }).release(), [sem], { name: "dump-waiter" });
  await waitForSemWaiters(sem, 1, "the waiter is listed");
  const state = semState(sem)!;
  assert.equal(state.kind, "Semaphore");
  assert.equal(state.owner?.id, mainId);
  assert.equal(state.waiters[0]!.thread.name, "dump-waiter");
  assert.equal(state.poisoned, false);
  assert.match(String(dumpLocks()), /Semaphore "dumped" \(id \d+\): held by thread "main"/);
  p.release();
  await w.join();
});
