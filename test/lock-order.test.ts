// Deadlocks prevented before they happen: lock-order checking (lockdep) reports an inversion in a run that did not
// deadlock, lock levels refuse a descending acquisition at once, and lockAll takes a set of mutexes without
// hold-and-wait, so opposite orders cannot deadlock. Every test has an exact oracle and a time bound; settings
// changed by a test are put back at its end (they are program-wide and inherited by threads spawned later).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LockOrderError,
  LockTimeoutError,
  Mutex,
  PoisonError,
  configure,
  currentThread,
  dumpLocks,
  i32,
  lockAll,
  lockAllAsync,
  spawn,
  struct,
  type MutexGuard,
  type Report,
} from "threadsafe";
import { flags, joinAll, lockState, note, until } from "./support/deadlock-helpers.ts";

const defaultReport = (report: Report) => console.warn(report.message);

/** Locks `first` then `second` (both blocking acquisitions) and releases them, also when the second lock throws. */
function nested(first: Mutex<number>, second: Mutex<number>): void {
  const x = first.lock({ timeout: 2_000 });
  try {
    const y = second.lock({ timeout: 2_000 });
    y.value += 1;
    x.value += 1;
    y.unlock();
  } finally {
    x.unlock();
  }
}

test("lockOrder 'warn': an inversion in one thread, with no concurrency at all, is reported once, naming both locks; the same inversion again is not", { timeout: 20_000 }, () => {
  const reports: Report[] = [];
  configure({ lockOrder: "warn", onReport: (report) => reports.push(report) });
  try {
    const a = new Mutex(i32, 0, { name: "order A" });
    const b = new Mutex(i32, 0, { name: "order B" });
    nested(a, b);
    nested(a, b);
    assert.equal(reports.length, 0, "one order, used twice: nothing to report");
    nested(b, a); // the opposite order: this run cannot deadlock, but another could
    assert.equal(reports.length, 1);
    const [report] = reports;
    assert.equal(report!.kind, "lock-order");
    assert.match(report!.message, /lock-order inversion/);
    assert.match(report!.message, /locks Mutex "order A" while holding Mutex "order B"/);
    assert.match(report!.message, /"order A" → "order B"/); // the order seen before
    assert.ok(report!.message.includes(`"${currentThread().name}"`), report!.message);
    assert.match(report!.message, /Fix:/);
    nested(b, a);
    nested(a, b);
    nested(b, a);
    assert.equal(reports.length, 1, "deduplicated: the same inversion is reported once");
    assert.equal(a.with((g) => g.value), 6);
    assert.equal(b.with((g) => g.value), 6);
  } finally {
    configure({ lockOrder: "off", onReport: defaultReport });
  }
});

test("lockOrder 'throw': the inversion throws LockOrderError before blocking, every time, even while the lock is held elsewhere", { timeout: 30_000 }, async () => {
  configure({ lockOrder: "throw" });
  try {
    const c = new Mutex(i32, 0, { name: "order C" });
    const d = new Mutex(i32, 0, { name: "order D" });
    nested(c, d); // C before D: the established order
    const sync = flags(2);
    const holder = spawn(
      (c: Mutex<number>, sync: Int32Array) => {
        const g = c.lock();
        Atomics.store(sync, 0, 1);
        Atomics.notify(sync, 0);
        Atomics.wait(sync, 1, 0, 15_000);
        g.unlock();
      },
      [c, sync],
      { name: "C holder" },
    );
    await until("C is held by the worker", () => Atomics.load(sync, 0) === 1);
    const gd = d.lock();
    for (let attempt = 0; attempt < 3; attempt++) {
      assert.throws(
        () => c.lock({ timeout: 5_000 }), // were it to block, it would wait 5 s and throw LockTimeoutError
        (e: unknown) => {
          assert.ok(e instanceof LockOrderError, String(e));
          assert.equal(e.name, "LockOrderError");
          assert.match(e.message, /locks Mutex "order C" while holding Mutex "order D"/);
          assert.match(e.message, /"order C" → "order D"/);
          return true;
        },
      );
      // Refused before any wait (a wait would end in LockTimeoutError): C is still the holder's, this thread was
      // never listed as its waiter, and it holds only D.
      assert.deepEqual(lockState(c)?.owner, { id: holder.threadId, name: "C holder" }, `attempt ${attempt}`);
      assert.deepEqual(lockState(c)?.waiters, [], `attempt ${attempt}: no waiter left on C`);
      assert.deepEqual(dumpLocks().locks.filter((l) => l.owner?.id === currentThread().id).map((l) => l.lock.name), ["order D"]);
    }
    gd.unlock();
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1);
    await joinAll([holder], 10_000, "C holder");
    // With nothing held there is no order to check; C before D is still fine.
    nested(c, d);
    assert.throws(() => nested(d, c), LockOrderError);
    assert.deepEqual(dumpLocks().locks.filter((l) => l.owner?.id === currentThread().id), [], "the refused attempts hold nothing");
  } finally {
    configure({ lockOrder: "off" });
  }
});

