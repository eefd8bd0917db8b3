// Once, OnceLock and LazyLock (DESIGN §1b) across real workers on real shared memory: the initializer runs exactly
// once however many threads race; a throwing initializer poisons a Once and leaves a OnceLock empty for the next
// caller; a thread that dies inside the initializer wakes every waiter (no hang); waiting for another thread's
// initializer takes part in deadlock detection. Interleavings are ordered by what dumpLocks() shows, never by
// sleeping; wake-up tests raise the parking slice so that a lost wake-up hangs (and fails) instead of being hidden
// by a re-check.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Arc,
  AtomicI32,
  DeadlockError,
  LazyLock,
  Mutex,
  Once,
  OnceLock,
  PoisonError,
  ThreadError,
  TimeoutError,
  array,
  dumpLocks,
  i32,
  json,
  spawn,
  string,
  struct,
  u32,
  type JoinHandle,
  type SharedObject,
} from "threadsafe";
import { setParkSliceMs, sharedObject } from "../dist/internal.js";
import { waitUntil } from "./support/wait-for.ts";
import { terminateWaiting } from "./support/terminate.ts";

/** The names of the objects `threads` are blocked on, per dumpLocks(). */
function blockedOnName(name: string): number {
  return dumpLocks().threads.filter((t) => t.blockedOn?.name === name).length;
}

async function waitForBlocked(name: string, n: number): Promise<void> {
  await waitUntil(() => blockedOnName(name) >= n, `${n} threads are blocked on "${name}"`);
}

/** Raises the parking slice for the duration of `body`: a waiter then wakes only by a notify. */
async function withLongSlices(object: SharedObject, body: () => Promise<void>): Promise<void> {
  const { rt } = object[sharedObject]();
  setParkSliceMs(rt, 600_000);
  try {
    await body();
  } finally {
    setParkSliceMs(rt, 0);
  }
}

function flags(n = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Sets flag `i` and wakes whoever waits on it. */
function signal(f: Int32Array, i: number): void {
  Atomics.store(f, i, 1);
  Atomics.notify(f, i);
}

/**
 * The terminated-inside-fn tests' victims wait in their own Atomics.wait until terminated. Where terminate() is a
 * request (test/support/terminate.ts), they are released from it (flag 7) after the request and go on to lock this
 * mutex, their next call into the library, where they obey, still inside fn. Where terminate() stops a thread at
 * once, they are never released and never lock it.
 */
function obeyPoint(name: string): Mutex<number> {
  return new Mutex(i32, 0, { name: `${name}-obey-point` });
}

// ## Once

test("Once.callOnce raced by 10 threads: fn runs exactly once, and every caller returns after it finished", { timeout: 60_000 }, async () => {
  // Raised slices: a waiter wakes only by the runner's notify when it completes.
  await withLongSlices(new AtomicI32(0), async () => {
    for (let round = 0; round < 3; round++) {
      const once = new Once({ name: `race-${round}` });
      const runs = new AtomicI32(0);
      const gate = flags(2);
      const handles = [];
      for (let t = 0; t < 10; t++) {
        handles.push(
          spawn(
            (once: Once, runs: AtomicI32, gate: Int32Array) => {
              Atomics.add(gate, 1, 1);
              while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 100);
              once.callOnce(() => {
                // A long enough run that the others find it running.
                for (let i = 0; i < 200_000; i++) Atomics.add(gate, 1, 0);
                runs.fetchAdd(1);
              });
              return runs.load(); // fn's effect is visible to every caller once callOnce returns
            },
            [once, runs, gate],
          ),
        );
      }
      await waitUntil(() => Atomics.load(gate, 1) === 10, "every racer is at the gate");
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      const seen = await Promise.all(handles.map((h) => h.join()));
      assert.deepEqual(seen, Array(10).fill(1));
      assert.equal(runs.load(), 1);
      assert.equal(once.isCompleted(), true);
      once.callOnce(() => runs.fetchAdd(1));
      assert.equal(runs.load(), 1, "a completed Once runs nothing");
    }
  });
});

