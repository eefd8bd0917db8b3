// DESIGN.md §1b, the lifetime of a PoisonError's guard. "A PoisonError whose guard nobody claims with intoInner()
// releases it when the task that raised it ends, and a thread that ends holding only such unclaimed guards ends
// normally (Rust drops the error, and its guard, at the end of the catch); intoInner() after that release throws an
// Error that says so, never a guard that is not held." Plus: how a lock was first poisoned (who, how) is what every
// later PoisonError reports; a thread that merely took and dropped the poisoned lock does not replace that record.
//
// Interleavings are ordered by polling dumpLocks() and shared flags; a node:test timeout only guards against hangs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, MutexGuard, PoisonError, ThreadError, currentThread, dumpLocks, i32, spawn } from "threadsafe";
import { flags, macrotaskTurn, ownerOf, probe, signal, until } from "./support/contract-helpers.js";
import { terminateWaiting } from "./support/terminate.ts";

/** Poisons `m` from this thread: a with() callback that throws. */
function poisonHere(m: Mutex<number>): void {
  assert.throws(() => m.with(() => { throw new Error("poisoning on purpose"); }), /poisoning on purpose/);
  assert.equal(m.isPoisoned(), true);
}

/** Poisons `m` from a named thread that catches the with() error and returns normally. Returns its thread id. */
async function poisonFromThread(m: Mutex<number>, name: string): Promise<number> {
  const h = spawn(
    (m: Mutex<number>) => {
      try {
        m.with((g) => {
          g.value = 5;
          throw new Error("poisoning on purpose");
        });
      } catch (e) {
        if ((e as Error).message !== "poisoning on purpose") throw e;
      }
      return "ok";
    },
    [m],
    { name },
  );
  assert.equal(await h.join(), "ok");
  assert.equal(m.isPoisoned(), true);
  return h.threadId;
}

// What a spawned thread returns after trying to take a lock.
interface Took {
  readonly name: string;
  readonly message: string;
}

/** Another thread takes `m` (waiting at most `ms`), reports the error's name and message, and releases it. */
async function messageSeenElsewhere(m: Mutex<number>, name = "third"): Promise<Took> {
  const h = spawn(
    (m: Mutex<number>, ms: number) => {
      try {
        m.lock({ timeout: ms }).unlock();
        return { name: "none", message: "acquired without an error" };
      } catch (e) {
        const error = e as Error & { intoInner?: () => { unlock(): void } };
        if (error.name === "PoisonError") error.intoInner!().unlock();
        return { name: error.name, message: error.message };
      }
    },
    [m, 10_000],
    { name },
  );
  return (await h.join()) as Took;
}

const me = () => currentThread().id;

// ## The main thread: the unclaimed guard is held during the task, released when it ends

const raisers: ReadonlyArray<{ label: string; raise: (m: Mutex<number>) => Promise<void> | void }> = [
  { label: "lock()", raise: (m) => { m.lock({ timeout: 5000 }); } },
  { label: "tryLock()", raise: (m) => { m.tryLock(); } },
  { label: "with()", raise: (m) => { m.with(() => undefined); } },
  { label: "lockAsync()", raise: async (m) => { await m.lockAsync({ timeout: 5000 }); } },
  { label: "get() (§1b accessor)", raise: (m) => { (m as unknown as { get(): unknown }).get(); } },
];

for (const r of raisers) {
  test(`main thread, ${r.label}: an ignored PoisonError's guard is held until the task ends, then released; the lock stays poisoned`, { timeout: 30_000 }, async () => {
    const name = `pl-main-${r.label}`;
    const m = new Mutex(i32, 3, { name });
    poisonHere(m);
    let caught: unknown;
    try {
      await r.raise(m);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof PoisonError, `${r.label} threw ${(caught as Error)?.name}: ${(caught as Error)?.message}`);
    if (r.label !== "lockAsync()") {
      // Still the task that raised it (no await since the throw): the lock is held, as DESIGN §1 says.
      assert.equal(ownerOf(name), me(), "the PoisonError's guard holds the lock during the raising task");
    }
    await macrotaskTurn();
    assert.equal(ownerOf(name), undefined, "released once the task that raised it ended");
    assert.equal(m.isPoisoned(), true, "release does not clear the poison");
    const seen = await probe(m);
    assert.deepEqual({ state: seen.state, value: seen.value }, { state: "poisoned", value: 3 });
  });
}

