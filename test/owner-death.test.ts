// "Nothing hangs, nothing is lost": a thread that dies holding a lock, in every way a thread can die, leaves a
// poisoned, released lock whose waiters (sync and async, on the main thread and on workers) wake with PoisonError
// naming the dead thread and how it died. Every test has an exact oracle and a time bound. The interleaving (waiters
// parked before the death) is ordered by what dumpLocks() shows, not by sleeping; that a waiter was woken by the
// death, not by its own 10 s timeout, shows in what it got: PoisonError, never LockTimeoutError.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import {
  Mutex,
  MutexGuard,
  PoisonError,
  ThreadError,
  currentThread,
  i32,
  share,
  spawn,
  watch,
  type JoinHandle,
} from "threadsafe";
import { threadState, waitForAsyncWaits, waitForOwner, waitForWaiters, waitUntil } from "./support/wait-for.ts";
import { setCurrentParkSliceMs, terminateStopsAtOnce } from "../dist/internal.js";
import { RAISED_SLICE_MS } from "./support/park-slice.ts";

// Every test here is a wake-up test: with the parking slice raised, a waiter sleeps until it is notified (or its own
// WAIT_MS timeout), so a death that does not wake its waiters fails the wake watch below instead of being rescued by
// the waiters' own re-check (they also recover a dead holder themselves after each slice: runtime/reap.ts).
before(() => setCurrentParkSliceMs(RAISED_SLICE_MS));
after(() => setCurrentParkSliceMs(0));

/** Waiters wait at most this long, so a bug fails the test (LockTimeoutError) instead of hanging it. */
const WAIT_MS = 30_000;
/**
 * A hang bound, not a latency target: once the dead holder's lock is released, its waiters must all have left their
 * waits within this. They would otherwise sit until their own WAIT_MS timeout, then find the lock free and report a
 * PoisonError all the same: only the wake watch (below) tells a lost wake-up from a prompt one.
 */
const WOKEN_WITHIN_MS = 10_000;

/**
 * Where terminate() is a request the thread obeys when the library next runs in it (Deno, browsers), a holder busy
 * in its own code is not stopped (README, "Thread ends on each runtime"): there the busy holders are released from
 * their loops right after terminate() made its request, and obey at their next call into the library (the unlock,
 * or the end of their function), still holding the lock. On Node and Bun that release would race the termination.
 */
const releaseBusyAfterRequest = !terminateStopsAtOnce;

/** Bun, whose `bun test` reports a worker's exit code differently (see the raw Worker tests). */
const onBun = "Bun" in globalThis;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
function stamp(): number {
  return performance.timeOrigin + performance.now();
}

function until(what: string, condition: () => boolean): Promise<void> {
  return waitUntil(condition, what);
}

/** This (the main) thread's library id. */
const mainId = currentThread().id;

/**
 * Starts a watchdog thread for `m`, held now by thread `holderId`: once the holder no longer owns it (it died and its
 * locks were released), every waiter listed on `m` must leave its wait within WOKEN_WITHIN_MS, as dumpLocks() shows.
 * join() gives "" when they did, else what it saw (a lost wake-up: the waiters' own timeouts are far longer).
 */
async function startWakeWatch(m: Mutex<number>, holderId: number): Promise<JoinHandle<string>> {
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const handle = spawn(
    async (m: Mutex<number>, holderId: number, ready: Int32Array, boundMs: number, releaseMs: number) => {
      const { dumpLocks } = await import("threadsafe");
      const state = () => dumpLocks().locks.find((l) => l.lock.id === m.lockId);
      const pause = () => Atomics.wait(ready, 0, 1, 2); // ready stays 1: a 2 ms sleep
      Atomics.store(ready, 0, 1);
      Atomics.notify(ready, 0);
      const releaseBy = Date.now() + releaseMs;
      while (state()?.owner?.id === holderId) {
        if (Date.now() > releaseBy) return `the holder's lock was not released within ${releaseMs} ms\n${String(dumpLocks())}`;
        pause();
      }
      const wokenBy = Date.now() + boundMs;
      for (;;) {
        const s = state();
        if (s === undefined || s.waiters.length === 0) return "";
        if (Date.now() > wokenBy) return `waiters still waiting ${boundMs} ms after the holder's locks were released (a lost wake-up)\n${String(dumpLocks())}`;
        pause();
      }
    },
    [m, holderId, ready, WOKEN_WITHIN_MS, WAIT_MS + WOKEN_WITHIN_MS],
    { name: "wake-watch" },
  );
  await until("the wake watch runs", () => Atomics.load(ready, 0) === 1);
  return handle;
}

