// Regressions for problems a code review found; each test fails on the code before its fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DeadlockError, Mutex, MutexGuard, PoisonError, ThreadError, i32, spawn, transaction } from "threadsafe";
import { ObjectKind, RawChannel, Runtime, allocateObject, boundedRing, initRing, ringBytes } from "../dist/internal.js";

test("a lock taken by a thread after its own exit hook ran (owner already reaped) is recovered by its waiters", { timeout: 20_000 }, async () => {
  const k = new Mutex(i32, 0, { name: "taken-while-exiting" });
  const h = spawn(
    (k: Mutex<number>) => {
      // Registered after the library's own exit hook: runs after the thread was reaped, and takes a lock.
      (globalThis as unknown as { process: { on(e: string, f: () => void): void } }).process.on("exit", () => {
        k.lock();
      });
      return 1;
    },
    [k],
    { name: "late-locker" },
  );
  assert.equal(await h.join(), 1);
  assert.throws(
    () => k.lock({ timeout: 5_000 }),
    (e: unknown) => {
      assert.ok(e instanceof PoisonError, `expected PoisonError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
      (e.intoInner() as MutexGuard<number>).unlock();
      return true;
    },
  );
  k.clearPoison();
});

test("a task a thread started and did not await cannot write through its guard after the thread ended", { timeout: 20_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "floating-task" });
  const h = spawn(
    (m: Mutex<number>) => {
      void m.withAsync(async (g) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        g.value = 1; // must never happen: the thread ends when its function returns
      });
      return "returned";
    },
    [m],
    { name: "leaves-a-task" },
  );
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError && e.how === "held-locks" && /floating-task/.test(e.message));
  let guard: MutexGuard<number> | undefined;
  try {
    m.lock({ timeout: 5_000 });
  } catch (e) {
    assert.ok(e instanceof PoisonError);
    guard = e.intoInner() as MutexGuard<number>;
  }
  assert.ok(guard);
  guard.value = 100;
  await new Promise((resolve) => setTimeout(resolve, 500)); // longer than the task's sleep
  assert.equal(guard.value, 100, "the ended thread's task wrote into a lock it no longer held");
  guard.unlock();
  m.clearPoison();
});

test("re-locking a leveled mutex this thread holds is a self-deadlock, not a level violation", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 0, { name: "leveled", level: 1 });
  const g = m.lock();
  assert.throws(() => m.lock(), (e: unknown) => e instanceof DeadlockError && e.kind === "self");
  g.unlock();
});

test("a PoisonError escaping a transaction carries a held guard and keeps the original poison record", { timeout: 20_000 }, async () => {
  const m = new Mutex(i32, 7, { name: "poisoned-in-tx" });
  const h = spawn((m: Mutex<number>) => {
    const g = m.lock();
    g.value = 8;
    throw new Error("dies holding it");
  }, [m], { name: "dier" });
  await assert.rejects(h.join(), ThreadError);
  let error: unknown;
  try {
    transaction((tx) => tx.lock(m));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof PoisonError, `got ${(error as Error)?.name}`);
  assert.match(error.message, /"dier".*died of an uncaught error/);
  const guard = error.intoInner() as MutexGuard<number>;
  assert.equal(guard.held, true);
  assert.equal(guard.value, 8);
  guard.unlock();
  assert.equal(m.isPoisoned(), true);
  m.clearPoison();
});

test("withAsync and lockAsync with options on a free lock: exact count, and the lock is free afterwards", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "async-fast" });
  for (let i = 0; i < 1_000; i++) {
    await m.withAsync((g) => {
      g.value += 1;
    }, { timeout: 1000 });
    const g = await m.lockAsync({ timeout: 1000 });
    g.value += 1;
    g.unlock();
  }
  assert.equal(m.with((g) => g.value), 2_000);
  // Nothing is left held: another thread gets a guard from tryLock at once (and reads the total through it).
  const seen = await spawn((m: Mutex<number>) => {
    const g = m.tryLock();
    if (g === undefined) return "tryLock() gave no guard";
    const value = g.value;
    g.unlock();
    return value;
  }, [m]).join();
  assert.equal(seen, 2_000);
});

test("a receiver's skip that loses to the sender's publication keeps its take announced: a full-ring sender cannot reclaim the slot under the read", () => {
  // One thread plays four, step by step (the interleaving a review found): S claims position 0 of a 1-slot ring and
  // writes; R, on its slow path, finds the slot claimed and unpublished and scans for its claimer, and during the
  // scan S publishes and withdraws; R finds no claimer, takes the head, loses the free to the publication and so holds
  // S's message. X, a sender on the full ring, must then see R's take and not free the slot under R's read.
  const rt = Runtime.create(64);
  const [S, R, X, R2] = ["S", "R", "X", "R2"].map((name) => rt.allocateThread(name));
  const data = new SharedArrayBuffer(ringBytes(boundedRing(1, 16)));
  initRing(data, boundedRing(1, 16));
  const id = allocateObject(rt, ObjectKind.Channel, "skip-vs-publish", undefined, 0);
  const [s, r, x, r2] = [S, R, X, R2].map((thread) => new RawChannel(rt, id, data, thread!));
  const view = new DataView(data);
  const write = (raw: RawChannel, pos: number, v: number) => view.setInt32(raw.payloadOffset(pos), v, true);
  const read = (raw: RawChannel, pos: number) => view.getInt32(raw.payloadOffset(pos), true);
  const p = s.claimSend();
  write(s, p, 111);
  const scan = r.claimerAlive.bind(r);
  r.claimerAlive = (pos: number) => {
    assert.equal(s.publishSend(p), true);
    return scan(pos);
  };
  const got = r.claimRecvSkipping();
  assert.equal(got, p, "R took S's message (published during its scan)");
  assert.equal(x.claimSendReclaiming(), -1, "the ring is full: R is still reading the slot");
  assert.equal(read(r, got), 111, "R reads S's message");
  r.finishRecv(got);
  assert.equal(r2.claimRecv(), -1, "nothing else was sent");
});