test("tryLock records no edge into the lock it tried (but a lock taken by tryLock orders the locks blocked on after it)", { timeout: 20_000 }, () => {
  const reports: Report[] = [];
  configure({ lockOrder: "warn", onReport: (report) => reports.push(report) });
  try {
    const a = new Mutex(i32, 0, { name: "try A" });
    const b = new Mutex(i32, 0, { name: "try B" });
    const c = new Mutex(i32, 0, { name: "try C" });
    // A held, B tried: no edge A → B.
    {
      const ga = a.lock();
      const gb = b.tryLock();
      assert.ok(gb);
      gb.unlock();
      ga.unlock();
    }
    nested(b, a); // B → A: no reverse path, so no inversion
    assert.equal(reports.length, 0, "tryLock must not have recorded A → B");
    // The same A → B, taken blocking this time, is a real inversion of B → A.
    nested(a, b);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!.message, /locks Mutex "try B" while holding Mutex "try A"/);
    // B taken by tryLock, then C blocking: B → C is recorded (tryLock only skips the edge *into* the tried lock).
    {
      const gb = b.tryLock();
      assert.ok(gb);
      const gc = c.lock();
      gc.unlock();
      gb.unlock();
    }
    nested(c, b);
    assert.equal(reports.length, 2);
    assert.match(reports[1]!.message, /locks Mutex "try B" while holding Mutex "try C"/);
  } finally {
    configure({ lockOrder: "off", onReport: defaultReport });
  }
});

test("an inversion across two threads (thread 1 does A→B and ends, then thread 2 does B→A) is reported in thread 2", { timeout: 30_000 }, async () => {
  const mainReports: Report[] = [];
  configure({ lockOrder: "warn", onReport: (report) => mainReports.push(report) }); // before spawning: inherited
  try {
    const a = new Mutex(i32, 0, { name: "cross A" });
    const b = new Mutex(i32, 0, { name: "cross B" });
    const inOrder = async (first: Mutex<number>, second: Mutex<number>) => {
      const { configure } = await import("threadsafe");
      const reports: Array<{ kind: string; message: string }> = [];
      configure({ onReport: (report) => reports.push({ kind: report.kind, message: report.message }) });
      for (let i = 0; i < 3; i++) {
        const x = first.lock();
        const y = second.lock();
        x.value += 1;
        y.value += 1;
        y.unlock();
        x.unlock();
      }
      return reports;
    };
    const one = spawn(inOrder, [a, b], { name: "order-1 (A then B)" });
    const [first] = await joinAll([one], 15_000, "thread 1");
    assert.deepEqual(first, []);
    const two = spawn(inOrder, [b, a], { name: "order-2 (B then A)" });
    const [second] = await joinAll([two], 15_000, "thread 2");
    assert.equal(second!.length, 1, JSON.stringify(second));
    assert.equal(second![0]!.kind, "lock-order");
    const message = second![0]!.message;
    assert.ok(message.includes(`thread "order-2 (B then A)" (id ${two.threadId}) locks Mutex "cross A" while holding Mutex "cross B"`), message);
    // Thread 1 has ended (and its slot may have been reused by thread 2): the report must still name it.
    assert.ok(message.includes(`before:  "cross A" → "cross B"   first in thread "order-1 (A then B)" (id ${one.threadId})`), message);
    assert.deepEqual(mainReports, [], "the main thread saw nothing: reports go to the thread that found them");
    assert.equal(a.with((g) => g.value), 6);
  } finally {
    configure({ lockOrder: "off", onReport: defaultReport });
  }
});

