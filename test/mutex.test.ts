// Mutex<T> across real workers on real shared memory. Every test has an exact oracle and a time bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DeadlockError,
  LockTimeoutError,
  Mutex,
  MutexGuard,
  PoisonError,
  currentThread,
  f64,
  i32,
  snapshot,
  spawn,
  struct,
} from "threadsafe";
import { lockState, threadState, waitForAsyncWaits, waitUntil } from "./support/wait-for.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

/** A small shared flag array for making threads meet at known points. */
function flags(n = 4): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

// The parking slice is raised (support/park-slice.ts): an unlock that does not wake a parked waiter hangs this test.
test("4 workers × 250,000 non-atomic increments under lock() give exactly 1,000,000, three times", { timeout: 120_000 }, () => withRaisedSlice(async () => {
  for (let round = 0; round < 3; round++) {
    const counter = new Mutex(i32, 0, { name: `counter-${round}` });
    const handles = [];
    for (let w = 0; w < 4; w++) {
      handles.push(
        spawn(
          (m: Mutex<number>, n: number) => {
            for (let i = 0; i < n; i++) {
              const g = m.lock();
              g.value = g.value + 1; // read, then write: not atomic; only the lock makes it exact
              g.unlock();
            }
          },
          [counter, 250_000],
          { name: `incr-${w}` },
        ),
      );
    }
    await Promise.all(handles.map((h) => h.join()));
    assert.equal(counter.with((g) => g.value), 1_000_000);
  }
}));

test("main thread takes part with lockAsync while 3 workers use lock(): exact total", { timeout: 120_000 }, async () => {
  const counter = new Mutex(i32, 0);
  const handles = [];
  for (let w = 0; w < 3; w++) {
    handles.push(
      spawn(
        (m: Mutex<number>, n: number) => {
          for (let i = 0; i < n; i++) {
            using g = m.lock();
            g.value = g.value + 1;
          }
        },
        [counter, 100_000],
      ),
    );
  }
  for (let i = 0; i < 20_000; i++) {
    const g = await counter.lockAsync();
    g.value = g.value + 1;
    g.unlock();
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(counter.with((g) => g.value), 320_000);
});

test("a struct invariant (two balances, constant sum) holds under contention from 4 workers", { timeout: 120_000 }, async () => {
  const accounts = new Mutex(struct({ a: f64, b: f64, transfers: i32 }), { a: 1000, b: 1000, transfers: 0 }, { name: "accounts" });
  const handles = [];
  for (let w = 0; w < 4; w++) {
    handles.push(
      spawn(
        (m: Mutex<{ a: number; b: number; transfers: number }>, n: number, seed: number) => {
          let violations = 0;
          let x = seed;
          for (let i = 0; i < n; i++) {
            x = (x * 1103515245 + 12345) & 0x7fffffff;
            const amount = (x % 100) - 50;
            m.with((g) => {
              const v = g.value;
              if (v.a + v.b !== 2000) violations++;
              v.a -= amount;
              v.b += amount; // a reader without the lock would see a+b != 2000 between these two writes
              v.transfers += 1;
            });
          }
          return violations;
        },
        [accounts, 20_000, w + 1],
      ),
    );
  }
  const violations = await Promise.all(handles.map((h) => h.join()));
  assert.deepEqual(violations, [0, 0, 0, 0]);
  accounts.with((g) => {
    assert.equal(g.value.a + g.value.b, 2000);
    assert.equal(g.value.transfers, 80_000);
  });
});

test("tryLock is undefined while another thread holds the lock; lock({timeout}) throws LockTimeoutError naming the holder", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 7, { name: "held-elsewhere" });
  const sync = flags();
  const holder = spawn(
    (m: Mutex<number>, sync: Int32Array) => {
      const g = m.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      Atomics.wait(sync, 1, 0, 20_000); // hold until told to release
      g.unlock();
    },
    [m, sync],
    { name: "holder" },
  );
  await waitUntil(() => Atomics.load(sync, 0) === 1, "the holder holds the lock");
  assert.equal(m.tryLock(), undefined);
  assert.throws(
    () => m.lock({ timeout: 150 }),
    (e: unknown) => {
      assert.ok(e instanceof LockTimeoutError, `expected LockTimeoutError, got ${String(e)}`);
      assert.equal(e.name, "LockTimeoutError");
      assert.match(e.message, /held-elsewhere/);
      assert.match(e.message, /"holder"/);
      assert.deepEqual(e.owner, { id: holder.threadId, name: "holder" });
      assert.deepEqual(e.lock, { id: m.lockId, name: "held-elsewhere" });
      return true;
    },
  );
  // It timed out because the lock really was held elsewhere all along: the holder cannot release before sync[1].
  const state = lockState(m);
  assert.deepEqual(state?.owner, { id: holder.threadId, name: "holder" });
  assert.deepEqual(state?.waiters, [], "the timed-out waiter is no longer listed");
  assert.equal(threadState(currentThread().id)?.blockedOn, undefined, "this thread is not left blocked");
  assert.equal(m.tryLock(), undefined);
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  await holder.join();
  const g = m.tryLock();
  assert.ok(g instanceof MutexGuard);
  assert.equal(g.value, 7);
  g.unlock();
});

