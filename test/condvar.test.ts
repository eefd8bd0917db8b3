// Condvar (DESIGN §1b) across real workers on real shared memory. Every test has an exact oracle and a time bound
// (a node:test timeout, only a hang guard). Interleavings are ordered by what dumpLocks() shows, never by sleeping.
// The wake-up tests raise the parking slice far above their time bound: a lost notify then hangs the test instead
// of being rescued by the waiter's periodic re-check (checked by deleting the notify's Atomics.notify).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import {
  Condvar,
  LockOrderError,
  Mutex,
  MutexGuard,
  PoisonError,
  ThreadError,
  array,
  configure,
  dumpLocks,
  i32,
  receive,
  share,
  spawn,
  struct,
  type Report,
} from "threadsafe";
import { setParkSliceMs, sharedObject } from "../dist/internal.js";
import { lockState, waitForWaiterCount, waitForWaiters, waitUntil } from "./support/wait-for.ts";

/** Runs `body` with every waiter's sleep slice raised to an hour: a lost wake-up hangs instead of costing 100 ms. */
async function withRaisedSlice<R>(anyObject: Condvar, body: () => Promise<R>): Promise<R> {
  const rt = anyObject[sharedObject]().rt;
  setParkSliceMs(rt, 3_600_000);
  try {
    return await body();
  } finally {
    setParkSliceMs(rt, 0);
  }
}

const Tickets = struct({ tickets: i32, woke: i32 });
type TicketsT = { tickets: number; woke: number };

test("notifyOne with 10 waiters: each notify wakes exactly one, all 10 wake, none is lost", { timeout: 60_000 }, async () => {
  const m = new Mutex(Tickets, { tickets: 0, woke: 0 }, { name: "tickets" });
  const cv = new Condvar({ name: "ticket-cv" });
  await withRaisedSlice(cv, async () => {
    const handles = [];
    for (let i = 0; i < 10; i++) {
      handles.push(
        spawn(
          (m: Mutex<TicketsT>, cv: Condvar) => {
            using g = m.lock();
            let wakes = 0;
            while (g.value.tickets === 0) {
              cv.wait(g);
              wakes += 1;
            }
            g.value.tickets -= 1;
            g.value.woke += 1;
            return wakes;
          },
          [m, cv],
          { name: `waiter-${i}` },
        ),
      );
    }
    await waitForWaiterCount(cv, 10, "all 10 threads wait on the condvar");
    for (let k = 1; k <= 10; k++) {
      m.with((g) => {
        g.value.tickets += 1;
      });
      cv.notifyOne();
      // One notify, one waiter out (a lost notify leaves `woke` behind and the test hangs here).
      await waitUntil(() => m.with((g) => g.value.woke) === k, `notify ${k} woke a waiter`);
    }
    const wakes = await Promise.all(handles.map((h) => h.join()));
    assert.equal(wakes.length, 10);
    for (const w of wakes) assert.ok(w >= 1, `a waiter returned without waking: ${wakes}`);
    assert.deepEqual(m.get(), { tickets: 0, woke: 10 });
    assert.equal(lockState(cv), undefined, "no waiter is left on the condvar");
  });
});

test("notifyAll with 10 waiters wakes every one of them", { timeout: 60_000 }, async () => {
  const m = new Mutex(Tickets, { tickets: 0, woke: 0 }, { name: "go" });
  const cv = new Condvar({ name: "go-cv" });
  await withRaisedSlice(cv, async () => {
    const handles = [];
    for (let i = 0; i < 10; i++) {
      handles.push(
        spawn(
          (m: Mutex<TicketsT>, cv: Condvar) => {
            using g = m.lock();
            while (g.value.tickets === 0) cv.wait(g); // tickets: here a "go" flag nobody consumes
            g.value.woke += 1;
            return g.value.tickets;
          },
          [m, cv],
          { name: `all-${i}` },
        ),
      );
    }
    await waitForWaiterCount(cv, 10, "all 10 threads wait on the condvar");
    m.with((g) => {
      g.value.tickets = 1;
    });
    cv.notifyAll(); // once: every waiter must wake from it
    assert.deepEqual(await Promise.all(handles.map((h) => h.join())), Array(10).fill(1));
    assert.equal(m.with((g) => g.value.woke), 10);
  });
});

