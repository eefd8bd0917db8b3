// Thread lifecycle: thread slots reused under a new generation, threads a spawned thread leaves running when its
// function returns, the supervisor when the first spawner is not the main thread. Real workers, exact oracles;
// interleavings are ordered by shared flags and dumpLocks(), never by sleeps; node:test timeouts are hang guards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Mutex, MutexGuard, PoisonError, ThreadError, dumpLocks, i32, share, spawn, watch } from "threadsafe";
import { terminateStopsAtOnce } from "../dist/internal.js";

/**
 * Where terminate() is a request the thread obeys when the library next runs in it (Deno, browsers), a thread busy
 * in its own code keeps running, and its locks (README, "Thread ends on each runtime"). A busy victim is then
 * released from its loop right after the request, and obeys in its unlock(); on Node and Bun that would race the
 * termination. The test of a terminated thread's busy *child* cannot apply there: the child is asked to end only
 * once its parent obeys, so releasing it first would let it unlock normally.
 */
const releaseBusyAfterRequest = !terminateStopsAtOnce;
const busyChildSkip = terminateStopsAtOnce
  ? false
  : "terminate() is a request on this runtime: the busy child of a terminated thread keeps running, and its lock, until it reaches the library";
if (busyChildSkip) console.log(`# skipped here: "a spawned thread whose child never ends …": ${busyChildSkip}`);

/** Bounds of waits that must not hang a failing test (never asserted as durations). */
const HANG_GUARD_MS = 20_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls (yielding to the event loop) until `condition` holds. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const end = performance.now() + HANG_GUARD_MS;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`gave up waiting until ${what}`);
    await sleep(2);
  }
}

const SLOT_MASK = 1023; // thread id = generation * 1024 + slot

function aliveThreadIds(): number[] {
  return dumpLocks().threads.map((t) => t.thread.id);
}