// The parking slice is raised: the aborted wait may be the one the release wakes, and only its pass-on then wakes the
// other waiter (parking/park.ts, parkAsync); without it, the other waiter would sleep until the test times out.
test("lockAsync resolves after the holder releases, while the main thread's timers keep running; an aborted signal rejects", { timeout: 30_000 }, () => withRaisedSlice(async () => {
  const m = new Mutex(i32, 0, { name: "async" });
  const sync = flags();
  const holder = spawn(
    (m: Mutex<number>, sync: Int32Array) => {
      const g = m.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      Atomics.wait(sync, 1, 0, 20_000);
      g.value = 42;
      g.unlock();
    },
    [m, sync],
  );
  await waitUntil(() => Atomics.load(sync, 0) === 1, "the holder holds the lock");

  const me = currentThread().id;
  const controller = new AbortController();
  const aborted = m.lockAsync({ signal: controller.signal });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  let settled = false;
  const pending = m.lockAsync();
  void pending.then(() => (settled = true), () => (settled = true));
  // Both waits are pending and listed; this thread's timers ran meanwhile (the poll itself runs on them).
  await waitForAsyncWaits(m, me, 2);
  await waitUntil(() => ticks > 0, "an interval timer ticks while two lockAsync() calls wait");
  assert.equal(settled, false, "lockAsync() resolved while the holder still held the lock");
  assert.equal(lockState(m)?.owner?.id, holder.threadId, "the holder still holds the lock");
  controller.abort(new Error("no longer needed"));
  await assert.rejects(aborted, /no longer needed/);
  await waitForAsyncWaits(m, me, 1, "the aborted lockAsync() is withdrawn; the other still waits");
  assert.equal(settled, false, "the abort did not give the other waiter the lock");
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  const g = await pending;
  clearInterval(timer);
  assert.equal(g.value, 42);
  g.unlock();
  await holder.join();
  await assert.rejects(m.lockAsync({ signal: AbortSignal.abort(new Error("already")) }), /already/);
  await assert.rejects(m.lockAsync({ timeout: -1 }), RangeError);
}));

test("with() poisons when its callback throws; PoisonError.intoInner() returns a held guard; clearPoison() recovers", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 1, { name: "fragile" });
  assert.throws(() => m.with((g) => { g.value = 2; throw new Error("boom"); }), /boom/);
  assert.equal(m.isPoisoned(), true);
  let guard: MutexGuard<number> | undefined;
  try {
    m.lock();
    assert.fail("lock() on a poisoned mutex must throw");
  } catch (e) {
    assert.ok(e instanceof PoisonError);
    assert.equal(e.name, "PoisonError");
    assert.match(e.message, /fragile/);
    guard = e.intoInner() as MutexGuard<number>;
  }
  assert.equal(guard.held, true);
  assert.equal(guard.value, 2); // the half-done write is visible
  assert.equal(m.tryLock(), undefined); // still held by us
  guard.value = 1;
  m.clearPoison();
  guard.unlock();
  assert.equal(m.isPoisoned(), false);
  assert.equal(m.with((g) => g.value), 1);
});