test("main thread: a guard claimed with intoInner() in the raising task is not released when the task ends", { timeout: 30_000 }, async () => {
  const name = "pl-claimed";
  const m = new Mutex(i32, 3, { name });
  poisonHere(m);
  let guard: MutexGuard<number> | undefined;
  try {
    m.lock({ timeout: 5000 });
  } catch (e) {
    assert.ok(e instanceof PoisonError);
    guard = e.intoInner() as MutexGuard<number>;
  }
  assert.ok(guard);
  await macrotaskTurn();
  assert.equal(ownerOf(name), me(), "the claimed guard still holds the lock");
  assert.equal((await probe(m)).state, "held");
  guard.value = 4;
  m.clearPoison();
  guard.unlock();
  const seen = await probe(m);
  assert.deepEqual({ state: seen.state, value: seen.value }, { state: "free", value: 4 });
});

// ## intoInner() after the release

test("main thread: intoInner() after the end-of-task release throws an Error that says so, even while another thread holds the lock", { timeout: 30_000 }, async () => {
  const name = "pl-late-claim";
  const m = new Mutex(i32, 3, { name });
  poisonHere(m);
  let caught: PoisonError | undefined;
  try {
    m.lock({ timeout: 5000 });
  } catch (e) {
    assert.ok(e instanceof PoisonError);
    caught = e;
  }
  assert.ok(caught);
  await macrotaskTurn();
  assert.equal(ownerOf(name), undefined);

  // Another thread now holds the lock: a guard handed out here would let two threads write at once.
  const f = flags();
  const holder = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      let g: { value: number; unlock(): void };
      try {
        g = m.lock({ timeout: 10_000 });
      } catch (e) {
        g = (e as { intoInner(): typeof g }).intoInner();
      }
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 20_000);
      const seen = g.value;
      g.unlock();
      return seen;
    },
    [m, f],
    { name: "late-claim-holder" },
  );
  try {
    await until("the other thread holds the lock", () => Atomics.load(f, 0) === 1);
    const holderId = ownerOf(name);
    assert.equal(holderId, holder.threadId);
    let late: unknown;
    let returned: unknown;
    try {
      returned = caught.intoInner();
    } catch (e) {
      late = e;
    }
    assert.equal(returned, undefined, "intoInner() after the release must not return a guard");
    assert.ok(late instanceof Error, `intoInner() threw ${String(late)}`);
    assert.ok(!(late instanceof PoisonError), "a plain Error, not another PoisonError");
    assert.match(late.message, /releas/i, `the message says the guard was released: ${late.message}`);
    assert.equal(ownerOf(name), holder.threadId, "the other thread still owns the lock");
  } finally {
    signal(f, 1);
  }
  assert.equal(await holder.join(), 3, "nobody wrote through a stale guard");
});

test("spawned thread: intoInner() in a later task than the one that raised it throws an Error that says so", { timeout: 30_000 }, async () => {
  const name = "pl-late-claim-worker";
  const m = new Mutex(i32, 3, { name });
  poisonHere(m);
  const h = spawn(
    async (m: Mutex<number>) => {
      let caught: { intoInner(): unknown } | undefined;
      try {
        m.lock({ timeout: 10_000 });
      } catch (e) {
        if ((e as Error).name !== "PoisonError") throw e;
        caught = e as { intoInner(): unknown };
      }
      await new Promise((r) => setTimeout(r, 0));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 0));
      try {
        const g = caught!.intoInner();
        return { outcome: "returned", held: (g as { held?: boolean }).held, name: "", message: "" };
      } catch (e) {
        return { outcome: "threw", held: undefined, name: (e as Error).name, message: (e as Error).message, isError: e instanceof Error };
      }
    },
    [m],
    { name: "late-claimer" },
  );
  const r = await h.join();
  assert.equal(r.outcome, "threw", `intoInner() returned a guard (held: ${String(r.held)})`);
  assert.notEqual(r.name, "PoisonError");
  assert.match(r.message, /releas/i, r.message);
  assert.equal(ownerOf(name), undefined);
  assert.equal((await probe(m)).state, "poisoned");
});

// ## Spawned threads that ignore a PoisonError

test("spawned thread (sync fn) catches PoisonError and returns without intoInner(): join resolves; the lock is free and still poisoned", { timeout: 30_000 }, async () => {
  const name = "pl-ignore-sync";
  const m = new Mutex(i32, 0, { name });
  const poisoner = await poisonFromThread(m, "first-poisoner");
  const h = spawn(
    (m: Mutex<number>) => {
      try {
        m.lock({ timeout: 10_000 });
        return "acquired";
      } catch (e) {
        return (e as Error).name; // dropped: no intoInner()
      }
    },
    [m],
    { name: "ignorer-sync" },
  );
  assert.equal(await h.join(), "PoisonError", "join resolves with the return value (no ThreadError)");
  assert.equal(ownerOf(name), undefined);
  const seen = await messageSeenElsewhere(m);
  assert.equal(seen.name, "PoisonError", seen.message);
  assert.ok(seen.message.includes('"first-poisoner"'), `names the first poisoner: ${seen.message}`);
  assert.match(seen.message, new RegExp(`\\b${poisoner}\\b`), `and its id: ${seen.message}`);
  assert.ok(!seen.message.includes('"ignorer-sync"'), `does not blame the thread that ignored it: ${seen.message}`);
});