test("lock levels: a lower or equal level while holding a higher one throws LockOrderError at once; increasing order works; unleveled locks don't take part", { timeout: 30_000 }, async () => {
  const one = new Mutex(i32, 0, { name: "level one", level: 1 });
  const two = new Mutex(i32, 0, { name: "level two", level: 2 });
  const twoToo = new Mutex(i32, 0, { name: "level two too", level: 2 });
  const three = new Mutex(i32, 0, { name: "level three", level: 3 });
  const free = new Mutex(i32, 0, { name: "unleveled" });

  // Increasing order works, and values are written under all three.
  {
    const g1 = one.lock();
    const g2 = two.lock();
    const g3 = three.lock();
    g1.value = 1;
    g2.value = 2;
    g3.value = 3;
    g3.unlock();
    g2.unlock();
    g1.unlock();
  }
  // Lower while holding higher: refused at once, even though "level one" is held by another thread and a plain
  // wait would take the whole 5 s timeout.
  const sync = flags(2);
  const holder = spawn(
    (m: Mutex<number>, sync: Int32Array) => {
      const g = m.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      Atomics.wait(sync, 1, 0, 15_000);
      g.unlock();
    },
    [one, sync],
    { name: "level-one holder" },
  );
  await until("level one is held by the worker", () => Atomics.load(sync, 0) === 1);
  const g2 = two.lock();
  assert.throws(
    () => one.lock({ timeout: 5_000 }),
    (e: unknown) => {
      assert.ok(e instanceof LockOrderError, String(e));
      assert.equal(e.name, "LockOrderError");
      assert.match(e.message, /locking Mutex "level one" \(level 1\) while holding Mutex "level two" \(level 2\)/);
      return true;
    },
  );
  // Refused before any wait (a wait would end in LockTimeoutError): "level one" is still the holder's, no waiter.
  assert.deepEqual(lockState(one)?.owner, { id: holder.threadId, name: "level-one holder" });
  assert.deepEqual(lockState(one)?.waiters, []);
  assert.throws(() => one.with(() => 0), LockOrderError);
  // Equal level: refused too.
  assert.throws(
    () => twoToo.lock(),
    (e: unknown) => e instanceof LockOrderError && /"level two too" \(level 2\) while holding Mutex "level two" \(level 2\)/.test(e.message),
  );
  // lockAll checks every member against what the thread holds.
  assert.throws(() => lockAll([three, one]), LockOrderError);
  // Unleveled locks don't count: held or taken, they never refuse or get refused.
  const gf = free.lock();
  const g3 = three.lock(); // holding two and unleveled: three is above two
  g3.unlock();
  gf.unlock();
  g2.unlock();
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  await joinAll([holder], 10_000, "level-one holder");
  {
    const g = three.lock();
    const f = free.lock(); // unleveled under a leveled lock
    f.unlock();
    g.unlock();
    const f2 = free.lock();
    const g1 = one.lock(); // a leveled lock under an unleveled one
    g1.unlock();
    f2.unlock();
  }
  // Once released, the higher level no longer constrains: one, then two, again.
  const [x1, x2, x3] = lockAll([three, one, two]);
  assert.deepEqual([x1.value, x2.value, x3.value], [3, 1, 2]);
  x1.unlock();
  x2.unlock();
  x3.unlock();
  assert.deepEqual(dumpLocks().locks.filter((l) => l.owner?.id === currentThread().id), [], "nothing left held");
});

type Cell = { count: number; weighted: number };

/** A worker of the lockAll stress: `iterations` × lockAll(set, in this worker's order). */
const lockAllWorker = async (set: Mutex<Cell>[], iterations: number, start: Int32Array, workers: number) => {
  const { lockAll } = await import("threadsafe");
  let deadlocks = 0;
  let misordered = 0;
  Atomics.add(start, 0, 1);
  Atomics.notify(start, 0);
  const giveUp = Date.now() + 20_000;
  for (let seen = Atomics.load(start, 0); seen < workers && Date.now() < giveUp; seen = Atomics.load(start, 0)) Atomics.wait(start, 0, seen, 50);
  for (let i = 0; i < iterations; i++) {
    let guards;
    try {
      guards = lockAll(set);
    } catch (error) {
      if ((error as Error).name === "DeadlockError") {
        deadlocks++;
        continue;
      }
      throw error;
    }
    for (let k = 0; k < guards.length; k++) {
      const g = guards[k]!;
      if (g.mutexName !== set[k]!.name) misordered++;
      const cell = g.value;
      cell.count = cell.count + 1; // non-atomic read-modify-write
      cell.weighted = cell.weighted + k + 1; // position-dependent: wrong if the guards came back in another order
    }
    for (const g of guards) g.unlock();
  }
  return { deadlocks, misordered };
};