/** Observed wake latencies, printed at the end (information only: no test asserts a duration). */
const latencies: string[] = [];
process.on("exit", () => {
  if (latencies.length > 0) console.log(`# wake latencies after death (ms):\n#   ${latencies.join("\n#   ")}`);
});

// Flag indexes shared by the victims and waiters below (spawned functions cannot see these constants: they use
// the numbers, with the names in comments).
// 0 HELD      the victim holds the lock and wrote its value
// 1 GO        the main thread says: waiters are in place, die after a short delay
// 2 READY     waiter workers about to wait (a count)
// 3 BLOCKING  (terminated-blocked) the victim is about to block on the second mutex
// 4 RELEASE   the blocker may release the second mutex
// 5 B_HELD    the blocker holds the second mutex
// 6 SLEEP     never set: Atomics.wait on it is a sleep
// 7 STOP      ends a busy loop that survived a failed test
// 8 SAW_MAIN  the victim saw the main thread blocked in lock() before it died (1), or gave up looking (2)
// Times (Float64Array): 0 death, 1 worker-sync wake, 2 worker-async wake.

type Death = "returned" | "threw" | "exited" | "terminated-busy" | "terminated-blocked";

interface DeathCase {
  readonly death: Death;
  /** ThreadError.how that join() rejects with. */
  readonly how: string;
  /** How the PoisonError message says the thread died. */
  readonly poison: RegExp;
  readonly exitCode?: number;
}

const cases: readonly DeathCase[] = [
  { death: "returned", how: "held-locks", poison: /ended without releasing it/ },
  { death: "threw", how: "threw", poison: /died of an uncaught error while holding it/ },
  { death: "exited", how: "exited", poison: /called process\.exit\(\) while holding it/, exitCode: 3 },
  { death: "terminated-busy", how: "terminated", poison: /was terminated \(or crashed\) while holding it/ },
  { death: "terminated-blocked", how: "terminated", poison: /was terminated \(or crashed\) while holding it/ },
];

/** What a waiter saw. */
interface Woken {
  readonly who: string;
  readonly name: string;
  readonly message: string;
  readonly isPoisonError: boolean;
  readonly held?: boolean;
  readonly value?: number;
  readonly at: number;
}

/** A waiter worker: waits (sync or async) and reports what it saw, releasing the lock it got. */
function spawnWaiter(m: Mutex<number>, flags: Int32Array, times: Float64Array, slot: number, mode: "sync" | "async", name: string) {
  return spawn(
    async (m: Mutex<number>, flags: Int32Array, times: Float64Array, slot: number, mode: string, waitMs: number) => {
      const { PoisonError } = await import("threadsafe");
      Atomics.add(flags, 2, 1); // READY
      Atomics.notify(flags, 2);
      try {
        const g = mode === "sync" ? m.lock({ timeout: waitMs }) : await m.lockAsync({ timeout: waitMs });
        times[slot] = performance.timeOrigin + performance.now();
        const value = g.value;
        g.unlock();
        return { name: "none", message: "acquired without PoisonError", isPoisonError: false, value };
      } catch (e) {
        times[slot] = performance.timeOrigin + performance.now();
        const error = e as Error;
        if (!(e instanceof PoisonError)) return { name: error.name, message: error.message, isPoisonError: false };
        const g = e.intoInner() as { value: number; held: boolean; unlock(): void };
        const held = g.held;
        const value = g.value;
        g.unlock();
        return { name: error.name, message: error.message, isPoisonError: true, held, value };
      }
    },
    [m, flags, times, slot, mode, WAIT_MS],
    { name },
  );
}