test("spawned thread (async fn, lockAsync) catches PoisonError and returns without intoInner(): join resolves", { timeout: 30_000 }, async () => {
  const name = "pl-ignore-async";
  const m = new Mutex(i32, 0, { name });
  await poisonFromThread(m, "async-first-poisoner");
  const h = spawn(
    async (m: Mutex<number>) => {
      try {
        await m.lockAsync({ timeout: 10_000 });
        return "acquired";
      } catch (e) {
        return (e as Error).name;
      }
    },
    [m],
    { name: "ignorer-async" },
  );
  assert.equal(await h.join(), "PoisonError");
  assert.equal(ownerOf(name), undefined);
  const seen = await messageSeenElsewhere(m);
  assert.equal(seen.name, "PoisonError", seen.message);
  assert.ok(seen.message.includes('"async-first-poisoner"'), seen.message);
  assert.ok(!seen.message.includes('"ignorer-async"'), seen.message);
});

test("spawned thread that ignores a PoisonError and keeps running: the lock is released when that task ends, while the thread lives", { timeout: 30_000 }, async () => {
  const name = "pl-ignore-alive";
  const m = new Mutex(i32, 9, { name });
  poisonHere(m);
  const f = flags();
  const h = spawn(
    async (m: Mutex<number>, f: Int32Array) => {
      try {
        m.lock({ timeout: 10_000 });
      } catch (e) {
        if ((e as Error).name !== "PoisonError") throw e;
      }
      Atomics.store(f, 2, 1); // still in the raising task: the lock is held
      const end = Date.now() + 20_000;
      while (Atomics.load(f, 3) === 0 && Date.now() < end); // the main thread looks at the owner now
      await new Promise((r) => setTimeout(r, 0)); // the raising task ends here
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 0));
      Atomics.store(f, 0, 1);
      while (Atomics.load(f, 1) === 0) await new Promise((r) => setTimeout(r, 2));
      return "done";
    },
    [m, f],
    { name: "ignorer-alive" },
  );
  try {
    await until("the thread caught the PoisonError", () => Atomics.load(f, 2) === 1);
    assert.equal(ownerOf(name), h.threadId, "held by the ignoring thread during its raising task");
    signal(f, 3);
    await until("the thread's raising task ended", () => Atomics.load(f, 0) === 1);
    assert.ok(dumpLocks().threads.some((t) => t.thread.id === h.threadId), "the thread is alive");
    assert.equal(ownerOf(name), undefined, "released while the thread is still alive");
    const seen = await probe(m);
    assert.deepEqual({ state: seen.state, value: seen.value }, { state: "poisoned", value: 9 });
  } finally {
    signal(f, 3);
    signal(f, 1);
  }
  assert.equal(await h.join(), "done");
});

// ## The first poison record survives later reapers

/** Spawns thread A that takes `m`, writes 7 and spins until terminated; terminates it; checks the poison. */
async function poisonByTermination(m: Mutex<number>, name: string): Promise<number> {
  const f = flags();
  const a = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      const g = m.lock();
      g.value = 7;
      Atomics.store(f, 0, 1);
      const end = Date.now() + 30_000;
      while (Atomics.load(f, 7) === 0 && Date.now() < end); // until terminated
      return "busy loop ended: terminate() did not stop the thread";
    },
    [m, f],
    { name },
  );
  try {
    await until("thread A holds the lock", () => Atomics.load(f, 0) === 1);
    assert.equal(ownerOf(m.name), a.threadId);
    await terminateWaiting(a, () => signal(f, 7)); // where terminate() is a request, A obeys as its function ends
    await assert.rejects(a.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
  } finally {
    signal(f, 7);
  }
  assert.equal(m.isPoisoned(), true);
  return a.threadId;
}

function assertNamesA(message: string, aName: string, aId: number): void {
  assert.ok(message.includes(`"${aName}"`), `names thread A: ${message}`);
  assert.match(message, new RegExp(`\\b${aId}\\b`), `names A's id: ${message}`);
  assert.match(message, /terminat/i, `says A was terminated: ${message}`);
}

