// DESIGN.md §1b "Lifetime: Arc and Weak": every shared object's memory (lock slot, data) is reclaimed once no thread
// can reach it. Each thread counts once while it holds handles to the object; its count goes when its last handle is
// garbage-collected or the thread ends; at zero the slot is reused under a new generation, so a stale handle fails
// loudly, never aliases. Arc.strongCount(obj), Arc.downgrade(obj) → Weak (upgrade() → the object or undefined),
// new Arc(layout, value) (immutable, lock-free; value read-only). maxLocks then limits live locks only.
//
// GC is driven with v8.setFlagsFromString("--expose-gc") + vm.runInNewContext("gc") (works under the plain test
// command), with event-loop turns in between so FinalizationRegistry callbacks run. Every wait on GC is bounded by a
// number of rounds; no duration is asserted; the memory bound is a number of bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import * as threadsafe from "threadsafe";
import { Mutex, ThreadError, i32, share, receive, spawn, struct, type Layout } from "threadsafe";
import { collectUntil, flags, gc, macrotaskTurn, signal, until } from "./support/contract-helpers.js";
import { terminateWaiting } from "./support/terminate.ts";

interface WeakHandle<T> {
  upgrade(): T | undefined;
}
interface ArcValue<T> {
  readonly value: T;
}
interface ArcStatic {
  new <T>(layout: Layout<T>, value: unknown): ArcValue<T>;
  strongCount(obj: object): number;
  downgrade<T extends object>(obj: T): WeakHandle<T>;
}

/** DESIGN §1b's Arc, from the package (typed here until the package declares it). */
function Arc(): ArcStatic {
  const arc = (threadsafe as unknown as { Arc?: ArcStatic }).Arc;
  if (typeof arc !== "function") throw new Error("threadsafe does not export Arc (DESIGN §1b, Lifetime: Arc and Weak)");
  return arc;
}

// ## strongCount: one per thread that holds handles

test("Arc.strongCount(mutex): 1 in the creating thread, 2 while a spawned thread holds it, 1 after join", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "arc-count" });
  assert.equal(Arc().strongCount(m), 1);
  const f = flags();
  const h = spawn(
    async (m: Mutex<number>, f: Int32Array) => {
      const { Arc } = (await import("threadsafe")) as unknown as { Arc: { strongCount(o: object): number } };
      const inside = Arc.strongCount(m);
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 20_000);
      m.with((g) => { g.value += 1; }); // still holds m here
      return inside;
    },
    [m, f],
    { name: "arc-holder" },
  );
  try {
    await until("the thread has the mutex", () => Atomics.load(f, 0) === 1);
    assert.equal(Arc().strongCount(m), 2);
  } finally {
    signal(f, 1);
  }
  assert.equal(await h.join(), 2, "the spawned thread sees 2 as well");
  assert.equal(Arc().strongCount(m), 1, "the ended thread no longer counts");
  assert.equal(m.with((g) => g.value), 1);
});

test("Arc.strongCount: 3 spawned holders → 4; each join takes one away", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "arc-count-3" });
  const f = flags(8);
  const handles = [0, 1, 2].map((i) =>
    spawn(
      (m: Mutex<number>, f: Int32Array, i: number) => {
        Atomics.add(f, 0, 1);
        Atomics.notify(f, 0);
        Atomics.wait(f, 1 + i, 0, 30_000);
        m.with((g) => { g.value += 1; });
      },
      [m, f, i],
      { name: `arc-holder-${i}` },
    ),
  );
  try {
    await until("three threads have the mutex", () => Atomics.load(f, 0) === 3);
    assert.equal(Arc().strongCount(m), 4);
    for (let i = 0; i < 3; i++) {
      signal(f, 1 + i);
      await handles[i]!.join();
      assert.equal(Arc().strongCount(m), 3 - i, `after join #${i + 1}`);
    }
  } finally {
    for (let i = 0; i < 3; i++) signal(f, 1 + i);
  }
  assert.equal(m.with((g) => g.value), 3);
});

test("Arc.strongCount: back to 1 after the holding thread is terminate()d", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "arc-count-terminated" });
  const f = flags();
  const h = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      Atomics.store(f, 0, 1);
      const end = Date.now() + 30_000;
      while (Atomics.load(f, 7) === 0 && Date.now() < end); // until terminated
      return m.name;
    },
    [m, f],
    { name: "arc-terminated" },
  );
  try {
    await until("the thread has the mutex", () => Atomics.load(f, 0) === 1);
    assert.equal(Arc().strongCount(m), 2);
    await terminateWaiting(h, () => signal(f, 7)); // where terminate() is a request, it obeys as its function ends
    await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError);
  } finally {
    signal(f, 7);
  }
  assert.equal(Arc().strongCount(m), 1);
  assert.equal(m.isPoisoned(), false, "it held a handle, not the lock");
});

// ## Weak