/** Checks what one waiter saw, and records its latency (for the information printed at the end). */
function checkWoken(label: string, c: DeathCase, victim: JoinHandle<unknown>, mutexName: string, w: Woken, value: number, deathAt: number): void {
  const where = `${label}: ${w.who}`;
  assert.equal(w.name, "PoisonError", `${where} got ${w.name}: ${w.message}`);
  assert.equal(w.isPoisonError, true, `${where}: instanceof PoisonError`);
  assert.ok(w.message.includes(`Mutex "${mutexName}" is poisoned`), `${where}: ${w.message}`);
  assert.ok(w.message.includes(`thread "${victim.name}" (id ${victim.threadId})`), `${where} names the dead thread: ${w.message}`);
  assert.match(w.message, c.poison, `${where} says how it died`);
  assert.equal(w.held, true, `${where}: intoInner() gives a held guard`);
  assert.equal(w.value, value, `${where}: the data written before death is there`);
  latencies.push(`${label.padEnd(20)} ${w.who.padEnd(13)} ${(w.at - deathAt).toFixed(1)}`);
}

/** Main thread: lock (sync), expecting PoisonError; returns what it saw, releasing the lock. */
function mainSyncWait(m: Mutex<number>): Woken {
  try {
    const g = m.lock({ timeout: WAIT_MS });
    const at = stamp();
    const value = g.value;
    g.unlock();
    return { who: "main sync", name: "none", message: "acquired without PoisonError", isPoisonError: false, value, at };
  } catch (e) {
    const at = stamp();
    return fromError("main sync", e, at);
  }
}

function mainAsyncWait(m: Mutex<number>): Promise<Woken> {
  return m.lockAsync({ timeout: WAIT_MS }).then(
    (g) => {
      const at = stamp();
      const value = g.value;
      g.unlock();
      return { who: "main async", name: "none", message: "acquired without PoisonError", isPoisonError: false, value, at };
    },
    (e: unknown) => fromError("main async", e, stamp()),
  );
}

function fromError(who: string, e: unknown, at: number): Woken {
  const error = e as Error;
  if (!(e instanceof PoisonError)) return { who, name: error.name, message: error.message, isPoisonError: false, at };
  const g = e.intoInner() as MutexGuard<number>;
  const held = g.held;
  const value = g.value;
  g.unlock();
  return { who, name: error.name, message: error.message, isPoisonError: true, held, value, at };
}

/** After the waiters: the lock is still poisoned; intoInner shows the data; clearPoison recovers. */
function checkRecovery(m: Mutex<number>, value: number): void {
  assert.equal(m.isPoisoned(), true, "still poisoned after the waiters released it");
  let guard: MutexGuard<number> | undefined;
  try {
    m.lock({ timeout: 1000 });
    assert.fail("lock() of a poisoned mutex must throw PoisonError");
  } catch (e) {
    assert.ok(e instanceof PoisonError, `got ${(e as Error).name}: ${(e as Error).message}`);
    guard = e.intoInner() as MutexGuard<number>;
  }
  assert.equal(guard.held, true);
  assert.equal(guard.value, value);
  assert.equal(m.tryLock(), undefined, "intoInner's guard holds the lock");
  m.clearPoison();
  guard.value = value + 1;
  guard.unlock();
  assert.equal(m.isPoisoned(), false);
  const g = m.lock({ timeout: 1000 });
  assert.equal(g.value, value + 1);
  g.unlock();
  assert.equal(m.with((x) => x.value), value + 1);
}