test("waitWhile with a producer: the consumer returns true exactly when the condition turns false", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "produced" });
  const cv = new Condvar({ name: "produced-cv" });
  await withRaisedSlice(cv, async () => {
    const consumer = spawn(
      (m: Mutex<number>, cv: Condvar) => {
        using g = m.lock();
        let checks = 0;
        const ok = cv.waitWhile(g, (n) => {
          checks += 1;
          return n < 1000;
        });
        return { ok, value: g.value, held: g.held, checks };
      },
      [m, cv],
      { name: "consumer" },
    );
    await waitForWaiters(cv, ["consumer"]);
    const producer = spawn(
      (m: Mutex<number>, cv: Condvar) => {
        for (let i = 0; i < 1000; i++) {
          m.with((g) => {
            g.value += 1;
          });
          cv.notifyOne();
        }
      },
      [m, cv],
      { name: "producer" },
    );
    await producer.join();
    const result = await consumer.join();
    assert.equal(result.ok, true);
    assert.equal(result.value, 1000, "the condition is checked under the mutex: it saw exactly the final count");
    assert.equal(result.held, true);
    assert.ok(result.checks >= 2 && result.checks <= 1001, `checks: ${result.checks}`);
  });
});

test("timeouts return false with the guard held again; a notify nobody waits for is not remembered", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 1, { name: "timed" });
  const cv = new Condvar({ name: "timed-cv" });
  const g = m.lock();
  cv.notifyOne(); // nobody waits: lost, as in Rust
  cv.notifyAll();
  assert.equal(cv.wait(g, { timeout: 20 }), false);
  assert.equal(g.held, true);
  g.value += 1;
  assert.equal(cv.wait(g, { timeout: 0 }), false);
  assert.equal(cv.waitWhile(g, (v) => v > 0, { timeout: 20 }), false);
  assert.equal(cv.waitWhile(g, (v) => v > 0, { timeout: 0 }), false);
  assert.equal(cv.waitWhile(g, (v) => v < 0, { timeout: 0 }), true, "a false condition returns true without waiting");
  assert.equal(await cv.waitAsync(g, { timeout: 20 }), false);
  assert.equal(await cv.waitWhileAsync(g, (v) => v === 2, { timeout: 20 }), false);
  assert.equal(await cv.waitWhileAsync(g, (v) => v !== 2), true);
  assert.equal(g.held, true);
  assert.equal(g.value, 2);
  g.unlock();
  assert.equal(m.isPoisoned(), false);
  assert.equal(lockState(m), undefined, "the mutex is free after unlock: the waits left nothing behind");
});

test("a timed wait that is notified returns true", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "timed-notified" });
  const cv = new Condvar({ name: "timed-notified-cv" });
  await withRaisedSlice(cv, async () => {
    const h = spawn(
      (m: Mutex<number>, cv: Condvar) => {
        using g = m.lock();
        const results: boolean[] = [];
        while (g.value === 0) results.push(cv.wait(g, { timeout: 600_000 }));
        return results;
      },
      [m, cv],
      { name: "timed-waiter" },
    );
    await waitForWaiters(cv, ["timed-waiter"]);
    m.set(1);
    cv.notifyOne();
    const results = await h.join();
    assert.ok(results.length >= 1 && results.every((r) => r === true), `results: ${results}`);
  });
});

test("async wait on the main thread: a worker's notify resolves it to true with the same guard held", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "main-async" });
  const cv = new Condvar({ name: "main-async-cv" });
  await withRaisedSlice(cv, async () => {
    const g = await m.lockAsync();
    const waiting = cv.waitWhileAsync(g, (v) => v === 0);
    await waitForWaiters(cv, [{ thread: "main", kind: "async" }]);
    assert.equal(g.held, false, "the guard is released while the wait is pending");
    assert.throws(() => g.value, /after it was unlocked/);
    const h = spawn(
      (m: Mutex<number>, cv: Condvar) => {
        m.set(7); // the mutex is free: the main thread released it for its wait
        cv.notifyOne();
      },
      [m, cv],
      { name: "notifier" },
    );
    assert.equal(await waiting, true);
    assert.equal(g.held, true);
    assert.equal(g.value, 7);
    g.unlock();
    await h.join();
  });
});