test("Arc.downgrade(m).upgrade() is the same object while it is alive, and does not count", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 5, { name: "arc-weak-alive" });
  const weak = Arc().downgrade(m);
  assert.equal(weak.upgrade(), m);
  assert.equal(weak.upgrade(), m);
  assert.equal(Arc().strongCount(m), 1, "a Weak is not a strong holder");
});

/** Creates a mutex reachable only through the returned Weak (and a JS WeakRef to watch the object itself). */
function doomedMutex(name: string, value: number): { weak: WeakHandle<Mutex<number>>; ref: WeakRef<Mutex<number>> } {
  const m = new Mutex(i32, value, { name });
  m.with((g) => { g.value = value; });
  return { weak: Arc().downgrade(m), ref: new WeakRef(m) };
}

test("Weak.upgrade() is undefined once every handle is dropped and collected", { timeout: 60_000 }, async () => {
  const { weak, ref } = doomedMutex("arc-weak-dropped", 1);
  const gone = await collectUntil(() => ref.deref() === undefined && weak.upgrade() === undefined);
  assert.equal(ref.deref(), undefined, "the Mutex object itself was collected");
  assert.ok(gone, "upgrade() still returns an object after the only handle was collected");
  assert.equal(weak.upgrade(), undefined);
});

test("Weak.upgrade() in a thread whose own handle was collected, while another thread still holds the object, gives a working object", { timeout: 60_000 }, async () => {
  const f = flags();
  const made = doomedMutex("arc-weak-elsewhere", 41);
  // Give the mutex to a thread that keeps it, then drop this thread's handle.
  const holder = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 30_000);
      return m.with((g) => g.value);
    },
    [made.weak.upgrade()!, f],
    { name: "arc-keeper" },
  );
  try {
    await until("the keeper has the mutex", () => Atomics.load(f, 0) === 1);
    const collected = await collectUntil(() => made.ref.deref() === undefined);
    assert.ok(collected, "this thread's Mutex object was not collected");
    const again = made.weak.upgrade();
    assert.ok(again !== undefined, "upgrade() gave undefined while another thread still holds the mutex");
    assert.equal(again.name, "arc-weak-elsewhere");
    again.with((g) => { assert.equal(g.value, 41); g.value = 42; });
    assert.equal(Arc().strongCount(again), 2, "this thread holds a handle again, beside the keeper");
  } finally {
    signal(f, 1);
  }
  assert.equal(await holder.join(), 42, "the upgraded object is the same lock and data, not a copy");
});

// ## new Arc(layout, value): an immutable shared value

test("new Arc(i32, 7): value readable here and in another thread; writing it throws TypeError in both", { timeout: 30_000 }, async () => {
  const A = Arc();
  const a = new A(i32, 7);
  assert.equal(a.value, 7);
  assert.throws(() => { (a as { value: number }).value = 8; }, TypeError);
  assert.equal(a.value, 7);
  assert.equal(A.strongCount(a), 1);
  const h = spawn(
    async (a: { value: number }) => {
      const { Arc } = (await import("threadsafe")) as unknown as { Arc: { strongCount(o: object): number } };
      const read = a.value;
      let write = "no error";
      try {
        a.value = 8;
      } catch (e) {
        write = (e as Error).name;
      }
      return { read, write, after: a.value, count: Arc.strongCount(a) };
    },
    [a],
    { name: "arc-reader" },
  );
  assert.deepEqual(await h.join(), { read: 7, write: "TypeError", after: 7, count: 2 });
  assert.equal(a.value, 7);
  assert.equal(A.strongCount(a), 1);
});

test("new Arc(struct, value): fields readable in another thread; writing the value or a field throws TypeError", { timeout: 30_000 }, async () => {
  const A = Arc();
  const a = new A(struct({ x: i32, y: i32 }), { x: 1, y: 2 });
  assert.deepEqual({ x: a.value.x, y: a.value.y }, { x: 1, y: 2 });
  assert.throws(() => { (a.value as { x: number }).x = 9; }, TypeError);
  assert.throws(() => { (a as { value: unknown }).value = { x: 9, y: 9 }; }, TypeError);
  assert.deepEqual({ x: a.value.x, y: a.value.y }, { x: 1, y: 2 });
  const h = spawn(
    (a: { value: { x: number; y: number } }) => {
      const read = { x: a.value.x, y: a.value.y };
      const errors: string[] = [];
      try {
        a.value.x = 9;
        errors.push("no error");
      } catch (e) {
        errors.push((e as Error).name);
      }
      try {
        (a as { value: unknown }).value = { x: 9, y: 9 };
        errors.push("no error");
      } catch (e) {
        errors.push((e as Error).name);
      }
      return { read, errors, after: { x: a.value.x, y: a.value.y } };
    },
    [a],
  );
  assert.deepEqual(await h.join(), { read: { x: 1, y: 2 }, errors: ["TypeError", "TypeError"], after: { x: 1, y: 2 } });
});

// ## Stale handles fail loudly, never alias