for (const [index, c] of cases.entries()) {
  test(`owner death (${c.death}): every kind of waiter wakes with PoisonError; intoInner, clearPoison, join`, { timeout: 60_000 }, async () => {
    const value = 1000 + index;
    const mutexName = `od-${c.death}`;
    const m = new Mutex(i32, 0, { name: mutexName });
    const b = new Mutex(i32, 0, { name: `od-second-${c.death}` });
    const flags = new Int32Array(new SharedArrayBuffer(4 * 9));
    const times = new Float64Array(new SharedArrayBuffer(8 * 4));

    // terminated-blocked: the second mutex is held by a live "blocker" thread that the victim will wait for.
    let blocker: JoinHandle<number> | undefined;
    let wakeWatch: JoinHandle<string> | undefined;
    if (c.death === "terminated-blocked") {
      blocker = spawn(
        (b: Mutex<number>, flags: Int32Array) => {
          const g = b.lock();
          Atomics.store(flags, 5, 1); // B_HELD
          Atomics.notify(flags, 5);
          Atomics.wait(flags, 4, 0, 30_000); // RELEASE
          const seen = g.value;
          g.unlock();
          return seen;
        },
        [b, flags],
        { name: "blocker" },
      );
      await until("the blocker holds the second mutex", () => Atomics.load(flags, 5) === 1);
    }

    const victim = spawn(
      async (m: Mutex<number>, b: Mutex<number>, flags: Int32Array, times: Float64Array, death: string, value: number, mainId: number) => {
        const { dumpLocks } = await import("threadsafe");
        const g = m.lock();
        g.value = value;
        Atomics.store(flags, 0, 1); // HELD
        Atomics.notify(flags, 0);
        if (death === "terminated-busy") {
          const end = Date.now() + 30_000;
          while (Atomics.load(flags, 7) === 0 && Date.now() < end); // until terminated
          return "busy loop ended: terminate() did not stop the thread";
        }
        if (death === "terminated-blocked") {
          Atomics.store(flags, 3, 1); // BLOCKING
          Atomics.notify(flags, 3);
          b.lock({ timeout: 30_000 }); // blocks until terminated
          return "second lock taken: terminate() did not stop the thread";
        }
        Atomics.wait(flags, 1, 0, 10_000); // GO
        // Die once the main thread is blocked in lock() of m (it blocks right after GO): seen in the lock dump.
        const giveUp = Date.now() + 10_000;
        let saw = 2;
        for (;;) {
          if (dumpLocks().threads.some((t) => t.thread.id === mainId && t.blockedOn?.id === m.lockId)) { saw = 1; break; }
          if (Date.now() > giveUp) break;
          Atomics.wait(flags, 6, 0, 1);
        }
        Atomics.store(flags, 8, saw); // SAW_MAIN
        times[0] = performance.timeOrigin + performance.now();
        if (death === "returned") return "returned holding the guard";
        if (death === "threw") throw new Error("victim gave up while holding the lock");
        if (death === "exited") process.exit(3);
        return "unknown death";
      },
      [m, b, flags, times, c.death, value, mainId],
      { name: `victim-${c.death}` },
    );
    try {
      await until("the victim holds the lock", () => Atomics.load(flags, 0) === 1);
      const workerSync = spawnWaiter(m, flags, times, 1, "sync", "waiter-sync");
      const workerAsync = spawnWaiter(m, flags, times, 2, "async", "waiter-async");
      await waitForWaiters(m, [{ thread: "waiter-sync", kind: "sync" }, { thread: "waiter-async", kind: "async" }]);
      if (c.death === "terminated-blocked") {
        await until("the victim is blocked on the second mutex", () => threadState(victim.threadId)?.blockedOn?.id === b.lockId);
      }
      const mainAsync = mainAsyncWait(m);
      await waitForAsyncWaits(m, mainId, 1);
      // Every waiter is in place, and the victim still holds the lock: nobody can have taken it yet.
      assert.deepEqual(
        (await waitForWaiters(m, [{ thread: mainId, kind: "async" }])).owner,
        { id: victim.threadId, name: `victim-${c.death}` },
      );
      wakeWatch = await startWakeWatch(m, victim.threadId);

      let deathAt: number;
      if (c.death === "terminated-busy" || c.death === "terminated-blocked") {
        // The main thread cannot call terminate() while it is blocked: it calls it, then blocks at once. The worker
        // waiters and the main thread's async waiter are already waiting.
        // If the reap lands before this thread parks, it takes the lock without a wake-up and its unlock wakes the
        // rest, so these two cases do not prove the reaper's own notify (the nested tests below do).
        deathAt = stamp();
        void victim.terminate();
        if (releaseBusyAfterRequest) Atomics.store(flags, 7, 1); // STOP: the busy victim obeys as it returns
      } else {
        Atomics.store(flags, 1, 1); // GO: the victim dies once it sees this thread blocked below
        Atomics.notify(flags, 1);
        deathAt = Number.NaN;
      }
      const mainSync = mainSyncWait(m);
      if (Number.isNaN(deathAt)) {
        deathAt = times[0];
        assert.ok(deathAt > 0, "the victim recorded its death time");
        assert.equal(Atomics.load(flags, 8), 1, "the victim died while the main thread was blocked in lock() (seen in dumpLocks())");
      }

      const woken: Woken[] = [mainSync, await mainAsync];
      for (const [slot, handle] of [[1, workerSync], [2, workerAsync]] as const) {
        const seen = (await handle.join()) as Omit<Woken, "who" | "at">;
        woken.push({ ...seen, who: handle.name, at: times[slot] });
      }
      assert.equal(await wakeWatch.join(), "", "the death woke every waiter");
      for (const w of woken) checkWoken(c.death, c, victim, mutexName, w, value, deathAt);

      checkRecovery(m, value);

      await assert.rejects(victim.join(), (e: unknown) => {
        assert.ok(e instanceof ThreadError, `join() rejected with ${(e as Error)?.name}`);
        assert.equal(e.name, "ThreadError");
        assert.equal(e.how, c.how, e.message);
        assert.deepEqual(e.thread, { id: victim.threadId, name: `victim-${c.death}` });
        assert.ok(e.message.includes(`thread "victim-${c.death}" (id ${victim.threadId})`), e.message);
        if (c.exitCode !== undefined) assert.equal(e.exitCode, c.exitCode);
        if (c.death === "threw") {
          assert.match(e.message, /victim gave up while holding the lock/);
          assert.equal((e.error as Error).message, "victim gave up while holding the lock");
        }
        if (c.death === "returned" || c.death === "threw") assert.ok(e.message.includes(`Mutex "${mutexName}"`), e.message);
        return true;
      });

      if (blocker) {
        // The dead victim's wait for the second mutex is gone: the blocker releases it unpoisoned, and it works.
        Atomics.store(flags, 4, 1);
        Atomics.notify(flags, 4);
        assert.equal(await blocker.join(), 0);
        assert.equal(b.isPoisoned(), false);
        b.with((g) => { g.value = 7; });
        assert.equal(b.with((g) => g.value), 7);
      }
    } finally {
      void wakeWatch?.terminate();
      Atomics.store(flags, 7, 1); // STOP any busy loop
      Atomics.store(flags, 4, 1); // RELEASE the blocker
      Atomics.notify(flags, 4);
      Atomics.store(flags, 1, 1);
      Atomics.notify(flags, 1);
    }
  });
}