test("Once: a throwing fn poisons it; callOnce then throws PoisonError; callOnceForce runs (told it is poisoned) and completes it", () => {
  const once = new Once({ name: "poison-bad" });
  assert.throws(() => once.callOnce(() => { throw new Error("boom"); }), /^Error: boom$/);
  assert.equal(once.isCompleted(), false);
  let ran = false;
  assert.throws(
    () => once.callOnce(() => { ran = true; }),
    (e: unknown) =>
      e instanceof PoisonError && e.name === "PoisonError" && /Once "poison-bad" is poisoned: thread "main" \(id \d+\) threw inside its initializer/.test(e.message),
  );
  assert.equal(ran, false);
  let state: boolean | undefined;
  once.callOnceForce((s) => { state = s.isPoisoned(); });
  assert.equal(state, true);
  assert.equal(once.isCompleted(), true);
  once.callOnce(() => { ran = true; }); // once any success happens, the poison stops propagating
  assert.equal(ran, false);
  once.wait();
});

test("Once: callOnceForce on a healthy Once is told it is not poisoned; a force that throws leaves it poisoned", () => {
  const once = new Once();
  assert.throws(() => once.callOnceForce((s) => { assert.equal(s.isPoisoned(), false); throw new Error("first"); }), /first/);
  assert.throws(() => once.callOnceForce((s) => { assert.equal(s.isPoisoned(), true); throw new Error("second"); }), /second/);
  assert.throws(() => once.callOnce(() => {}), PoisonError);
  assert.throws(() => once.wait(), PoisonError);
  once.callOnceForce(() => {});
  assert.equal(once.isCompleted(), true);
});

test("Once: a thread waiting in callOnce while the runner throws wakes with PoisonError; a waiter in callOnceForce then runs", { timeout: 60_000 }, async () => {
  const once = new Once({ name: "wake-on-throw" });
  const f = flags();
  await withLongSlices(once, async () => {
    const runner = spawn(
      (once: Once, f: Int32Array) => {
        try {
          once.callOnce(() => {
            Atomics.store(f, 0, 1);
            Atomics.notify(f, 0);
            while (Atomics.load(f, 1) === 0) Atomics.wait(f, 1, 0, 100);
            throw new Error("runner failed");
          });
          return "completed";
        } catch (e) {
          return (e as Error).message;
        }
      },
      [once, f],
      { name: "runner" },
    );
    await waitUntil(() => Atomics.load(f, 0) === 1, "the runner is inside fn");
    const waiter = spawn(
      (once: Once) => {
        try {
          once.callOnce(() => {});
          return "no error";
        } catch (e) {
          return (e as Error).name;
        }
      },
      [once],
      { name: "waiter" },
    );
    const forcer = spawn(
      (once: Once) => {
        let poisoned: boolean | undefined;
        once.callOnceForce((s) => { poisoned = s.isPoisoned(); });
        return poisoned;
      },
      [once],
      { name: "forcer" },
    );
    await waitForBlocked("wake-on-throw", 2);
    Atomics.store(f, 1, 1);
    Atomics.notify(f, 1);
    assert.equal(await runner.join(), "runner failed");
    const [w, forced] = await Promise.all([waiter.join(), forcer.join()]);
    // The waiter either woke to the poison, or (if the force ran first) found it complete.
    assert.ok(w === "PoisonError" || w === "no error", w);
    assert.equal(forced, true, "the force ran, told that the Once was poisoned");
    assert.equal(once.isCompleted(), true, "the force completed it");
  });
});

