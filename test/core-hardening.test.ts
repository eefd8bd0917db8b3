// The core's lifetime and poison rules at their edges: a guard dropped without being released (Rust's mem::forget)
// keeps its lock counted and held until its thread ends, whose reaper then poisons and releases it; the poison
// record belongs to one poisoning, and clearing the poison clears it, so the next poisoning names its own thread.
// Interleavings are ordered by shared flags and dumpLocks(); a node:test timeout only guards against hangs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Arc, Mutex, PoisonError, ThreadError, i32, spawn, type MutexGuard } from "threadsafe";
import { flags, ownerOf, probe, signal, until } from "./support/contract-helpers.js";
import { terminateWaiting } from "./support/terminate.ts";

test("a guard dropped without release and collected: the lock stays held and counted while its thread lives, then is poisoned and released when it ends", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "dropped-guard" });
  const f = flags();
  const h = spawn(
    async (box: { m: Mutex<number> | undefined }, f: Int32Array) => {
      // Bun (JavaScriptCore) has no V8 flags: its full collection is Bun.gc(true).
      const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
      let gc: () => void;
      if (bun !== undefined) gc = () => bun.gc(true);
      else {
        const v8 = await import("node:v8");
        const vm = await import("node:vm");
        v8.setFlagsFromString("--expose-gc");
        gc = vm.runInNewContext("gc") as () => void;
      }
      const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      let collected = false;
      const registry = new FinalizationRegistry<number>(() => { collected = true; });
      (() => {
        let g: MutexGuard<number> | undefined = box.m!.lock();
        g.value = 13;
        registry.register(box.m!, 0);
        box.m = undefined; // this thread's only Mutex object
        g = undefined; // dropped without unlock(): `let g = m.lock(); g = undefined;`
        void g;
      })();
      // Collect the Mutex object, its core and the guard; the library's finalizer runs between tasks, like ours.
      for (let i = 0; i < 100 && !collected; i++) {
        await turn();
        gc();
        await turn();
      }
      for (let i = 0; i < 5; i++) {
        gc();
        await turn(); // the library's finalizer of the core has had its turns too
      }
      Atomics.store(f, 0, collected ? 1 : 2);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 30_000); // ends when the main thread has looked
      return "ended";
    },
    [{ m }, f],
    { name: "forgetful" },
  );
  try {
    await until("the thread dropped its guard and collected its Mutex", () => Atomics.load(f, 0) !== 0);
    assert.equal(Atomics.load(f, 0), 1, "the thread's Mutex object was collected");
    assert.equal(ownerOf("dropped-guard"), h.threadId, "the collected guard's lock is still held by its thread");
    assert.equal(Arc.strongCount(m), 2, "the thread still counts the object it holds, though its handle was collected");
  } finally {
    signal(f, 1);
  }
  await assert.rejects(h.join(), (e: unknown) => {
    assert.ok(e instanceof ThreadError, `got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.equal(e.how, "held-locks", e.message);
    assert.ok(e.message.includes('Mutex "dropped-guard"'), e.message);
    return true;
  });
  assert.equal(ownerOf("dropped-guard"), undefined, "the reaper released the lock");
  assert.equal(m.isPoisoned(), true, "the reaper poisoned it");
  assert.equal(Arc.strongCount(m), 1, "the reaper dropped the thread's count");
  const seen = await probe(m); // another thread takes it without waiting: no waiter had to recover it
  assert.equal(seen.state, "poisoned", JSON.stringify(seen));
  assert.equal(seen.value, 13);
  assert.match(String(seen.message), /thread "forgetful"/);
  assert.match(String(seen.message), /ended without releasing it/);
});

test("clearing the poison clears its record: a later poisoning by another thread names that thread and how it died, not the first", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "repoisoned" });
  const first = spawn(
    (m: Mutex<number>) => {
      try {
        m.with(() => { throw new Error("first poisoning"); });
      } catch {
        // poisoned on purpose
      }
    },
    [m],
    { name: "first-poisoner" },
  );
  await first.join();
  const before = (() => {
    try {
      m.lock().unlock();
    } catch (e) {
      assert.ok(e instanceof PoisonError);
      (e.intoInner() as MutexGuard<number>).unlock();
      return e.message;
    }
    return "not poisoned";
  })();
  assert.match(before, /thread "first-poisoner"/);
  assert.match(before, /threw while holding it/);
  m.clearPoison();
  assert.equal(m.isPoisoned(), false);
  assert.equal(m.with((g) => ++g.value), 1, "usable again");

  const f = flags();
  const second = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      const g = m.lock();
      g.value = 2;
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      const end = Date.now() + 30_000;
      while (Atomics.load(f, 7) === 0 && Date.now() < end); // until terminated
      g.unlock();
    },
    [m, f],
    { name: "second-poisoner" },
  );
  try {
    await until("the second thread holds the lock", () => Atomics.load(f, 0) === 1);
    await terminateWaiting(second, () => signal(f, 7)); // where terminate() is a request, it obeys in its unlock()
    await assert.rejects(second.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
  } finally {
    signal(f, 7);
  }
  const seen = await probe(m);
  assert.equal(seen.state, "poisoned", JSON.stringify(seen));
  assert.equal(seen.value, 2);
  assert.match(String(seen.message), /thread "second-poisoner"/, "names the thread of this poisoning");
  assert.match(String(seen.message), /was terminated \(or crashed\) while holding it/);
  assert.ok(!String(seen.message).includes("first-poisoner"), `the cleared record is gone: ${seen.message}`);
});