// The main thread cannot call terminate() and then be parked already: when the reap lands before it parks, it takes
// the lock without a wake-up, and its own unlock then wakes the others. Here a worker terminates the victim once the
// main thread is seen blocked, so the wake-up the reaper sends is the only one (mutation-checked: without the notify
// in RawMutex's releaseDead, the wake watch reports a lost wake-up). The victim is busy, or itself blocked on a
// second mutex that the killer holds.
for (const victimState of ["busy", "blocked"] as const) {
  test(`owner death: a worker terminates the ${victimState} holder it spawned while the main thread is already blocked in lock()`, { timeout: 60_000 }, async () => {
    const m = new Mutex(i32, 0, { name: `od-nested-${victimState}` });
    const b = new Mutex(i32, 0, { name: `od-nested-${victimState}-b` });
    const flags = new Int32Array(new SharedArrayBuffer(4 * 9));
    const times = new Float64Array(new SharedArrayBuffer(8 * 2));
    const killer = spawn(
      async (m: Mutex<number>, b: Mutex<number>, flags: Int32Array, times: Float64Array, mainId: number, blocked: boolean, releaseBusy: boolean) => {
        const { spawn, dumpLocks, ThreadError } = await import("threadsafe");
        const heldB = b.lock(); // the blocked victim waits for it until it is terminated
        const victim = spawn(
          (m: Mutex<number>, b: Mutex<number>, flags: Int32Array, blocked: boolean) => {
            const g = m.lock();
            g.value = 55;
            Atomics.store(flags, 0, 1);
            Atomics.notify(flags, 0);
            if (blocked) b.lock({ timeout: 30_000 }); // until terminated
            const end = Date.now() + 30_000;
            while (Atomics.load(flags, 7) === 0 && Date.now() < end);
            g.unlock();
          },
          [m, b, flags, blocked],
          { name: "nested-victim" },
        );
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const end = Date.now() + 10_000;
        while (Atomics.load(flags, 1) === 0 && Date.now() < end) await sleep(2); // the main thread is about to block
        // Terminate the victim once the main thread is blocked in lock() of m (and the blocked victim in lock() of
        // b), as the lock dump shows.
        const blockedOn = (id: number, lockId: number) => dumpLocks().threads.some((t) => t.thread.id === id && t.blockedOn?.id === lockId);
        const ready = () => blockedOn(mainId, m.lockId) && (!blocked || blockedOn(victim.threadId, b.lockId));
        while (!ready() && Date.now() < end) await sleep(1);
        Atomics.store(flags, 8, ready() ? 1 : 2); // SAW_MAIN
        times[0] = performance.timeOrigin + performance.now();
        const stopping = victim.terminate();
        if (releaseBusy) Atomics.store(flags, 7, 1); // the busy victim obeys in its unlock()
        await stopping;
        heldB.unlock();
        try {
          await victim.join();
          return { how: "joined", name: "", id: victim.threadId };
        } catch (e) {
          return { how: (e as InstanceType<typeof ThreadError>).how, name: (e as Error).name, id: victim.threadId };
        }
      },
      [m, b, flags, times, mainId, victimState === "blocked", releaseBusyAfterRequest],
      { name: "killer" },
    );
    let wakeWatch: JoinHandle<string> | undefined;
    try {
      await until("the nested victim holds the lock", () => Atomics.load(flags, 0) === 1);
      wakeWatch = await startWakeWatch(m, (await waitForOwner(m, "nested-victim")).owner!.id);
      Atomics.store(flags, 1, 1);
      Atomics.notify(flags, 1);
      const seen = mainSyncWait(m);
      const outcome = await killer.join();
      assert.equal(await wakeWatch.join(), "", "the death woke the main thread");
      assert.deepEqual({ how: outcome.how, name: outcome.name }, { how: "terminated", name: "ThreadError" });
      assert.equal(Atomics.load(flags, 8), 1, "the victim was terminated while the main thread was blocked in lock()");
      const fakeVictim = { name: "nested-victim", threadId: outcome.id } as JoinHandle<unknown>;
      checkWoken(`nested terminate ${victimState}`, cases[3]!, fakeVictim, `od-nested-${victimState}`, seen, 55, times[0]);
      checkRecovery(m, 55);
      // The dead victim's wait for b is gone: b was released unpoisoned by the killer, and works.
      assert.equal(b.isPoisoned(), false);
      assert.equal(b.with((g) => ++g.value), 1);
    } finally {
      void wakeWatch?.terminate();
      Atomics.store(flags, 7, 1);
    }
  });
}