test("lockAll under opposite-order stress: 4 workers × 20,000 lockAll of 3 mutexes, each in a different order: exact totals, zero DeadlockErrors, guards in the caller's order", { timeout: 60_000 }, async () => {
  const ITERATIONS = 20_000;
  const cells = ["X", "Y", "Z"].map((n) => new Mutex(struct({ count: i32, weighted: i32 }), { count: 0, weighted: 0 }, { name: `all ${n}` }));
  const [x, y, z] = cells as [Mutex<Cell>, Mutex<Cell>, Mutex<Cell>];
  const orders = [
    [x, y, z],
    [z, y, x],
    [y, z, x],
    [x, z, y],
  ];
  const start = flags(1);
  const started = performance.now();
  const handles = orders.map((order, w) => spawn(lockAllWorker, [order, ITERATIONS, start, orders.length], { name: `lockAll-${w}` }));
  const results = await joinAll(handles, 50_000, "lockAll stress");
  const elapsed = performance.now() - started;
  assert.deepEqual(results, orders.map(() => ({ deadlocks: 0, misordered: 0 })));
  for (const cell of cells) {
    const weighted = orders.reduce((s, order) => s + ITERATIONS * (order.indexOf(cell) + 1), 0);
    assert.deepEqual(cell.with((g) => ({ count: g.value.count, weighted: g.value.weighted })), { count: orders.length * ITERATIONS, weighted }, cell.name);
  }
  // Different values written through the guards land in the caller's order.
  const [gz, gx, gy] = lockAll([z, x, y]);
  gz.value.count = 300;
  gx.value.count = 100;
  gy.value.count = 200;
  assert.deepEqual([gz.mutexName, gx.mutexName, gy.mutexName], ["all Z", "all X", "all Y"]);
  gx.unlock();
  gy.unlock();
  gz.unlock();
  assert.deepEqual(cells.map((m) => m.with((g) => g.value.count)), [100, 200, 300]);
  note(`lockAll stress: ${orders.length} workers × ${ITERATIONS} lockAll of 3 in opposite orders in ${Math.round(elapsed)} ms, 0 deadlocks`);
});

test("lockAll and lockAllAsync of a set that contains the same mutex twice: TypeError", { timeout: 10_000 }, async () => {
  const a = new Mutex(i32, 0, { name: "twice in a set" });
  const b = new Mutex(i32, 0);
  assert.throws(() => lockAll([a, b, a]), (e: unknown) => e instanceof TypeError && /"twice in a set" appears twice/.test(e.message));
  await assert.rejects(lockAllAsync([a, a]), TypeError);
  // Nothing was taken.
  const g = a.tryLock();
  assert.ok(g);
  g.unlock();
});

test("lockAllAsync from the main thread while 3 workers contend with lockAll in other orders: exact totals", { timeout: 60_000 }, async () => {
  const WORKER_ITERATIONS = 10_000;
  const MAIN_ITERATIONS = 2_000;
  const cells = ["P", "Q", "R"].map((n) => new Mutex(struct({ count: i32, weighted: i32 }), { count: 0, weighted: 0 }, { name: `async ${n}` }));
  const [p, q, r] = cells as [Mutex<Cell>, Mutex<Cell>, Mutex<Cell>];
  const orders = [
    [r, q, p],
    [q, p, r],
    [p, r, q],
  ];
  const start = flags(1);
  const handles = orders.map((order, w) => spawn(lockAllWorker, [order, WORKER_ITERATIONS, start, orders.length], { name: `contender-${w}` }));
  const mine = [q, r, p];
  for (let i = 0; i < MAIN_ITERATIONS; i++) {
    const guards = await lockAllAsync(mine, { timeout: 10_000 });
    guards.forEach((g, k) => {
      const cell = g.value;
      cell.count = cell.count + 1;
      cell.weighted = cell.weighted + k + 1;
    });
    for (const g of guards) g.unlock();
  }
  const results = await joinAll(handles, 40_000, "lockAllAsync contention");
  assert.deepEqual(results, orders.map(() => ({ deadlocks: 0, misordered: 0 })));
  for (const cell of cells) {
    const weighted = orders.reduce((s, order) => s + WORKER_ITERATIONS * (order.indexOf(cell) + 1), 0) + MAIN_ITERATIONS * (mine.indexOf(cell) + 1);
    assert.deepEqual(
      cell.with((g) => ({ count: g.value.count, weighted: g.value.weighted })),
      { count: orders.length * WORKER_ITERATIONS + MAIN_ITERATIONS, weighted },
      cell.name,
    );
  }
});