test("watch(): a watched worker's exit does not reap a new thread that is claiming its freed slot", { timeout: 60_000 }, async () => {
  // The race: a watched raw worker W ends on its own (it reaps itself; its slot is free, its record still names its
  // platform thread), and before the creating thread hears W's 'exit', another thread claims W's slot for a new
  // thread N. watch()'s listener looks W up by platform thread id; it must not find N.
  //
  // Fault injection makes the race certain: in the spawning thread S, Atomics.compareExchange is wrapped so that
  // claiming any thread slot but W's looks lost to another thread (so the allocation lands on W's slot), and right
  // after the claim of W's slot succeeds, S stops until the main thread has let watch()'s listener run.
  //
  // Flags: [0] W's id  [1] END for W  [2] W reaped  [3] target slot  [4] S claimed the slot  [5] GO for S
  //        [6] N's id  [7] RELEASE for N  [8] claims of the target slot seen
  const flags = new Int32Array(new SharedArrayBuffer(4 * 16));
  const m = new Mutex(i32, 0, { name: "lifecycle-watch-race" }); // the raw worker joins the runtime by receiving it
  const reuser = spawn(
    async (flags: Int32Array, guardMs: number) => {
      const { spawn } = await import("threadsafe");
      Atomics.wait(flags, 2, 0, guardMs); // W has ended and reaped itself: its slot is free
      const target = Atomics.load(flags, 3);
      const original = Atomics.compareExchange;
      // The thread table starts at Int32 word 64 of the runtime buffer (after the header, src/runtime/runtime.ts), 32 words per slot, the state word first:
      // `generation << 2 | status` (0 free, 1 alive). A claim is a CAS from free to alive in the same generation.
      const patched = (array: Int32Array, index: number, expected: number, replacement: number): number => {
        const isClaim =
          array instanceof Int32Array &&
          array.length > 100_000 &&
          index >= 64 &&
          index < 64 + 1024 * 32 &&
          (index - 64) % 32 === 0 &&
          (expected & 3) === 0 &&
          (replacement & 3) === 1 &&
          expected >>> 2 === replacement >>> 2;
        if (!isClaim) return original(array, index, expected, replacement);
        if ((index - 64) / 32 !== target) return expected + 4; // "another thread claimed it first"
        const seen = original(array, index, expected, replacement);
        if (seen === expected) {
          Atomics.add(flags, 8, 1);
          Atomics.store(flags, 4, 1);
          Atomics.notify(flags, 4);
          Atomics.wait(flags, 5, 0, guardMs); // GO: the main thread has run watch()'s listener
        }
        return seen;
      };
      (Atomics as unknown as { compareExchange: typeof patched }).compareExchange = patched;
      let n;
      try {
        n = spawn(
          async (flags: Int32Array, guardMs: number) => {
            const { currentThread } = await import("threadsafe");
            Atomics.store(flags, 6, currentThread().id);
            Atomics.notify(flags, 6);
            Atomics.wait(flags, 7, 0, guardMs); // RELEASE
            return currentThread().id;
          },
          [flags, guardMs],
          { name: "slot-reuser" },
        );
      } finally {
        (Atomics as unknown as { compareExchange: typeof original }).compareExchange = original;
      }
      return { joined: await n.join(), id: n.threadId };
    },
    [flags, HANG_GUARD_MS],
    { name: "reuse-spawner" },
  );
  const w = new Worker(new URL("./support/lifecycle-raw-ender.mjs", import.meta.url));
  watch(w);
  const exited = new Promise<number>((resolve) => w.on("exit", resolve)); // after watch()'s own listener
  try {
    w.postMessage(share({ m, flags }));
    await until("the raw worker has joined the runtime", () => Atomics.load(flags, 0) !== 0);
    const wId = Atomics.load(flags, 0);
    Atomics.store(flags, 3, wId & SLOT_MASK);
    // From END until S has claimed W's slot this thread does not run its event loop, so W's 'exit' (and watch()'s
    // listener) is heard only while S is between claiming the slot and finishing the new thread's record.
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    Atomics.wait(flags, 4, 0, HANG_GUARD_MS);
    assert.equal(Atomics.load(flags, 4), 1, "the spawning thread claimed the raw worker's slot (fault injection took effect)");
    assert.equal(await exited, 0);
    Atomics.store(flags, 5, 1); // GO
    Atomics.notify(flags, 5);
    await until("the new thread runs", () => Atomics.load(flags, 6) !== 0);
    const nId = Atomics.load(flags, 6);
    assert.equal(nId & SLOT_MASK, wId & SLOT_MASK, "the new thread reuses the raw worker's slot");
    assert.notEqual(nId, wId, "under a new generation");
    assert.equal(Atomics.load(flags, 8), 1);
    const alive = aliveThreadIds();
    assert.ok(alive.includes(nId), `thread ${nId} is running but was reaped by watch() (alive: ${alive.join(", ")})`);
    assert.ok(!alive.includes(wId));
    Atomics.store(flags, 7, 1);
    Atomics.notify(flags, 7);
    assert.deepEqual(await reuser.join(), { joined: nId, id: nId });
  } finally {
    for (const i of [1, 5, 7]) {
      Atomics.store(flags, i, 1);
      Atomics.notify(flags, i);
    }
    await w.terminate();
  }
});