test("Once: a thread terminated inside fn poisons it; every waiter (sync, async, worker) wakes with PoisonError, no hang", { timeout: 60_000 }, async () => {
  const once = new Once({ name: "od-once" });
  const f = flags();
  await withLongSlices(once, async () => {
    const victim = spawn(
      (once: Once, f: Int32Array, obey: Mutex<number>) => {
        once.callOnce(() => {
          Atomics.store(f, 0, 1);
          Atomics.notify(f, 0);
          while (Atomics.load(f, 7) === 0) Atomics.wait(f, 7, 0); // until terminated (or released: obeyPoint)
          obey.lock().unlock();
        });
      },
      [once, f, obeyPoint("od-once")],
      { name: "once-victim" },
    );
    await waitUntil(() => Atomics.load(f, 0) === 1, "the victim is inside fn");
    const waiters = [0, 1].map((k) =>
      spawn(
        (once: Once) => {
          try {
            once.callOnce(() => {});
            return "no error";
          } catch (e) {
            return `${(e as Error).name}: ${(e as Error).message}`;
          }
        },
        [once],
        { name: `once-waiter-${k}` },
      ),
    );
    const mainAsync = once.callOnceAsync(() => {}).then(
      () => "no error",
      (e: Error) => `${e.name}: ${e.message}`,
    );
    await waitForBlocked("od-once", 2);
    assert.equal(dumpLocks().locks.find((l) => l.lock.name === "od-once")?.owner?.name, "once-victim", "the dump names the runner as holder");
    await terminateWaiting(victim, () => signal(f, 7));
    for (const outcome of [...(await Promise.all(waiters.map((w) => w.join()))), await mainAsync]) {
      assert.match(outcome, /^PoisonError: threadsafe: Once "od-once" is poisoned: thread "once-victim" \(id \d+\) was terminated \(or crashed\) while running its initializer/);
    }
    await assert.rejects(victim.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
    let poisoned: boolean | undefined;
    once.callOnceForce((s) => { poisoned = s.isPoisoned(); });
    assert.equal(poisoned, true);
    assert.equal(once.isCompleted(), true);
  });
});

test("Once: callOnceAsync races with blocking callers; an async fn runs once; timeout gives TimeoutError; abort rejects", { timeout: 60_000 }, async () => {
  const once = new Once({ name: "async-once" });
  const runs = new AtomicI32(0);
  let release!: () => void;
  const running = once.callOnceAsync(async () => {
    runs.fetchAdd(1);
    await new Promise<void>((resolve) => { release = resolve; });
  });
  const worker = spawn(
    (once: Once, runs: AtomicI32) => {
      once.callOnce(() => { runs.fetchAdd(1); });
      return runs.load();
    },
    [once, runs],
    { name: "blocked-on-async" },
  );
  await waitForBlocked("async-once", 1);
  // Another task of this thread waits for it too (it does not run its own fn).
  const second = once.callOnceAsync(() => { runs.fetchAdd(1); });
  await assert.rejects(once.waitAsync({ timeout: 5 }), (e: unknown) => e instanceof TimeoutError && /Once "async-once"/.test((e as Error).message));
  const controller = new AbortController();
  const aborted = once.waitAsync({ signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assert.rejects(aborted, /stop waiting/);
  // A blocking call from this thread while its own task runs fn could never end: refused at once.
  assert.throws(() => once.callOnce(() => {}), (e: unknown) => e instanceof DeadlockError && e.kind === "self");
  release();
  await running;
  await second;
  assert.equal(await worker.join(), 1);
  assert.equal(runs.load(), 1);
});

// ## OnceLock

test("OnceLock.getOrInit raced by 10 threads: fn runs exactly once, every thread gets the same value", { timeout: 60_000 }, async () => {
  // Raised slices: a waiter wakes only by the runner's notify when it completes.
  await withLongSlices(new AtomicI32(0), async () => {
    for (let round = 0; round < 3; round++) {
      const cell = new OnceLock(struct({ who: i32, label: string(32) }), { name: `cell-race-${round}` });
      const runs = new AtomicI32(0);
      const gate = flags(2);
      const handles = [];
      for (let t = 0; t < 10; t++) {
        handles.push(
          spawn(
            (cell: OnceLock<{ who: number; label: string }>, runs: AtomicI32, gate: Int32Array, t: number) => {
              Atomics.add(gate, 1, 1);
              while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 100);
              const v = cell.getOrInit(() => {
                for (let i = 0; i < 200_000; i++) Atomics.add(gate, 1, 0);
                runs.fetchAdd(1);
                return { who: t, label: `made by ${t}` };
              });
              return { ...v, again: cell.get() === v };
            },
            [cell, runs, gate, t],
          ),
        );
      }
      await waitUntil(() => Atomics.load(gate, 1) === 10, "every racer is at the gate");
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      const seen = await Promise.all(handles.map((h) => h.join()));
      assert.equal(runs.load(), 1);
      const first = seen[0]!;
      assert.equal(first.label, `made by ${first.who}`);
      for (const s of seen) assert.deepEqual(s, { who: first.who, label: first.label, again: true });
      assert.deepEqual(cell.get(), { who: first.who, label: first.label });
    }
  });
});

test("OnceLock: get, set, getOrInit in one thread (Rust's sync_once_cell); the value is a frozen copy, the same object every read", () => {
  const cell = new OnceLock(array(u32, 3), { name: "basic" });
  assert.equal(cell.get(), undefined);
  assert.throws(() => cell.set([1, 2] as never), /expected exactly 3 elements/, "a value that does not fit is refused before anything");
  assert.equal(cell.get(), undefined);
  assert.equal(cell.set([1, 2, 3]), true);
  assert.equal(cell.set([4, 5, 6]), false);
  const v = cell.get()!;
  assert.deepEqual(v, [1, 2, 3]);
  assert.equal(Object.isFrozen(v), true);
  assert.equal(cell.get(), v);
  assert.equal(cell.getOrInit(() => { throw new Error("never runs"); }), v);
  assert.equal(cell.wait(), v);
  assert.throws(() => cell.getOrInit(42 as never), /threadsafe: getOrInit\(fn\): fn must be a function/);
  assert.throws(() => new OnceLock(42 as never), /threadsafe: new OnceLock\(layout\): layout must be a layout/);
  assert.throws(() => new OnceLock(i32, { name: 1 } as never), /name must be a string/);
  assert.equal(cell.name, "basic");
});

test("OnceLock: a throwing fn leaves it empty and the next caller tries; a value that does not fit likewise; re-entrant init is a DeadlockError", () => {
  const cell = new OnceLock(i32, { name: "retry" });
  assert.throws(() => cell.getOrInit(() => { throw new Error("first try"); }), /first try/);
  assert.equal(cell.get(), undefined);
  assert.throws(() => cell.getOrInit(() => 2 ** 40), RangeError);
  assert.equal(cell.get(), undefined);
  assert.throws(() => cell.getOrInit((() => Promise.resolve(1)) as never), /getOrInit\(fn\) got an async fn; use "await cell.getOrInitAsync\(fn\)"/);
  assert.equal(cell.get(), undefined);
  assert.throws(
    () => cell.getOrInit(() => cell.getOrInit(() => 1) + 1),
    (e: unknown) => e instanceof DeadlockError && e.kind === "self" && /called getOrInit on OnceLock "retry" from inside its own initializer/.test(e.message),
  );
  assert.equal(cell.get(), undefined);
  assert.equal(cell.getOrInit(() => 92), 92);
  assert.equal(cell.getOrInit(() => { throw new Error("Kabom!"); }), 92);
});

test("OnceLock across threads (Rust's sync_once_cell): set in a thread, read everywhere; json values", { timeout: 60_000 }, async () => {
  const cell = new OnceLock(json(256), { name: "json-cell" });
  assert.equal(cell.get(), undefined);
  const h = spawn(
    (cell: OnceLock<unknown>) => {
      const v = cell.getOrInit(() => ({ n: 92, tags: ["a", "b"] }));
      return JSON.stringify(v) === JSON.stringify(cell.get());
    },
    [cell],
  );
  assert.equal(await h.join(), true);
  assert.deepEqual(cell.getOrInit(() => { throw new Error("Kabom!"); }), { n: 92, tags: ["a", "b"] });
  assert.equal(Arc.strongCount(cell), 1);
});

test("OnceLock: a waiter wakes when the runner's fn throws, and runs its own fn (the cell stays empty in between)", { timeout: 60_000 }, async () => {
  const cell = new OnceLock(i32, { name: "wake-retry" });
  const f = flags();
  await withLongSlices(cell, async () => {
    const runner = spawn(
      (cell: OnceLock<number>, f: Int32Array) => {
        try {
          return cell.getOrInit(() => {
            Atomics.store(f, 0, 1);
            Atomics.notify(f, 0);
            while (Atomics.load(f, 1) === 0) Atomics.wait(f, 1, 0, 100);
            throw new Error("runner failed");
          });
        } catch (e) {
          return (e as Error).message;
        }
      },
      [cell, f],
      { name: "cell-runner" },
    );
    await waitUntil(() => Atomics.load(f, 0) === 1, "the runner is inside fn");
    const waiter = spawn((cell: OnceLock<number>) => cell.getOrInit(() => 7), [cell], { name: "cell-waiter" });
    const mainAsync = cell.getOrInitAsync(async () => 8);
    await waitForBlocked("wake-retry", 1);
    Atomics.store(f, 1, 1);
    Atomics.notify(f, 1);
    assert.equal(await runner.join(), "runner failed");
    const [w, m] = await Promise.all([waiter.join(), mainAsync]);
    assert.ok((w === 7 || w === 8) && m === w, `waiter ${w}, main ${m}`);
    assert.equal(cell.get(), w);
  });
});

test("OnceLock: a thread terminated inside fn leaves it empty and wakes the waiters: exactly one of them initializes it", { timeout: 60_000 }, async () => {
  const cell = new OnceLock(i32, { name: "od-cell" });
  const f = flags();
  const runs = new AtomicI32(0);
  await withLongSlices(cell, async () => {
    const victim = spawn(
      (cell: OnceLock<number>, f: Int32Array, obey: Mutex<number>) =>
        cell.getOrInit(() => {
          Atomics.store(f, 0, 1);
          Atomics.notify(f, 0);
          while (Atomics.load(f, 7) === 0) Atomics.wait(f, 7, 0); // until terminated (or released: obeyPoint)
          return obey.with((g) => g.value);
        }),
      [cell, f, obeyPoint("od-cell")],
      { name: "cell-victim" },
    );
    await waitUntil(() => Atomics.load(f, 0) === 1, "the victim is inside fn");
    const waiters: Array<JoinHandle<number>> = [];
    for (let k = 0; k < 3; k++) {
      waiters.push(
        spawn(
          (cell: OnceLock<number>, runs: AtomicI32, k: number) =>
            cell.getOrInit(() => {
              runs.fetchAdd(1);
              return 100 + k;
            }),
          [cell, runs, k],
          { name: `cell-waiter-${k}` },
        ),
      );
    }
    const mainWait = cell.waitAsync();
    await waitForBlocked("od-cell", 3);
    assert.equal(cell.get(), undefined);
    await terminateWaiting(victim, () => signal(f, 7));
    const values = await Promise.all(waiters.map((w) => w.join()));
    assert.equal(runs.load(), 1, "exactly one waiter ran its fn");
    assert.ok(values[0]! >= 100 && values[0]! < 103);
    assert.deepEqual(values, Array(3).fill(values[0]));
    assert.equal(await mainWait, values[0]);
    await assert.rejects(victim.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
  });
});

test("OnceLock: a getOrInit whose fn waits, through another thread, for the same cell is a cycle: one DeadlockError", { timeout: 60_000 }, async () => {
  for (let round = 0; round < 2; round++) {
    const cell = new OnceLock(i32, { name: `dl-cell-${round}` });
    const m = new Mutex(i32, 0, { name: `dl-mutex-${round}` });
    const f = flags();
    // B holds the mutex, then waits for the cell; A runs the cell's initializer, which locks the mutex.
    const b = spawn(
      (cell: OnceLock<number>, m: Mutex<number>, f: Int32Array) => {
        const g = m.lock();
        Atomics.store(f, 0, 1);
        Atomics.notify(f, 0);
        while (Atomics.load(f, 1) === 0) Atomics.wait(f, 1, 0, 100);
        try {
          return { value: cell.getOrInit(() => 2) };
        } catch (e) {
          return { error: (e as Error).name, kind: (e as DeadlockError).kind, cycle: (e as DeadlockError).cycle?.map((c) => c.waitsFor.name) };
        } finally {
          g.unlock();
        }
      },
      [cell, m, f],
      { name: "B" },
    );
    const a = spawn(
      (cell: OnceLock<number>, m: Mutex<number>, f: Int32Array) => {
        while (Atomics.load(f, 0) === 0) Atomics.wait(f, 0, 0, 100);
        try {
          return {
            value: cell.getOrInit(() => {
              Atomics.store(f, 1, 1);
              Atomics.notify(f, 1);
              m.lock().unlock(); // held by B, who waits for this initializer
              return 1;
            }),
          };
        } catch (e) {
          return { error: (e as Error).name, kind: (e as DeadlockError).kind, cycle: (e as DeadlockError).cycle?.map((c) => c.waitsFor.name) };
        }
      },
      [cell, m, f],
      { name: "A" },
    );
    const [ra, rb] = await Promise.all([a.join(), b.join()]);
    const victims = [ra, rb].filter((r) => "error" in r);
    assert.equal(victims.length, 1, `exactly one DeadlockError: ${JSON.stringify([ra, rb])}`);
    const victim = victims[0] as { error: string; kind: string; cycle: string[] };
    assert.equal(victim.error, "DeadlockError");
    assert.equal(victim.kind, "cycle");
    assert.deepEqual([...victim.cycle].sort(), [`dl-cell-${round}`, `dl-mutex-${round}`]);
    // A victim: its fn threw, the cell stayed empty, B initialized it. B victim: A finished its initializer.
    const expected = "error" in ra ? 2 : 1;
    assert.deepEqual("error" in ra ? rb : ra, { value: expected });
    assert.equal(cell.get(), expected);
  }
});

// ## LazyLock

test("LazyLock forced from 10 threads: init runs once (in whichever thread came first), every thread reads the same value", { timeout: 60_000 }, async () => {
  // Raised slices: a waiter wakes only by the runner's notify when it completes.
  await withLongSlices(new AtomicI32(0), async () => {
    for (let round = 0; round < 3; round++) {
      const runs = new Int32Array(new SharedArrayBuffer(8));
      // init sees nothing of this scope (it travels as text); each thread hands it the run counter through its global.
      const lazy = new LazyLock(struct({ token: string(40), sum: i32 }), () => {
        const counter = (globalThis as unknown as { lazyRuns: Int32Array }).lazyRuns;
        Atomics.add(counter, 0, 1);
        let sum = 0;
        for (let i = 0; i < 200_000; i++) sum = (sum + i) | 0;
        return { token: `${Math.random()}`, sum };
      }, { name: `lazy-race-${round}` });
      const gate = flags(2);
      const handles = [];
      for (let t = 0; t < 10; t++) {
        handles.push(
          spawn(
            (lazy: LazyLock<{ token: string; sum: number }>, runs: Int32Array, gate: Int32Array, t: number) => {
              (globalThis as unknown as { lazyRuns: Int32Array }).lazyRuns = runs;
              Atomics.add(gate, 1, 1);
              while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 100);
              const v = t % 2 === 0 ? lazy.value : lazy.force();
              return { token: v.token, sum: v.sum, same: lazy.value === v };
            },
            [lazy, runs, gate, t],
          ),
        );
      }
      await waitUntil(() => Atomics.load(gate, 1) === 10, "every racer is at the gate");
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      const seen = await Promise.all(handles.map((h) => h.join()));
      assert.equal(Atomics.load(runs, 0), 1, "init ran once");
      const first = seen[0]!;
      for (const s of seen) assert.deepEqual(s, { token: first.token, sum: first.sum, same: true });
      assert.equal(lazy.isInitialized(), true);
      assert.deepEqual(lazy.value, { token: first.token, sum: first.sum });
    }
  });
});

test("LazyLock: init is sent as source text (a closure over a local fails the same way in every thread); a throwing init poisons it (Rust's lazy_poisoning)", async () => {
  assert.throws(() => new LazyLock(i32, 42 as never), /threadsafe: new LazyLock\(layout, init\)\(fn\): fn must be a function|init/);
  assert.throws(() => new LazyLock(i32, class {} as never), /new LazyLock\(layout, init\): init is a class/);
  const local = 5;
  const closes = new LazyLock(i32, () => local * 2);
  assert.throws(() => closes.value, (e: unknown) => e instanceof ReferenceError && /local/.test((e as Error).message));
  const x = new LazyLock(string(16), () => { throw new Error("kaboom"); }, { name: "kaboom" });
  assert.throws(() => x.value, /^Error: kaboom$/);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => x.value, (e: unknown) => e instanceof PoisonError && /LazyLock "kaboom" is poisoned/.test((e as Error).message));
  }
  assert.throws(() => x.force(), PoisonError);
  await assert.rejects(x.forceAsync(), PoisonError);
  assert.throws(() => { (x as { value: unknown }).value = "y"; }, TypeError);
  // An async init: force() refuses it, forceAsync() awaits it.
  const later = new LazyLock(i32, async () => 41 + 1);
  assert.throws(() => later.force(), /init is async; use "await lazy.forceAsync\(\)"/);
  const fresh = new LazyLock(i32, async () => 41 + 1);
  assert.equal(await fresh.forceAsync(), 42);
  assert.equal(fresh.value, 42);
});