test("lockAll({ timeout }) with one member held elsewhere: LockTimeoutError, and nothing of the set stays held", { timeout: 30_000 }, async () => {
  const a = new Mutex(i32, 0, { name: "set A" });
  const b = new Mutex(i32, 0, { name: "set B" });
  const c = new Mutex(i32, 0, { name: "set C" });
  const me = currentThread().id;
  // The held member first, in the middle, and last in the canonical (creation) order.
  for (const held of [a, b, c]) {
    const sync = flags(2);
    const holder = spawn(
      (m: Mutex<number>, sync: Int32Array) => {
        const g = m.lock();
        Atomics.store(sync, 0, 1);
        Atomics.notify(sync, 0);
        Atomics.wait(sync, 1, 0, 15_000);
        g.unlock();
      },
      [held, sync],
      { name: `holder of ${held.name}` },
    );
    await until(`${held.name} is held`, () => Atomics.load(sync, 0) === 1);
    assert.throws(
      () => lockAll([c, b, a], { timeout: 200 }),
      (e: unknown) => {
        assert.ok(e instanceof LockTimeoutError, String(e));
        assert.equal(e.name, "LockTimeoutError");
        assert.deepEqual(e.lock, { id: held.lockId, name: held.name }, "the timeout names the member held elsewhere");
        assert.deepEqual(e.owner, { id: holder.threadId, name: `holder of ${held.name}` });
        return true;
      },
    );
    // It timed out on a lock that really was held elsewhere all along (the holder cannot release before sync[1]).
    assert.deepEqual(lockState(held)?.owner, { id: holder.threadId, name: `holder of ${held.name}` });
    assert.deepEqual(lockState(held)?.waiters, [], "the timed-out wait is withdrawn");
    // Right after: this thread holds nothing; the free members can be taken, the held one cannot.
    assert.deepEqual(dumpLocks().locks.filter((l) => l.owner?.id === me).map((l) => l.lock.name), [], `after timing out on ${held.name}`);
    for (const m of [a, b, c]) {
      const g = m.tryLock();
      if (m === held) assert.equal(g, undefined);
      else {
        assert.ok(g, `${m.name} was left held`);
        g.unlock();
      }
    }
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1);
    await joinAll([holder], 10_000, "holder");
    for (const m of [a, b, c]) {
      const g = m.tryLock();
      assert.ok(g, `${m.name} is free once its holder released it`);
      g.unlock();
    }
  }
});

test("lockAll with poisoned members: PoisonError whose intoInner() gives every guard, all held, in the caller's order", { timeout: 10_000 }, async () => {
  const a = new Mutex(i32, 1, { name: "poisoned A" });
  const b = new Mutex(i32, 2, { name: "poisoned B" });
  const c = new Mutex(i32, 3, { name: "clean C" });
  for (const m of [a, b]) {
    assert.throws(() => m.with(() => { throw new Error("panic"); }), /panic/);
    assert.equal(m.isPoisoned(), true);
  }
  let guards: MutexGuard<number>[] | undefined;
  try {
    lockAll([c, a, b]);
    assert.fail("lockAll on poisoned members must throw");
  } catch (e) {
    assert.ok(e instanceof PoisonError, String(e));
    assert.equal(e.name, "PoisonError");
    assert.match(e.message, /"poisoned A"/);
    assert.match(e.message, /"poisoned B"/);
    guards = e.intoInner() as MutexGuard<number>[];
  }
  assert.equal(guards.length, 3);
  assert.deepEqual(guards.map((g) => g.mutexName), ["clean C", "poisoned A", "poisoned B"]);
  assert.deepEqual(guards.map((g) => g.held), [true, true, true]);
  assert.deepEqual(guards.map((g) => g.value), [3, 1, 2]);
  for (const m of [a, b, c]) assert.equal(m.tryLock(), undefined, `${m.name} is held`);
  await new Promise((resolve) => setTimeout(resolve, 20)); // claimed guards are not released at the end of the task
  for (const m of [a, b, c]) assert.equal(m.tryLock(), undefined, `${m.name} is still held`);
  a.clearPoison();
  b.clearPoison();
  for (const g of guards) g.unlock();
  const again = lockAll([a, b, c]);
  assert.deepEqual(again.map((g) => g.value), [1, 2, 3]);
  for (const g of again) g.unlock();

  // lockAllAsync: the same.
  assert.throws(() => b.with(() => { throw new Error("panic again"); }));
  await assert.rejects(lockAllAsync([b, c]), (e: unknown) => {
    assert.ok(e instanceof PoisonError);
    const gs = e.intoInner() as MutexGuard<number>[];
    assert.deepEqual(gs.map((g) => [g.mutexName, g.held]), [["poisoned B", true], ["clean C", true]]);
    b.clearPoison();
    for (const g of gs) g.unlock();
    return true;
  });
  assert.deepEqual([a, b, c].map((m) => m.with((g) => g.value)), [1, 2, 3]);
});