test("a thread slot reused after its thread died holding a lock: the lock is poisoned and free, the new thread's locks are its own", { timeout: 60_000 }, async () => {
  const l = new Mutex(i32, 0, { name: "lifecycle-left-behind" });
  const mine = new Mutex(i32, 0, { name: "lifecycle-new-owner" });
  // Flags: [0] A holds L  [1] STOP A's busy loop (only after a failed test)  [2] N holds its lock  [3] RELEASE N
  //        [8 + attempt] the role of the attempt's candidate: 1 "you are the reuser", 2 "just return"
  const flags = new Int32Array(new SharedArrayBuffer(4 * 16));
  const a = spawn(
    (l: Mutex<number>, flags: Int32Array) => {
      const g = l.lock();
      g.value = 7;
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      const end = Date.now() + 20_000;
      while (Atomics.load(flags, 1) === 0 && Date.now() < end); // busy until terminated
      g.unlock();
    },
    [l, flags],
    { name: "dies-holding" },
  );
  try {
    await until("A holds the lock", () => Atomics.load(flags, 0) === 1);
    if (releaseBusyAfterRequest) {
      const stopping = a.terminate();
      Atomics.store(flags, 1, 1); // A leaves its loop and obeys in unlock(), still holding L
      await stopping;
    } else {
      await a.terminate();
    }
    await assert.rejects(a.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated" && /lifecycle-left-behind/.test(e.message));
    const leftBehind = dumpLocks().locks.find((s) => s.lock.name === "lifecycle-left-behind");
    assert.deepEqual({ owner: leftBehind?.owner, poisoned: leftBehind?.poisoned }, { owner: undefined, poisoned: true });
    assert.ok(!aliveThreadIds().includes(a.threadId));
  } finally {
    Atomics.store(flags, 1, 1);
  }

  // Land a new thread on A's slot. Slots are handed out round robin (one step per allocation, whatever slot it
  // takes), so: learn where the round is from a real thread's id, step it forward with spawns that allocate a slot
  // and give it straight back (an argument that cannot be cloned), and spawn. A few attempts, in case another slot
  // was busy on the way.
  const target = a.threadId & SLOT_MASK;
  const candidate = (attempt: number) =>
    spawn(
      async (l: Mutex<number>, mine: Mutex<number>, flags: Int32Array, role: number, guardMs: number) => {
        const { PoisonError, currentThread } = await import("threadsafe");
        Atomics.wait(flags, role, 0, guardMs);
        if (Atomics.load(flags, role) !== 1) return undefined;
        let poison = "";
        let seen = -1;
        try {
          l.lock().unlock();
        } catch (e) {
          if (!(e instanceof PoisonError)) throw e;
          poison = e.message;
          const g = e.intoInner() as unknown as { value: number; unlock(): void };
          seen = g.value;
          g.value = 8;
          l.clearPoison();
          g.unlock();
        }
        const g = mine.lock();
        g.value = currentThread().id;
        Atomics.store(flags, 2, 1);
        Atomics.notify(flags, 2);
        Atomics.wait(flags, 3, 0, guardMs); // RELEASE
        g.unlock();
        return { poison, seen, id: currentThread().id };
      },
      [l, mine, flags, 8 + attempt, HANG_GUARD_MS],
      { name: "slot-reuser" },
    );
  let n: ReturnType<typeof candidate> | undefined;
  let reference = (await spawn(async () => (await import("threadsafe")).currentThread().id, []).join()) as number;
  for (let attempt = 0; attempt < 4 && n === undefined; attempt++) {
    const steps = (target - (reference & SLOT_MASK) - 1 + 2 * SLOT_MASK) % SLOT_MASK;
    for (let i = 0; i < steps; i++) {
      assert.throws(() => spawn((f: unknown) => f, [() => 0]), TypeError);
    }
    const c = candidate(attempt);
    if ((c.threadId & SLOT_MASK) === target) {
      n = c;
      Atomics.store(flags, 8 + attempt, 1);
    } else {
      Atomics.store(flags, 8 + attempt, 2);
      await c.join();
      reference = c.threadId;
    }
    Atomics.notify(flags, 8 + attempt);
  }
  assert.ok(n, `no new thread landed on slot ${target}`);
  try {
    assert.notEqual(n.threadId, a.threadId, "the reused slot has a new generation, so a new id");
    await until("the new thread holds its lock", () => Atomics.load(flags, 2) === 1);
    const dump = dumpLocks();
    const held = dump.locks.find((s) => s.lock.name === "lifecycle-new-owner");
    assert.deepEqual(held?.owner, { id: n.threadId, name: "slot-reuser" });
    assert.equal(held?.poisoned, false);
    assert.equal(dump.locks.find((s) => s.lock.name === "lifecycle-left-behind"), undefined, "L is free and no longer poisoned");
    const alive = dump.threads.map((t) => t.thread.id);
    assert.ok(alive.includes(n.threadId) && !alive.includes(a.threadId), `alive: ${alive.join(", ")}`);
    assert.equal(mine.tryLock(), undefined, "the new thread's lock is held (its owner is alive, not taken for the dead A)");
  } finally {
    Atomics.store(flags, 3, 1);
    Atomics.notify(flags, 3);
  }
  const result = await n.join();
  assert.equal(result?.id, n.threadId);
  assert.equal(result?.seen, 7, "the new thread got the dead thread's value through PoisonError.intoInner()");
  assert.ok(result?.poison.includes(`thread "dies-holding" (id ${a.threadId})`), result?.poison);
  assert.match(result!.poison, /was terminated \(or crashed\) while holding it/);
  assert.equal(l.isPoisoned(), false);
  assert.equal(l.with((g) => g.value), 8);
  assert.equal(mine.with((g) => g.value), n.threadId);
});

test("a spawned thread that returns without joining its child does not end before the child: exact count, lock free and unpoisoned", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "lifecycle-orphan-counter" });
  const plain = new Int32Array(new SharedArrayBuffer(4)); // written only under m: exact only if the lock excludes
  // Flags: [0] the parent is returning  [1] never set (the child's 1 ms pause per step waits on it)
  const flags = new Int32Array(new SharedArrayBuffer(4 * 4));
  const parent = spawn(
    async (m: Mutex<number>, plain: Int32Array, flags: Int32Array, guardMs: number) => {
      const { spawn } = await import("threadsafe");
      const child = spawn(
        (m: Mutex<number>, plain: Int32Array, flags: Int32Array, guardMs: number) => {
          Atomics.wait(flags, 0, 0, guardMs); // start once the parent's function has returned
          for (let i = 0; i < 1000; i++) {
            m.with((g) => {
              g.value += 1;
              plain[0] = plain[0]! + 1;
            });
            Atomics.wait(flags, 1, 0, 1); // keeps the child at work well after its parent's function returned
          }
          return "child-done";
        },
        [m, plain, flags, guardMs],
        { name: "orphan-child" },
      );
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      return { child: child.threadId }; // without joining the child
    },
    [m, plain, flags, HANG_GUARD_MS],
    { name: "returns-early" },
  );
  const { child } = await parent.join();
  assert.equal(m.with((g) => g.value), 1000, "the child finished all its work");
  assert.equal(plain[0], 1000);
  assert.equal(m.isPoisoned(), false);
  const g = m.tryLock();
  assert.ok(g, "the lock is free");
  g.unlock();
  const alive = aliveThreadIds();
  assert.ok(!alive.includes(child) && !alive.includes(parent.threadId), `alive: ${alive.join(", ")}`);
});