test("an aborted waitAsync takes the mutex back, then rejects with the signal's reason", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 3, { name: "abort" });
  const cv = new Condvar({ name: "abort-cv" });
  const g = m.lockAsync();
  const guard = await g;
  const controller = new AbortController();
  const waiting = cv.waitAsync(guard, { signal: controller.signal });
  await waitForWaiters(cv, [{ thread: "main", kind: "async" }]);
  const reason = new Error("stop waiting");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(guard.held, true);
  assert.equal(guard.value, 3);
  await assert.rejects(cv.waitAsync(guard, { signal: controller.signal }), (e) => e === reason, "an aborted signal rejects at once");
  assert.equal(guard.held, true, "…without releasing the guard");
  guard.unlock();
  assert.equal(lockState(cv), undefined);
});

const Queue = struct({ buf: array(i32, 16), head: i32, len: i32, taken: i32 });
type QueueT = { buf: { get(i: number): number; set(i: number, v: number): void }; head: number; len: number; taken: number };

test("bounded queue (Mutex + 2 Condvars), 4 producers × 4 consumers, 100,000 items: the exact multiset arrives", { timeout: 240_000 }, async () => {
  const TOTAL = 100_000;
  const PRODUCERS = 4;
  const queue = new Mutex(Queue, { buf: Array(16).fill(0), head: 0, len: 0, taken: 0 }, { name: "queue" });
  const notEmpty = new Condvar({ name: "not-empty" });
  const notFull = new Condvar({ name: "not-full" });
  const seen = new Int32Array(new SharedArrayBuffer(4 * TOTAL));
  const handles = [];
  for (let p = 0; p < PRODUCERS; p++) {
    handles.push(
      spawn(
        (q: Mutex<QueueT>, notEmpty: Condvar, notFull: Condvar, from: number, count: number) => {
          for (let i = from; i < from + count; i++) {
            using g = q.lock();
            notFull.waitWhile(g, (v) => v.len === 16);
            const v = g.value;
            v.buf.set((v.head + v.len) % 16, i);
            v.len += 1;
            notEmpty.notifyOne();
          }
        },
        [queue, notEmpty, notFull, p * (TOTAL / PRODUCERS), TOTAL / PRODUCERS],
        { name: `producer-${p}` },
      ),
    );
  }
  for (let c = 0; c < 4; c++) {
    handles.push(
      spawn(
        (q: Mutex<QueueT>, notEmpty: Condvar, notFull: Condvar, seen: Int32Array, total: number) => {
          let got = 0;
          for (;;) {
            let item: number;
            {
              using g = q.lock();
              notEmpty.waitWhile(g, (v) => v.len === 0 && v.taken < total);
              const v = g.value;
              if (v.len === 0) break; // everything was taken
              item = v.buf.get(v.head);
              v.head = (v.head + 1) % 16;
              v.len -= 1;
              v.taken += 1;
              if (v.taken === total) notEmpty.notifyAll(); // the other consumers: nothing more will come
              notFull.notifyOne();
            }
            Atomics.add(seen, item, 1);
            got += 1;
          }
          return got;
        },
        [queue, notEmpty, notFull, seen, TOTAL],
        { name: `consumer-${c}` },
      ),
    );
  }
  const results = await Promise.all(handles.map((h) => h.join()));
  const consumed = results.slice(PRODUCERS).reduce((a: number, b) => a + (b as number), 0);
  assert.equal(consumed, TOTAL);
  let missing = 0;
  let duplicated = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (seen[i] === 0) missing += 1;
    else if (seen[i]! > 1) duplicated += 1;
  }
  assert.deepEqual({ missing, duplicated }, { missing: 0, duplicated: 0 });
  const final = queue.get();
  assert.equal(final.len, 0);
  assert.equal(final.taken, TOTAL);
});

test("a Condvar used with two mutexes at once throws Error (nothing released); after the waits end, another mutex is fine", { timeout: 60_000 }, async () => {
  const m1 = new Mutex(i32, 0, { name: "first" });
  const m2 = new Mutex(i32, 0, { name: "second" });
  const cv = new Condvar({ name: "shared-cv" });
  const h = spawn(
    (m1: Mutex<number>, cv: Condvar) => {
      using g = m1.lock();
      cv.waitWhile(g, (v) => v === 0);
      return g.value;
    },
    [m1, cv],
    { name: "first-waiter" },
  );
  await waitForWaiters(cv, ["first-waiter"]);
  const g2 = m2.lock();
  assert.throws(
    () => cv.wait(g2, { timeout: 10 }),
    (e: unknown) =>
      e instanceof Error && /Condvar "shared-cv": wait\(\) with Mutex "second" while other threads wait on it with Mutex "first"/.test(e.message),
  );
  assert.equal(g2.held, true, "the misuse is caught before the guard is released");
  await assert.rejects(cv.waitAsync(g2, { timeout: 10 }), /only one mutex at a time/);
  assert.throws(() => cv.waitWhile(g2, () => true, { timeout: 10 }), /only one mutex at a time/);
  assert.equal(g2.held, true);
  m1.set(5);
  cv.notifyAll();
  assert.equal(await h.join(), 5);
  assert.equal(cv.wait(g2, { timeout: 5 }), false, "no wait with the first mutex is left: the second may be used");
  g2.unlock();
});