test("A terminated holding L; B takes L, ignores the PoisonError and returns; a third thread's PoisonError still names A's termination", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "pl-record-return" });
  const aId = await poisonByTermination(m, "A-terminated");
  const b = spawn(
    (m: Mutex<number>) => {
      try {
        m.lock({ timeout: 10_000 });
        return { name: "none", message: "" };
      } catch (e) {
        return { name: (e as Error).name, message: (e as Error).message }; // dropped
      }
    },
    [m],
    { name: "B-ignores" },
  );
  const seenByB = await b.join();
  assert.equal(seenByB.name, "PoisonError");
  assertNamesA(seenByB.message, "A-terminated", aId);
  assert.equal(ownerOf(m.name), undefined);
  const seen = await messageSeenElsewhere(m, "C-looks");
  assert.equal(seen.name, "PoisonError", seen.message);
  assertNamesA(seen.message, "A-terminated", aId);
  assert.ok(!seen.message.includes('"B-ignores"'), `B did not replace the record: ${seen.message}`);
  // Still poisoned (nobody cleared it): the value is reached through the PoisonError's guard.
  const error = (() => {
    try {
      m.lock();
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(error instanceof PoisonError, "still poisoned");
  const guard = error.intoInner() as MutexGuard<number>;
  assert.equal(guard.value, 7, "A's write is there");
  guard.unlock();
});

test("A terminated holding L; B takes L, ignores the PoisonError, then is terminated in that same task; the record still names A", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "pl-record-terminated" });
  const aId = await poisonByTermination(m, "A-first");
  const f = flags();
  const b = spawn(
    (m: Mutex<number>, f: Int32Array) => {
      try {
        m.lock({ timeout: 10_000 });
      } catch (e) {
        if ((e as Error).name !== "PoisonError") throw e;
      }
      Atomics.store(f, 0, 1);
      const end = Date.now() + 30_000;
      while (Atomics.load(f, 7) === 0 && Date.now() < end); // the raising task never ends: terminated here
      return "busy loop ended";
    },
    [m, f],
    { name: "B-terminated" },
  );
  try {
    await until("B caught the PoisonError", () => Atomics.load(f, 0) === 1);
    assert.equal(ownerOf(m.name), b.threadId, "B holds L through the unclaimed error");
    await terminateWaiting(b, () => signal(f, 7)); // where terminate() is a request, B obeys as its function ends
    await assert.rejects(b.join(), (e: unknown) => e instanceof ThreadError);
  } finally {
    signal(f, 7);
  }
  const seen = await messageSeenElsewhere(m, "C-after-B-terminated");
  assert.equal(seen.name, "PoisonError", `L was released by B's reaper: ${seen.name}: ${seen.message}`);
  assertNamesA(seen.message, "A-first", aId);
  assert.ok(!seen.message.includes('"B-terminated"'), `B's reaper did not replace the record: ${seen.message}`);
});

test("A terminated holding L; B takes L, ignores the PoisonError, then dies of an unrelated uncaught error; the record still names A", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "pl-record-threw" });
  const aId = await poisonByTermination(m, "A-original");
  const b = spawn(
    (m: Mutex<number>) => {
      try {
        m.lock({ timeout: 10_000 });
      } catch (e) {
        if ((e as Error).name !== "PoisonError") throw e;
      }
      throw new Error("unrelated failure after ignoring the poison");
    },
    [m],
    { name: "B-throws" },
  );
  await assert.rejects(b.join(), (e: unknown) => {
    assert.ok(e instanceof ThreadError, `got ${(e as Error)?.name}`);
    assert.match(e.message, /unrelated failure after ignoring the poison/);
    return true;
  });
  const seen = await messageSeenElsewhere(m, "C-after-B-threw");
  assert.equal(seen.name, "PoisonError", seen.message);
  assertNamesA(seen.message, "A-original", aId);
  assert.ok(!seen.message.includes('"B-throws"'), `B's end did not replace the record: ${seen.message}`);
});

test("A terminated holding L; B claims the guard with intoInner() and ends still holding it: join rejects (§1), L is released, the record still names A", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "pl-record-claimed" });
  const aId = await poisonByTermination(m, "A-root-cause");
  const b = spawn(
    (m: Mutex<number>) => {
      try {
        m.lock({ timeout: 10_000 });
      } catch (e) {
        if ((e as Error).name !== "PoisonError") throw e;
        (e as { intoInner(): unknown }).intoInner(); // claimed, never unlocked
      }
      return "ended holding L";
    },
    [m],
    { name: "B-claims" },
  );
  await assert.rejects(b.join(), (e: unknown) => e instanceof ThreadError);
  const seen = await messageSeenElsewhere(m, "C-after-B-claimed");
  assert.equal(seen.name, "PoisonError", seen.message);
  assertNamesA(seen.message, "A-root-cause", aId);
});
