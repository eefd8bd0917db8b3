// Wound-wait transactions: locks taken in any order never deadlock, updates are exact, and rollbacks are real.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, MutexGuard, PoisonError, i32, spawn, transaction } from "threadsafe";

type Counter = Mutex<number>;

/**
 * One worker: `rounds` transactions, each locking 2–3 random counters in random order (with a pause between
 * locks so orders really collide) and adding 1 to each with a non-atomic read-then-write.
 * Returns [updates per counter, rollbacks].
 */
const worker = async (counters: Counter[], rounds: number, seed: number, meet: Int32Array) => {
  const { transaction } = await import("threadsafe");
  let x = seed;
  const random = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const updates = counters.map(() => 0);
  let rollbacks = 0;
  Atomics.add(meet, 0, 1);
  while (Atomics.load(meet, 0) < Atomics.load(meet, 1)) Atomics.wait(meet, 0, Atomics.load(meet, 0), 10);
  for (let round = 0; round < rounds; round++) {
    const picks: number[] = [];
    const size = 2 + random(2);
    while (picks.length < size) {
      const pick = random(counters.length);
      if (!picks.includes(pick)) picks.push(pick);
    }
    transaction((tx) => {
      if (tx.retries > 0) rollbacks++;
      const guards = picks.map((pick, k) => {
        const guard = tx.lock(counters[pick]!);
        if (k === 0) Atomics.wait(meet, 2, 0, 0.01);
        return guard;
      });
      for (const guard of guards) guard.value = guard.value + 1; // read, then write: only the locks make it exact
    });
    for (const pick of picks) updates[pick]! += 1;
  }
  return [updates, rollbacks] as const;
};

test("6 workers × 1,000 transactions over random subsets in random order: exact totals, no deadlock, real rollbacks", { timeout: 120_000 }, async () => {
  const counters = Array.from({ length: 5 }, (_, i) => new Mutex(i32, 0, { name: `counter ${i}` }));
  const workers = 6;
  const meet = new Int32Array(new SharedArrayBuffer(12));
  meet[1] = workers;
  const handles = Array.from({ length: workers }, (_, w) => spawn(worker, [counters, 1_000, w + 1, meet], { name: `tx-${w}` }));
  const results = await Promise.all(handles.map((h) => h.join()));
  const expected = counters.map((_, i) => results.reduce((sum, [updates]) => sum + updates[i]!, 0));
  assert.deepEqual(counters.map((c) => c.with((g) => g.value)), expected);
  const rollbacks = results.reduce((sum, [, r]) => sum + r, 0);
  assert.ok(rollbacks > 0, "conflicting orders must cause rollbacks (else the test does not exercise wound-wait)");
  console.log(`# transactions: ${workers * 1000} committed, ${rollbacks} rollbacks`);
});

test("a transaction that throws poisons what it held and rethrows; its locks are released", { timeout: 10_000 }, () => {
  const a = new Mutex(i32, 1, { name: "tx-a" });
  const b = new Mutex(i32, 2, { name: "tx-b" });
  assert.throws(
    () =>
      transaction((tx) => {
        tx.lock(a).value = 10;
        tx.lock(b);
        throw new Error("half done");
      }),
    /half done/,
  );
  assert.equal(a.isPoisoned(), true);
  assert.equal(b.isPoisoned(), true);
  assert.throws(() => a.lock(), (e: unknown) => {
    assert.ok(e instanceof PoisonError);
    const guard = e.intoInner() as { value: number; unlock(): void };
    assert.equal(guard.value, 10);
    guard.unlock();
    return true;
  });
  a.clearPoison();
  b.clearPoison();
  assert.equal(transaction((tx) => tx.lock(a).value + tx.lock(b).value), 12);
});

test("tx.lock of a mutex the transaction holds returns the same guard; transactions do not nest; bad input", { timeout: 10_000 }, () => {
  const a = new Mutex(i32, 5, { name: "tx-same" });
  transaction((tx) => {
    const first = tx.lock(a);
    assert.equal(tx.lock(a), first);
    assert.throws(() => transaction(() => 0), /transactions do not nest/);
    assert.throws(() => tx.lock({} as never), TypeError);
  });
  const after = a.tryLock();
  assert.ok(after instanceof MutexGuard, "released after the transaction: tryLock() gives a guard");
  assert.equal(after.value, 5);
  after.unlock();
  assert.throws(() => transaction(5 as never), /transaction\(fn\): fn must be a function/);
  assert.throws(() => transaction(() => 0, { maxRetries: -1 }), RangeError);
});