test("a spawned thread whose child never ends stays until terminated; terminate() stops both and the child's lock is poisoned", { timeout: 60_000, skip: busyChildSkip }, async () => {
  const m = new Mutex(i32, 0, { name: "lifecycle-forever-child" });
  // Flags: [0] the child holds m  [1] the parent's function returned  [2] STOP the child (only after a failed test)
  //        [3] the child's steps
  const flags = new Int32Array(new SharedArrayBuffer(4 * 4));
  const parent = spawn(
    async (m: Mutex<number>, flags: Int32Array, guardMs: number) => {
      const { spawn } = await import("threadsafe");
      const child = spawn(
        (m: Mutex<number>, flags: Int32Array, guardMs: number) => {
          const g = m.lock();
          g.value = 41;
          Atomics.store(flags, 0, 1);
          Atomics.notify(flags, 0);
          const end = Date.now() + guardMs;
          while (Atomics.load(flags, 2) === 0 && Date.now() < end) {
            Atomics.add(flags, 3, 1); // "forever": a step a millisecond
            Atomics.wait(flags, 2, 0, 1);
          }
          g.unlock();
        },
        [m, flags, guardMs],
        { name: "forever-child" },
      );
      while (Atomics.load(flags, 0) === 0) await new Promise((r) => setTimeout(r, 2));
      Atomics.store(flags, 1, child.threadId);
      return "parent-returned";
    },
    [m, flags, HANG_GUARD_MS],
    { name: "parent-of-forever" },
  );
  try {
    await until("the parent's function has returned", () => Atomics.load(flags, 1) !== 0);
    const child = Atomics.load(flags, 1);
    // The parent's function has returned, yet the parent does not end (join() stays pending) while the child runs.
    const base = Atomics.load(flags, 3);
    const first = await Promise.race([
      parent.join().then(() => "the parent ended", () => "the parent ended"),
      until("the child took 200 more steps", () => Atomics.load(flags, 3) >= base + 200).then(() => "the child still runs"),
    ]);
    assert.equal(first, "the child still runs");
    void parent.terminate();
    // Blocked here, this thread cannot hear anything: the supervisor reaps the child, killed with its parent.
    let poison: unknown;
    try {
      m.lock({ timeout: HANG_GUARD_MS }).unlock();
    } catch (e) {
      poison = e;
    }
    assert.ok(poison instanceof PoisonError, `expected PoisonError, got ${(poison as Error)?.name}: ${(poison as Error)?.message}`);
    const g = poison.intoInner() as MutexGuard<number>;
    assert.equal(g.value, 41);
    assert.ok(poison.message.includes(`thread "forever-child" (id ${child})`), poison.message);
    m.clearPoison();
    g.unlock();
    await assert.rejects(parent.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
  } finally {
    Atomics.store(flags, 2, 1);
  }
});

test("the supervisor does not depend on the first thread that spawned: a raw worker spawns first and ends, then a thread terminated while the main thread is blocked on its lock is reaped", { timeout: 60_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "lifecycle-first-spawner" });
  const raw = new Worker(new URL("./support/lifecycle-raw-spawner.mjs", import.meta.url));
  const reply = new Promise<unknown>((resolve) => raw.once("message", resolve));
  const ended = new Promise<number>((resolve) => raw.once("exit", resolve));
  raw.postMessage(share({ m }));
  assert.deepEqual(await reply, { joined: 1 });
  assert.equal(await ended, 0, "the first spawner has ended (and any supervisor it started with it)");

  const q = new Mutex(i32, 0, { name: "lifecycle-q-lock" });
  const flags = new Int32Array(new SharedArrayBuffer(4 * 4)); // [0] Q holds the lock  [1] STOP (failed test only)
  const victim = spawn(
    (q: Mutex<number>, flags: Int32Array, guardMs: number) => {
      const g = q.lock();
      g.value = 5;
      Atomics.store(flags, 0, 1);
      const end = Date.now() + guardMs;
      while (Atomics.load(flags, 1) === 0 && Date.now() < end);
      g.unlock();
    },
    [q, flags, HANG_GUARD_MS],
    { name: "q" },
  );
  try {
    await until("Q holds its lock", () => Atomics.load(flags, 0) === 1);
    void victim.terminate(); // Q dies while this thread is blocked below: only the supervisor can reap it
    if (releaseBusyAfterRequest) Atomics.store(flags, 1, 1); // (no supervisor there: Q obeys in its unlock())
    let poison: unknown;
    try {
      q.lock({ timeout: HANG_GUARD_MS }).unlock();
    } catch (e) {
      poison = e;
    }
    assert.ok(poison instanceof PoisonError, `expected PoisonError, got ${(poison as Error)?.name}: ${(poison as Error)?.message}`);
    const g = poison.intoInner() as MutexGuard<number>;
    assert.equal(g.value, 5);
    q.clearPoison();
    g.unlock();
    await assert.rejects(victim.join(), (e: unknown) => e instanceof ThreadError && e.how === "terminated");
    assert.equal(m.with((g) => g.value), 1);
  } finally {
    Atomics.store(flags, 1, 1);
  }
});