test("LazyLock: a thread terminated inside init poisons it; waiters wake with PoisonError, no hang", { timeout: 60_000 }, async () => {
  const f = flags();
  const lazy = new LazyLock(i32, () => {
    const { lazyFlags: f, lazyObey: obey } = globalThis as unknown as { lazyFlags: Int32Array; lazyObey: Mutex<number> };
    Atomics.store(f, 0, 1);
    Atomics.notify(f, 0);
    while (Atomics.load(f, 7) === 0) Atomics.wait(f, 7, 0); // until terminated (or released: obeyPoint)
    return obey.with((g) => g.value);
  }, { name: "od-lazy" });
  await withLongSlices(lazy, async () => {
    const victim = spawn(
      (lazy: LazyLock<number>, f: Int32Array, obey: Mutex<number>) => {
        Object.assign(globalThis, { lazyFlags: f, lazyObey: obey });
        return lazy.value;
      },
      [lazy, f, obeyPoint("od-lazy")],
      { name: "lazy-victim" },
    );
    await waitUntil(() => Atomics.load(f, 0) === 1, "the victim is inside init");
    const waiter = spawn(
      (lazy: LazyLock<number>) => {
        try {
          return String(lazy.value);
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      },
      [lazy],
      { name: "lazy-waiter" },
    );
    await waitForBlocked("od-lazy", 1);
    await terminateWaiting(victim, () => signal(f, 7));
    assert.match(await waiter.join(), /^PoisonError: threadsafe: LazyLock "od-lazy" is poisoned: thread "lazy-victim" \(id \d+\) was terminated/);
    assert.throws(() => lazy.value, PoisonError);
  });
});