test("a mutex poisoned during the wait: wait throws PoisonError whose intoInner() is the same guard, held", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "poisoned-during-wait" });
  const cv = new Condvar({ name: "poison-cv" });
  const h = spawn(
    (m: Mutex<number>, cv: Condvar) => {
      using g = m.lock();
      try {
        while (g.value === 0) cv.wait(g);
        return "no error";
      } catch (e) {
        if (!(e instanceof Error) || e.name !== "PoisonError") throw e;
        const inner = (e as PoisonError<unknown>).intoInner();
        return { same: inner === g, held: g.held, value: g.value, poisoned: m.isPoisoned(), message: e.message };
      }
    },
    [m, cv],
    { name: "poison-waiter" },
  );
  await waitForWaiters(cv, ["poison-waiter"]);
  assert.throws(() =>
    m.with((g) => {
      g.value = 9;
      throw new Error("boom");
    }),
  );
  assert.equal(m.isPoisoned(), true);
  cv.notifyOne();
  const r = await h.join();
  assert.equal(typeof r, "object", `the waiter got no PoisonError: ${String(r)}`);
  const got = r as { same: boolean; held: boolean; value: number; poisoned: boolean; message: string };
  assert.deepEqual({ same: got.same, held: got.held, value: got.value, poisoned: got.poisoned }, { same: true, held: true, value: 9, poisoned: true });
  assert.match(got.message, /Mutex "poisoned-during-wait" is poisoned/);
  assert.equal(lockState(m)?.owner, undefined, "the waiter's guard was released when its thread ended");
  m.clearPoison();
});

test("a thread terminated while waiting leaves no wait behind: the condvar can be used with another mutex", { timeout: 60_000 }, async () => {
  const m1 = new Mutex(i32, 0, { name: "dead-waiter-mutex" });
  const m2 = new Mutex(i32, 0, { name: "later-mutex" });
  const cv = new Condvar({ name: "dead-waiter-cv" });
  const h = spawn(
    (m: Mutex<number>, cv: Condvar) => {
      using g = m.lock();
      for (;;) cv.wait(g);
    },
    [m1, cv],
    { name: "doomed-waiter" },
  );
  await waitForWaiters(cv, ["doomed-waiter"]);
  await h.terminate();
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
  assert.equal(m1.isPoisoned(), false, "it did not hold the mutex while waiting");
  const g = m2.lock();
  assert.equal(cv.wait(g, { timeout: 5 }), false, "the dead thread's wait was taken out: no two-mutex error");
  g.unlock();
});

test("dumpLocks() and stall reports name a condvar waiter's condvar and its mutex", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "queue" });
  const cv = new Condvar({ name: "not-empty" });
  const h = spawn(
    (m: Mutex<number>, cv: Condvar) => {
      using g = m.lock();
      cv.waitWhile(g, (v) => v === 0);
    },
    [m, cv],
    { name: "dump-waiter" },
  );
  await waitForWaiters(cv, [{ thread: "dump-waiter", kind: "sync" }]);
  const dump = dumpLocks();
  const state = dump.locks.find((l) => l.lock.id === cv.lockId)!;
  assert.equal(state.kind, "Condvar");
  assert.equal(state.relation, 'of Mutex "queue"');
  assert.deepEqual(state.holders, [], "nobody holds a condvar");
  const thread = dump.threads.find((t) => t.thread.name === "dump-waiter")!;
  assert.deepEqual([thread.blockedKind, thread.blockedOn?.name, thread.blockedRelation], ["Condvar", "not-empty", 'of Mutex "queue"']);
  assert.match(String(dump), /thread "dump-waiter" \(id \d+\): blocked on Condvar "not-empty" \(id \d+\) of Mutex "queue" for /);

  const reports: Report[] = [];
  configure({ stallWarnMs: 20, onReport: (r) => reports.push(r) });
  try {
    const g = m.lock();
    const other = new Condvar({ name: "stall-cv" });
    assert.equal(await other.waitAsync(g, { timeout: 300 }), false);
    g.unlock();
  } finally {
    configure({ stallWarnMs: 30_000, onReport: (r) => console.warn(r.message) });
  }
  const stall = reports.find((r) => r.kind === "stall");
  assert.ok(stall, "the main thread's long condvar wait was reported");
  assert.match(stall.message, /has waited \d+ ms on Condvar "stall-cv" of Mutex "queue", and nothing has woken it/);
  m.set(1);
  cv.notifyAll();
  await h.join();
});