test("an unclaimed PoisonError does not leave the lock held forever", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "unclaimed" });
  assert.throws(() => m.with(() => { throw new Error("x"); }));
  assert.throws(() => m.lock(), PoisonError); // thrown away without intoInner()
  assert.throws(() => m.lock(), PoisonError); // a blocking re-lock releases the unclaimed guard first
  await new Promise((r) => setTimeout(r, 10)); // and the end of the task releases the rest
  m.clearPoison();
  assert.equal(m.with((g) => g.value), 0);
});

test("re-locking a mutex this thread holds throws DeadlockError at once instead of hanging", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 0, { name: "reentrant?" });
  const g = m.lock();
  assert.throws(
    () => m.lock(),
    (e: unknown) => e instanceof DeadlockError && e.kind === "self" && /reentrant\?/.test(e.message),
  );
  assert.throws(() => m.with(() => 0), DeadlockError);
  g.unlock();
  assert.equal(m.with((x) => x.value), 0);
});

test("guards: using releases, unlock twice throws, dispose after unlock is harmless, views die with the guard", { timeout: 10_000 }, () => {
  const m = new Mutex(struct({ x: i32, y: i32 }), { x: 1, y: 2 });
  let view: { x: number; y: number };
  {
    using g = m.lock();
    view = g.value;
    view.x = 10;
    g.value = { x: 3, y: 4 };
  }
  assert.throws(() => view.x, /after it was unlocked/);
  const g = m.lock();
  assert.deepEqual(snapshot(g.value), { x: 3, y: 4 });
  g.unlock();
  assert.throws(() => g.unlock(), /unlock\(\) called twice/);
  g[Symbol.dispose]();
  assert.throws(() => g.value, /after it was unlocked/);
  assert.throws(() => { g.value = { x: 0, y: 0 }; }, /after it was unlocked/);
});

test("bad writes leave the old value intact", { timeout: 10_000 }, () => {
  const m = new Mutex(struct({ x: i32, y: i32 }), { x: 1, y: 2 });
  m.with((g) => {
    assert.throws(() => { g.value = { x: 5, y: 2 ** 40 }; }, RangeError);
    assert.throws(() => { g.value = { x: 5 } as never; }, TypeError);
    assert.equal(g.value.x, 1);
    assert.equal(g.value.y, 2);
  });
  assert.throws(() => new Mutex(i32, 1.5), RangeError);
  assert.throws(() => new Mutex({} as never, 1), TypeError);
  assert.throws(() => m.lock({ timeout: Number.NaN }), RangeError);
  assert.throws(() => m.lock({ timeout: "1" as never }), TypeError);
});

test("withAsync on a free lock: a plain callback runs at once and releases before the promise settles; an async one holds until it settles; a throw or rejection poisons", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "with-async" });
  let seen: MutexGuard<number> | undefined;
  const plain = m.withAsync((g) => {
    seen = g;
    g.value += 1;
    return g.value;
  });
  assert.ok(seen, "the callback ran during the call");
  assert.equal(seen.held, false, "released before withAsync returned");
  const again = m.tryLock();
  assert.ok(again, "the lock is free again");
  again.unlock();
  assert.equal(await plain, 1);

  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const pending = m.withAsync(async (g) => {
    await gate;
    g.value += 1;
    return g.value;
  });
  assert.equal(m.tryLock(), undefined, "held while the async callback is pending");
  release();
  assert.equal(await pending, 2);
  assert.equal(m.get(), 2);

  await assert.rejects(m.withAsync(() => { throw new Error("sync boom"); }), /sync boom/);
  assert.equal(m.isPoisoned(), true, "a throwing callback poisons");
  m.clearPoison();
  await assert.rejects(m.withAsync(async () => { throw new Error("async boom"); }), /async boom/);
  assert.equal(m.isPoisoned(), true, "a rejecting callback poisons");
  m.clearPoison();
  assert.equal(m.get(), 2);
});