/** Creates a mutex, returns a share() message for it and ways to watch it, and drops the mutex itself. */
function doomedMessage(): { message: ReturnType<typeof share>; weak: WeakHandle<Mutex<number>>; ref: WeakRef<Mutex<number>> } {
  const m = new Mutex(i32, 111, { name: "stale-original" });
  // A message in flight keeps its objects alive until it is received (as an Arc inside a message does in Rust):
  // receive it once, so that only a second receipt of the same message can find the object gone.
  const message = share({ m });
  receive(structuredClone(message));
  return { message, weak: Arc().downgrade(m), ref: new WeakRef(m) };
}

function receiveInRawWorker(message: unknown): Promise<{ outcome: string; isTypeError?: boolean; name?: string; message?: string; value?: unknown }> {
  const worker = new Worker(new URL("./support/stale-handle-receiver.mjs", import.meta.url));
  return new Promise((resolve, reject) => {
    worker.once("message", (reply) => {
      resolve(reply);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the receiver exited (${code}) without replying`)));
    worker.postMessage(message);
  });
}

test("a share() message received after its mutex was dropped and reclaimed throws TypeError (here and in another thread), never aliases a new mutex", { timeout: 120_000 }, async () => {
  const doomed = doomedMessage();
  const reclaimed = await collectUntil(() => doomed.ref.deref() === undefined && doomed.weak.upgrade() === undefined);
  // New mutexes that may take over the freed slot.
  const newcomers: Mutex<number>[] = [];
  for (let i = 0; i < 2000; i++) newcomers.push(new Mutex(i32, 222, { name: `newcomer-${i}` }));

  let here: { outcome: string; error?: unknown; name?: string; value?: unknown };
  try {
    const { m } = receive<{ m: Mutex<number> }>(structuredClone(doomed.message));
    here = { outcome: "returned", name: m.name, value: m.with((g) => g.value) };
  } catch (e) {
    here = { outcome: "threw", error: e };
  }
  const there = await receiveInRawWorker(doomed.message);

  // Whatever the lifetime rules for a message in flight, a handle never reaches a different object.
  for (const [where, r] of [["here", here], ["in a raw worker", there]] as const) {
    if (r.outcome === "returned") {
      assert.equal(r.name, "stale-original", `${where}: receive() gave a different mutex: ${JSON.stringify(r)}`);
      assert.equal(r.value, 111, `${where}: receive() gave a different mutex's data`);
    }
  }
  // The clear case: the object was reclaimed (no thread could reach it), so its handle is stale.
  assert.ok(reclaimed, "the dropped mutex was never reclaimed (upgrade() kept returning it), so nothing here was stale");
  assert.equal(here.outcome, "threw", `receive() of a stale handle returned ${JSON.stringify(here)}`);
  assert.ok(here.error instanceof TypeError, `here: ${(here.error as Error)?.name}: ${(here.error as Error)?.message}`);
  assert.equal(there.outcome, "threw", `raw worker: receive() of a stale handle returned ${JSON.stringify(there)}`);
  assert.equal(there.isTypeError, true, `raw worker: ${there.name}: ${there.message}`);
  assert.equal(newcomers.every((m) => m.with((g) => g.value) === 222), true, "the newcomers are untouched");
});

// ## Reclamation: slots and memory (last: before reclamation works it fills the lock table for the rest of the file)

test("1,000,000 create/drop cycles of new Mutex(i32, 0) in one thread: no 'out of lock slots', memory stays flat", { timeout: 600_000 }, async () => {
  const TOTAL = 1_000_000;
  const YIELD_EVERY = 1000; // FinalizationRegistry callbacks only run between tasks
  const GC_EVERY = 20_000;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await macrotaskTurn();
    }
  };
  let baseline: NodeJS.MemoryUsage | undefined;
  for (let i = 0; i < TOTAL; i++) {
    try {
      const m = new Mutex(i32, 0);
      m.with((g) => { g.value = i; });
    } catch (e) {
      assert.fail(`cycle ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
    if ((i + 1) % YIELD_EVERY === 0) {
      if ((i + 1) % GC_EVERY === 0) gc();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (i + 1 === 100_000) {
      await settle();
      baseline = process.memoryUsage();
    }
  }
  await settle();
  const end = process.memoryUsage();
  const MB = 1024 * 1024;
  const growth = { rss: (end.rss - baseline!.rss) / MB, external: (end.external - baseline!.external) / MB };
  console.log(`# memory growth from 100k to 1M cycles: rss ${growth.rss.toFixed(1)} MB, external ${growth.external.toFixed(1)} MB`);
  assert.ok(growth.external < 64, `external memory grew ${growth.external.toFixed(1)} MB between 100k and 1M cycles`);
  assert.ok(growth.rss < 64, `rss grew ${growth.rss.toFixed(1)} MB between 100k and 1M cycles`);
  // And the table still has room: a live mutex works after all that.
  const live = new Mutex(i32, 1, { name: "after-a-million" });
  assert.equal(live.with((g) => g.value), 1);
});