test("owner death: a thread that calls process.exit(0) while holding a lock is reported as exited, not as having returned", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "od-exit0" });
  const flags = new Int32Array(new SharedArrayBuffer(4 * 8));
  const victim = spawn(
    (m: Mutex<number>, flags: Int32Array) => {
      const g = m.lock();
      g.value = 9;
      Atomics.store(flags, 0, 1);
      process.exit(0);
    },
    [m, flags],
    { name: "exit-zero" },
  );
  await assert.rejects(victim.join(), (e: unknown) => e instanceof ThreadError && e.how === "exited" && e.exitCode === 0);
  let message = "";
  try {
    m.lock({ timeout: 5000 });
    assert.fail("lock() must throw PoisonError");
  } catch (e) {
    assert.ok(e instanceof PoisonError, `got ${(e as Error).name}: ${(e as Error).message}`);
    const g = e.intoInner() as MutexGuard<number>;
    assert.equal(g.value, 9);
    m.clearPoison();
    g.unlock();
    message = e.message;
  }
  assert.ok(message.includes(`thread "exit-zero" (id ${victim.threadId})`), message);
  assert.match(message, /called process\.exit\(\) while holding it/);
});

// ## Workers made with `new Worker(...)`: they get the mutex through share/receive and have no lifeline.