test("lock levels: waiting with a leveled mutex while holding a higher level throws LockOrderError before releasing", { timeout: 10_000 }, () => {
  const low = new Mutex(i32, 0, { name: "low", level: 1 });
  const high = new Mutex(i32, 0, { name: "high", level: 2 });
  const cv = new Condvar({ name: "levels-cv" });
  const gl = low.lock();
  const gh = high.lock();
  assert.throws(() => cv.wait(gl, { timeout: 5 }), LockOrderError);
  assert.equal(gl.held, true);
  gh.unlock();
  assert.equal(cv.wait(gl, { timeout: 5 }), false, "holding nothing above it, the wait is fine");
  gl.unlock();
});

test("a Condvar crosses threads through share/receive (a raw Worker) and spawn args, as the same object in one thread", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "shared-m" });
  const cv = new Condvar({ name: "shared-cv2" });
  const back = receive<{ cv: Condvar }>(share({ cv }));
  assert.equal(back.cv, cv, "received in its own thread, it is the same object");
  const worker = new Worker(new URL("./support/condvar-raw-worker.mjs", import.meta.url));
  try {
    const reply = new Promise<unknown>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    worker.postMessage(share({ m, cv }));
    await waitUntil(() => (lockState(cv)?.waiters.length ?? 0) === 1, "the raw worker waits on the condvar");
    m.set(11);
    cv.notifyOne();
    assert.deepEqual(receive(await reply), { value: 11, isCondvar: true });
  } finally {
    await worker.terminate();
  }
});

test("arguments are validated with threadsafe: errors naming what is allowed", { timeout: 10_000 }, async () => {
  assert.throws(() => new Condvar(5 as never), { name: "TypeError", message: /threadsafe: new Condvar\(options\): options must be an object/ });
  assert.throws(() => new Condvar({ name: 5 as never }), { name: "TypeError", message: /name must be a string/ });
  const m = new Mutex(i32, 0);
  const cv = new Condvar();
  assert.match(cv.name, /^Condvar#\d+$/);
  assert.throws(() => cv.wait({} as never), { name: "TypeError", message: /guard must be a MutexGuard/ });
  assert.throws(() => cv.wait(undefined as never), { name: "TypeError", message: /guard must be a MutexGuard/ });
  const g = m.lock();
  assert.ok(g instanceof MutexGuard);
  assert.throws(() => cv.wait(g, { timeout: -1 }), { name: "RangeError", message: /wait\(\{ timeout \}\): timeout must be 0 or more/ });
  assert.throws(() => cv.wait(g, { timeout: NaN }), RangeError);
  assert.throws(() => cv.wait(g, "soon" as never), { name: "TypeError", message: /options must be an object/ });
  assert.throws(() => cv.waitWhile(g, 5 as never), { name: "TypeError", message: /condition must be a function/ });
  assert.throws(() => cv.waitWhile(g, (() => 1) as never), { name: "TypeError", message: /condition must return a boolean/ });
  assert.throws(() => cv.waitWhile(g, (async () => true) as never), { name: "TypeError", message: /an async condition cannot be waited on/ });
  await assert.rejects(cv.waitAsync(g, { signal: 5 as never }), { name: "TypeError", message: /signal must be an AbortSignal/ });
  await assert.rejects(cv.waitWhileAsync(g, null as never), { name: "TypeError", message: /condition must be a function/ });
  assert.equal(g.held, true, "no failed call released the guard");
  g.unlock();
  assert.throws(() => cv.wait(g, { timeout: 1 }), { name: "Error", message: /cannot wait on a Condvar with a guard of Mutex .* after it was unlocked/ });
  assert.equal(lockState(cv), undefined);
});