type RawMode = "throw" | "exit" | "return" | "busy";

function startRawHolder(mode: RawMode, value: number) {
  const m = new Mutex(i32, 0, { name: `raw-${mode}` });
  const flags = new Int32Array(new SharedArrayBuffer(4 * 8));
  const times = new Float64Array(new SharedArrayBuffer(8 * 2));
  const worker = new Worker(new URL("./support/raw-holder.mjs", import.meta.url));
  const exited = new Promise<{ code: number; error: Error | undefined }>((resolve) => {
    let error: Error | undefined;
    worker.on("error", (e) => { error = e; });
    worker.on("exit", (code) => resolve({ code, error }));
  });
  worker.postMessage(share({ m, flags, times, mode, value, mainId }));
  return { m, flags, times, worker, exited };
}

const rawCases: ReadonlyArray<{ mode: Exclude<RawMode, "busy">; poison: RegExp; code: number }> = [
  { mode: "exit", poison: /called process\.exit\(\) while holding it/, code: 4 },
  { mode: "return", poison: /ended without releasing it/, code: 0 },
  { mode: "throw", poison: /died of an uncaught error while holding it/, code: 1 },
];

for (const [index, rc] of rawCases.entries()) {
  test(`raw Worker (share/receive) that ${rc.mode === "throw" ? "throws" : rc.mode === "exit" ? "calls process.exit" : "ends"} while holding a lock: waiters wake with PoisonError`, { timeout: 60_000 }, async () => {
    const value = 4000 + index;
    const { m, flags, times, worker, exited } = startRawHolder(rc.mode, value);
    let wakeWatch: JoinHandle<string> | undefined;
    try {
      await until("the raw worker holds the lock", () => Atomics.load(flags, 0) === 1);
      const rawId = Atomics.load(flags, 1);
      assert.ok(rawId > 0, "the raw worker joined the runtime");
      const mainAsync = mainAsyncWait(m);
      await waitForAsyncWaits(m, mainId, 1);
      wakeWatch = await startWakeWatch(m, rawId);
      Atomics.store(flags, 2, 1); // GO: it dies once it sees this thread blocked below (in the lock dump)
      Atomics.notify(flags, 2);
      const mainSync = mainSyncWait(m);
      assert.equal(Atomics.load(flags, 5), 1, "the raw worker died while the main thread was blocked in lock()");
      const woken = [mainSync, await mainAsync];
      assert.equal(await wakeWatch.join(), "", "the death woke every waiter");
      const { code, error } = await exited;
      // Under `bun test` (not plain `bun`) a worker that dies of an uncaught error runs no uncaughtExceptionMonitor
      // hook and exits with code 0, so its exit hook takes it for a worker that ended normally: there the waiters
      // read "ended without releasing it". Measured: plain `bun` fires the hook and exits with 1.
      const bunTestQuirk = rc.mode === "throw" && onBun && code === 0;
      if (bunTestQuirk) {
        console.log("# on Bun: under `bun test` the raw worker that threw exited with code 0 and its uncaught-error hook did not run (plain `bun`: 1, and it runs); exit code and cause wording not checked");
      } else {
        assert.equal(code, rc.code);
      }
      if (rc.mode === "throw") assert.match(String(error?.message), /raw worker failed while holding the lock/);
      const fake = { name: `thread-${rawId}`, threadId: rawId } as JoinHandle<unknown>;
      const anyCause = { ...cases[0]!, poison: /./ };
      for (const w of woken) checkWoken(`raw ${rc.mode}`, anyCause, fake, `raw-${rc.mode}`, w, value, times[0]);
      checkRecovery(m, value);
      // Last, so that everything above is checked even if only the wording is wrong.
      if (!bunTestQuirk) for (const w of woken) assert.match(w.message, rc.poison, `${w.who} says how the raw worker died`);
    } finally {
      void wakeWatch?.terminate();
      Atomics.store(flags, 2, 1);
      Atomics.notify(flags, 2);
      await worker.terminate();
    }
  });
}

test(
  "raw Worker (share/receive) terminated while holding a lock, followed with watch(worker): waiters wake with PoisonError",
  { timeout: 60_000 },
  async () => {
    const { m, flags, worker, exited } = startRawHolder("busy", 77);
    watch(worker); // the creating thread hears the end; it must not itself block on the worker's lock
    let wakeWatch: JoinHandle<string> | undefined;
    try {
      await until("the raw worker holds the lock", () => Atomics.load(flags, 0) === 1);
      const mainAsync = m.lockAsync({ timeout: WAIT_MS }).then(
        (g) => { g.unlock(); return "acquired" as unknown; },
        (e: unknown) => e,
      );
      const syncWaiter = spawn(
        (m: Mutex<number>, waitMs: number) => {
          try {
            m.lock({ timeout: waitMs }).unlock();
            return "acquired";
          } catch (e) {
            const error = e as Error & { intoInner?: () => { unlock(): void } };
            error.intoInner?.().unlock();
            return `${error.name}: ${error.message}`;
          }
        },
        [m, WAIT_MS],
        { name: "sync-waiter" },
      );
      // Both waiters are in place while the raw worker still holds the lock; then it is terminated.
      await waitForWaiters(m, [{ thread: "sync-waiter", kind: "sync" }, { thread: mainId, kind: "async" }]);
      wakeWatch = await startWakeWatch(m, Atomics.load(flags, 1));
      const deathAt = stamp();
      void worker.terminate();
      const asyncOutcome = await mainAsync;
      latencies.push(`${"raw terminate+watch".padEnd(20)} ${"main async".padEnd(13)} ${(stamp() - deathAt).toFixed(1)}`);
      if (asyncOutcome instanceof PoisonError) (asyncOutcome.intoInner() as MutexGuard<number>).unlock();
      const syncOutcome = await syncWaiter.join();
      assert.equal(await wakeWatch.join(), "", "the death woke every waiter");
      assert.equal((await exited).code, 1);
      assert.ok(asyncOutcome instanceof PoisonError, `main async waiter got ${(asyncOutcome as Error)?.name ?? asyncOutcome}`);
      assert.match(asyncOutcome.message, /was terminated \(or crashed\) while holding it/);
      assert.match(syncOutcome, /^PoisonError: .*was terminated \(or crashed\) while holding it/);
      m.clearPoison();
    } finally {
      void wakeWatch?.terminate();
      Atomics.store(flags, 4, 1);
      await worker.terminate();
    }
  },
);
