// Interop: shared objects through workers the library did not start (raw worker_threads, piscina), spawn of a
// module, the library instance inside a spawned function, `using` compiled by tsx/esbuild and by TypeScript, and
// handles that survive round trips. Every test has an exact oracle and a time bound; every worker is real.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import esbuild from "esbuild";
import { Piscina } from "piscina";
import ts from "typescript";
import {
  Mutex,
  MutexGuard,
  ThreadError,
  currentThread,
  f64,
  i32,
  receive,
  share,
  spawn,
  string,
  struct,
  type JoinHandle,
  type ThreadRef,
} from "threadsafe";
import * as tsxJobs from "./support/interop-using-jobs.ts";

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
const RAW_WORKER = new URL("./support/interop-raw-worker.mjs", import.meta.url);
const PISCINA_TASK = new URL("./support/interop-piscina-task.mjs", import.meta.url);
const MODULE_JOB = new URL("./support/interop-module-job.mjs", import.meta.url);
const USING_JOBS_TS = new URL("./support/interop-using-jobs.ts", import.meta.url);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

/** Posts `share(value)` to a raw worker and resolves with `receive` of its next reply (rejects if it dies). */
async function request<R>(worker: Worker, value: unknown, ms = 30_000): Promise<R> {
  const reply = once(worker, "message");
  worker.postMessage(share(value));
  const timer = setTimeout(() => worker.emit("error", new Error(`no reply from the raw worker within ${ms} ms`)), ms);
  try {
    const [message] = await reply;
    return receive<R>(message);
  } finally {
    clearTimeout(timer);
  }
}

/** Awaits a join that must reject, and returns its ThreadError. */
async function threadError(handle: JoinHandle<unknown>): Promise<ThreadError> {
  try {
    const value = await handle.join();
    assert.fail(`join() resolved with ${JSON.stringify(value)}; expected it to reject`);
  } catch (error) {
    if (!(error instanceof ThreadError)) throw error;
    assert.equal(error.name, "ThreadError");
    return error;
  }
}

/** The error a thread threw, as join's ThreadError carries it. */
type Thrown = Error & { error?: Thrown; suppressed?: Thrown; code?: string; detail?: number };

// ---------------------------------------------------------------------------------------------------------------
// 1. Raw worker_threads Workers
// ---------------------------------------------------------------------------------------------------------------

test("raw Workers: main + 2 workers × 100,000 non-atomic increments of one Mutex<i32> (share/receive) give exactly 300,000", { timeout: 60_000 }, async () => {
  const counter = new Mutex(i32, 0, { name: "raw-counter" });
  const flags = new Int32Array(new SharedArrayBuffer(8)); // [0] ready count, [1] GO
  const workers = [new Worker(RAW_WORKER), new Worker(RAW_WORKER)];
  try {
    const done = workers.map((w) => request<{ thread: ThreadRef; isMutex: boolean }>(w, { op: "count", m: counter, n: 100_000, flags }));
    await until("both raw workers are ready", () => Atomics.load(flags, 0) === 2);
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    for (let i = 0; i < 100_000; i++) {
      const g = counter.lock();
      g.value = g.value + 1;
      g.unlock();
    }
    const replies = await Promise.all(done);
    assert.equal(counter.with((g) => g.value), 300_000);
    assert.equal(counter.isPoisoned(), false);
    assert.deepEqual(replies.map((r) => r.isMutex), [true, true]);
    const ids = new Set([currentThread().id, ...replies.map((r) => r.thread.id)]);
    assert.equal(ids.size, 3, `each raw worker joined the runtime as its own thread: ${[...ids].join(", ")}`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

test("raw Worker: a struct Mutex nested in objects, arrays, Sets, Map values and Map keys arrives working, as one object", { timeout: 30_000 }, async () => {
  const acct = new Mutex(struct({ hits: i32, total: f64, tag: string(16) }), { hits: 0, total: 0, tag: "acct" }, { name: "nested-acct" });
  const payload = {
    meta: { inner: [1, { deep: new Map<string, unknown>([["acct", acct], ["other", 7]]) }], when: new Date(1234), bytes: new Uint8Array([1, 2, 3]) },
    list: [acct, [acct]],
    set: new Set([acct]),
    map: new Map([["k", { m: acct }]]),
    keyed: new Map([[acct, "value-for-acct"]]),
  };
  const worker = new Worker(RAW_WORKER);
  try {
    const reply = await request<{
      allSame: boolean;
      allMutex: boolean;
      seen: { hits: number; total: number; tag: string };
      name: string;
      other: number;
      keyedValue: string;
      date: number;
      bytes: number[];
    }>(worker, { op: "nested", payload });
    assert.deepEqual(reply, {
      op: "nested",
      allSame: true,
      allMutex: true,
      seen: { hits: 6, total: 15, tag: "acct" },
      name: "nested-acct",
      other: 7,
      keyedValue: "value-for-acct",
      date: 1234,
      bytes: [1, 2, 3],
    });
    acct.with((g) => {
      assert.equal(g.value.hits, 6);
      assert.equal(g.value.total, 15);
      assert.equal(g.value.tag, "acct");
    });
  } finally {
    await worker.terminate();
  }
});

test("raw Worker: the same mutex received twice (two messages) in one thread is the same object", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 3, { name: "twice" });
  const worker = new Worker(RAW_WORKER);
  try {
    await request(worker, { op: "keep", m });
    const reply = await request<{ same: boolean; alsoInside: boolean }>(worker, { op: "same", m, again: [m] });
    assert.deepEqual(reply, { op: "same", same: true, alsoInside: true });
  } finally {
    await worker.terminate();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 2. A pool: piscina
// ---------------------------------------------------------------------------------------------------------------

test("piscina: 24 tasks × 5,000 increments of a mutex sent with share() in the task data, plus the main thread's lockAsync, are exact", { timeout: 60_000 }, async () => {
  const pool = new Piscina({ filename: PISCINA_TASK.href, minThreads: 2, maxThreads: 2 });
  try {
    const counter = new Mutex(i32, 0, { name: "pool-counter" });
    const message = share({ m: counter });
    const tasks: Promise<{ thread: ThreadRef; sameAsBefore: boolean | null }>[] = [];
    for (let t = 0; t < 24; t++) tasks.push(pool.run({ message, n: 5_000 }));
    for (let i = 0; i < 5_000; i++) {
      const g = await counter.lockAsync();
      g.value = g.value + 1;
      g.unlock();
    }
    const results = await Promise.all(tasks);
    assert.equal(counter.with((g) => g.value), 24 * 5_000 + 5_000);
    assert.equal(counter.isPoisoned(), false);
    const threads = new Set(results.map((r) => r.thread.id));
    assert.ok(threads.size >= 1 && threads.size <= 2, `tasks ran on ${threads.size} library threads`);
    assert.ok(!threads.has(currentThread().id));
    // A pool thread that receives the same mutex again (a new structured clone each task) gets the same object.
    assert.ok(results.every((r) => r.sameAsBefore !== false), JSON.stringify(results.map((r) => r.sameAsBefore)));
    assert.ok(results.some((r) => r.sameAsBefore === true));
  } finally {
    await pool.destroy();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 3. spawn(moduleUrl, args)
// ---------------------------------------------------------------------------------------------------------------

test("spawn(moduleUrl, args) runs the module's default export: URL, href and absolute path; a relative path is a TypeError", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "module-counter" });
  const handles = [
    spawn(MODULE_JOB, [m, 1_000, "url"], { name: "job-url" }),
    spawn(MODULE_JOB.href, [m, 1_000, "href"], { name: "job-href" }),
    spawn(fileURLToPath(MODULE_JOB), [m, 1_000, "path"]),
  ];
  const results = (await Promise.all(handles.map((h) => h.join()))) as { label: string; isMutex: boolean; thread: ThreadRef; value: number }[];
  assert.deepEqual(results.map((r) => r.label), ["url", "href", "path"]);
  assert.deepEqual(results.map((r) => r.isMutex), [true, true, true]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(results[i]!.thread, { id: handles[i]!.threadId, name: handles[i]!.name });
    assert.ok(results[i]!.value >= 1_000 && results[i]!.value <= 3_000);
  }
  assert.equal(handles[0]!.name, "job-url");
  assert.equal(m.with((g) => g.value), 3_000);

  for (const relative of ["./test/support/interop-module-job.mjs", "test/support/interop-module-job.mjs", "interop-module-job.mjs", "../x.mjs"]) {
    assert.throws(
      () => spawn(relative, [m, 1, "relative"]),
      (e: unknown) => e instanceof TypeError && /URL|absolute path/.test(e.message),
      relative,
    );
  }
  assert.equal(m.with((g) => g.value), 3_000);
});

// ---------------------------------------------------------------------------------------------------------------
// 4. The library inside a spawned function
// ---------------------------------------------------------------------------------------------------------------

test("inside a spawned function, await import(\"threadsafe\") is the instance that revived the args; currentThread() matches the handle", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 41, { name: "import-me" });
  const job = (m: Mutex<number>) =>
    (async () => {
      const lib = await import("threadsafe");
      const g = m.lock();
      const guardIsLib = g instanceof lib.MutexGuard;
      g.value = g.value + 1;
      g.unlock();
      // A PoisonError thrown by the revived mutex is the imported library's class.
      try {
        m.with(() => {
          throw new Error("poison it");
        });
      } catch {
        // expected
      }
      let poisonIsLib = false;
      try {
        m.lock().unlock();
      } catch (e) {
        poisonIsLib = e instanceof lib.PoisonError;
        const guard = (e as InstanceType<typeof lib.PoisonError>).intoInner() as InstanceType<typeof lib.MutexGuard<number>>;
        m.clearPoison();
        guard.unlock();
      }
      // A mutex made with the imported library lives in the same runtime: lockAll takes both.
      const mine = new lib.Mutex(lib.i32, 1, { name: "made-inside" });
      const [a, b] = lib.lockAll([m, mine]);
      const sum = a.value + b.value;
      a.unlock();
      b.unlock();
      return { isMutex: m instanceof lib.Mutex, guardIsLib, poisonIsLib, sum, me: lib.currentThread() };
    })();
  // One after the other: each job poisons m on purpose, and a job running meanwhile would meet that poison in
  // lock() or lockAll(), which this test is not about (the two used to race, and failed when they met).
  const named = spawn(job, [m], { name: "importer" });
  const r1 = await named.join();
  const unnamed = spawn(job, [m]);
  const r2 = await unnamed.join();
  for (const [r, h] of [[r1, named], [r2, unnamed]] as const) {
    assert.equal(r.isMutex, true);
    assert.equal(r.guardIsLib, true);
    assert.equal(r.poisonIsLib, true);
    assert.deepEqual(r.me, { id: h.threadId, name: h.name });
    assert.notEqual(r.me.id, currentThread().id);
  }
  assert.equal(named.name, "importer");
  assert.match(unnamed.name, /\S/);
  assert.notEqual(named.threadId, unnamed.threadId);
  // Each thread adds 1, then reads m + 1 under lockAll: the later reader has seen both increments (44); the earlier
  // one sees 43 or 44, depending on whether the other thread's increment came first.
  const [low, high] = [r1.sum, r2.sum].sort();
  assert.equal(high, 44);
  assert.ok(low === 43 || low === 44, `sums ${r1.sum}, ${r2.sum}`);
  assert.equal(m.with((g) => g.value), 43);
  assert.equal(m.isPoisoned(), false);
});

// ---------------------------------------------------------------------------------------------------------------
// 5. `using` in spawned functions compiled by tsx (esbuild), TypeScript and esbuild; results, errors, closures
// ---------------------------------------------------------------------------------------------------------------

type UsingJobs = typeof tsxJobs;

/** Runs every `using` scenario of test/support/interop-using-jobs.ts as compiled into `jobs` (and its module URL). */
async function usingSuite(jobs: UsingJobs, moduleUrl: URL | undefined, compiler: string): Promise<void> {
  // (1) exactness under contention
  const counter = new Mutex(i32, 0, { name: `${compiler}-using-counter` });
  const incs = [spawn(jobs.usingIncrement, [counter, 10_000]), spawn(jobs.usingIncrement, [counter, 10_000])];
  assert.deepEqual(await Promise.all(incs.map((h) => h.join())), [10_000, 10_000]);
  assert.equal(counter.with((g) => g.value), 20_000, `${compiler}: using increments`);
  assert.equal(counter.isPoisoned(), false, `${compiler}: using released the lock (the thread's reaper did not have to)`);

  // (2) LIFO disposal, sync and async
  const order = new Mutex(i32, 0, { name: `${compiler}-order` });
  const expected = ["body:true", "b:held", "a:free", "after"];
  assert.deepEqual(await spawn(jobs.usingOrder, [order]).join(), expected, `${compiler}: using order`);
  assert.deepEqual(await spawn(jobs.awaitUsingOrder, [order]).join(), expected, `${compiler}: await using order`);
  assert.equal(order.with((g) => g.value), 2);
  assert.equal(order.isPoisoned(), false);

  // (3) the body throws: the lock was released by disposal (not poisoned, not reaped)
  const thrown = new Mutex(i32, 0, { name: `${compiler}-thrown` });
  const e1 = await threadError(spawn(jobs.usingThrows, [thrown, 7]));
  const my = e1.error as Thrown;
  assert.equal(e1.how, "threw");
  assert.equal(my.name, "MyError", `${compiler}: ${e1.message}`);
  assert.equal(my.message, "body failed while holding the lock (value 7)");
  assert.equal(my.code, "E_USING");
  assert.match(String(my.stack), /body failed while holding the lock \(value 7\)/);
  assert.doesNotMatch(e1.message, /still held|poisoned/, `${compiler}: the guard was disposed before the thread ended`);
  assert.equal(thrown.isPoisoned(), false);
  const g = thrown.tryLock();
  assert.ok(g instanceof MutexGuard, `${compiler}: the main thread can lock it after join rejects`);
  assert.equal(g.value, 7);
  g.unlock();

  // (4) SuppressedError: a disposer's error, with the body's error suppressed; the guard is still released
  for (const [job, disposer, body] of [
    [jobs.usingSuppressed, "disposer failed", "body failed"],
    [jobs.awaitUsingSuppressed, "async disposer failed", "async body failed"],
  ] as const) {
    const m = new Mutex(i32, 0, { name: `${compiler}-suppressed` });
    const e = await threadError(spawn(job as (m: Mutex<number>, v: number) => unknown, [m, 8]));
    const s = e.error as Thrown;
    assert.equal(s.name, "SuppressedError", `${compiler} ${job.name}: ${e.message}`);
    assert.equal(s.error?.name, "RangeError", `${compiler} ${job.name}: .error is the disposer's error`);
    assert.equal(s.error?.message, disposer);
    assert.equal(s.suppressed?.name, "TypeError", `${compiler} ${job.name}: .suppressed is the body's error`);
    assert.equal(s.suppressed?.message, body);
    assert.equal(m.isPoisoned(), false, `${compiler} ${job.name}: released by disposal`);
    assert.equal(m.with((x) => x.value), 8);
  }

  // (5) the same module run by spawn(moduleUrl): its own compiled helpers, not the library's
  if (moduleUrl === undefined) return;
  const viaModule = new Mutex(i32, 0, { name: `${compiler}-module` });
  assert.deepEqual(await spawn(moduleUrl, ["usingOrder", viaModule]).join(), expected, `${compiler}: module using order`);
  assert.deepEqual(await spawn(moduleUrl, ["awaitUsingOrder", viaModule]).join(), expected);
  const e2 = await threadError(spawn(moduleUrl, ["usingSuppressed", viaModule, 9]));
  assert.equal((e2.error as Thrown).name, "SuppressedError");
  assert.equal((e2.error as Thrown).error?.message, "disposer failed");
  assert.equal((e2.error as Thrown).suppressed?.message, "body failed");
  assert.equal(viaModule.isPoisoned(), false);
  assert.equal(viaModule.with((x) => x.value), 9);
}

/** Writes compiled JS beside the support modules (so it can import "threadsafe"), imports it, runs `fn`, deletes it. */
async function withCompiledModule(compiler: string, code: string, fn: (jobs: UsingJobs, url: URL) => Promise<void>): Promise<void> {
  const url = new URL(`./support/interop-tmp-${process.pid}-${compiler}.mjs`, import.meta.url);
  writeFileSync(url, code);
  try {
    const jobs = (await import(url.href)) as UsingJobs;
    await fn(jobs, url);
  } finally {
    rmSync(url, { force: true });
  }
}

test("(a) tsx/esbuild: `using` in an arrow function of this file, spawned: __using/__callDispose work, exact total", { timeout: 60_000 }, async () => {
  const fn = (m: Mutex<number>, n: number) => {
    for (let i = 0; i < n; i++) {
      using g = m.lock();
      g.value = g.value + 1;
    }
    return n;
  };
  if (NODE_MAJOR < 24) assert.match(fn.toString(), /__using\(/, "tsx down-levels `using` on this Node");
  const m = new Mutex(i32, 0, { name: "tsx-arrow" });
  const handles = [spawn(fn, [m, 25_000]), spawn(fn, [m, 25_000])];
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(m.with((g) => g.value), 50_000);
  assert.equal(m.isPoisoned(), false);
});

test("(a) tsx/esbuild: every `using` scenario of a tsx-compiled module (LIFO, throw, SuppressedError, await using)", { timeout: 90_000 }, async () => {
  if (NODE_MAJOR < 24) assert.match(tsxJobs.usingOrder.toString(), /__using\(/);
  // No spawn(moduleUrl) step here: on Node 20 tsx's loader hooks do not reach worker threads (even a raw
  // `new Worker("x.ts")` fails with ERR_UNKNOWN_FILE_EXTENSION), so a .ts module cannot be a thread's entry.
  await usingSuite(tsxJobs, undefined, "tsx");
});

test("(b) TypeScript transpileModule (ES2022): `using`/`await using` in spawned functions, Node 20 included", { timeout: 90_000 }, async () => {
  const source = readFileSync(USING_JOBS_TS, "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  assert.match(outputText, /__addDisposableResource/);
  await withCompiledModule("tsc", outputText, async (jobs, url) => {
    assert.match(jobs.usingOrder.toString(), /__addDisposableResource\(/);
    assert.match(jobs.awaitUsingOrder.toString(), /__disposeResources\(/);
    await usingSuite(jobs, url, "tsc");
  });
});

test("(c) esbuild transformSync (target node20): `using`/`await using` in spawned functions", { timeout: 90_000 }, async () => {
  const source = readFileSync(USING_JOBS_TS, "utf8");
  const { code } = esbuild.transformSync(source, { loader: "ts", target: "node20", format: "esm" });
  assert.match(code, /__callDispose/);
  await withCompiledModule("esbuild", code, async (jobs, url) => {
    assert.match(jobs.usingOrder.toString(), /__using\(/);
    await usingSuite(jobs, url, "esbuild");
  });
});

test("SuppressedError as Node 24+ makes it (spec: .error/.suppressed are non-enumerable) and AggregateError keep their errors across join", { timeout: 30_000 }, async (t) => {
  // On Node 24+ `using` is native (tsx leaves it alone) and compile.ts's helpers also use the native
  // SuppressedError, whose `error` and `suppressed` are non-enumerable own properties (like AggregateError's
  // `errors`, native on Node 20 too). This installs a spec-shaped SuppressedError in the thread, so Node 20 takes the
  // same path.
  await t.test("SuppressedError from `using` with a spec-shaped SuppressedError: .error and .suppressed arrive", async () => {
    const m = new Mutex(i32, 0, { name: "native-suppressed" });
    const e = await threadError(
      spawn(
        (m: Mutex<number>) => {
          const g = globalThis as { SuppressedError?: unknown };
          if (typeof g.SuppressedError !== "function") {
            class SuppressedError extends Error {
              declare error: unknown;
              declare suppressed: unknown;
              constructor(error: unknown, suppressed: unknown, message?: string) {
                super(message);
                Object.defineProperty(this, "error", { value: error, writable: true, configurable: true, enumerable: false });
                Object.defineProperty(this, "suppressed", { value: suppressed, writable: true, configurable: true, enumerable: false });
              }
            }
            Object.defineProperty(SuppressedError.prototype, "name", { value: "SuppressedError", writable: true, configurable: true });
            g.SuppressedError = SuppressedError;
          }
          using guard = m.lock();
          using bad = {
            [Symbol.dispose]() {
              throw new RangeError("disposer failed");
            },
          };
          guard.value = 1;
          if (bad) throw new TypeError("body failed");
        },
        [m],
      ),
    );
    const s = e.error as Thrown;
    assert.equal(s.name, "SuppressedError");
    assert.equal(m.isPoisoned(), false);
    assert.equal(s.error?.message, "disposer failed", "SuppressedError.error crossed the thread");
    assert.equal(s.suppressed?.message, "body failed", "SuppressedError.suppressed crossed the thread");
  });

  await t.test("AggregateError: .errors arrives", async () => {
    const a = await threadError(spawn(() => {
      throw new AggregateError([new Error("first"), new Error("second")], "two failed");
    }));
    const agg = a.error as Thrown & { errors?: Error[] };
    assert.equal(agg.name, "AggregateError");
    assert.equal(agg.message, "two failed");
    assert.deepEqual(agg.errors?.map((x) => x.message), ["first", "second"], "AggregateError.errors crossed the thread");
  });
});

test("a spawned function's return value arrives structured-cloned", { timeout: 30_000 }, async () => {
  const h = spawn(
    (a: number, b: { xs: number[] }) => ({ sum: a + b.xs.reduce((x, y) => x + y, 0), map: new Map([["k", [1, 2]]]), big: 2n ** 70n, nan: Number.NaN }),
    [1, { xs: [2, 3, 4] }],
  );
  assert.deepEqual(await h.join(), { sum: 10, map: new Map([["k", [1, 2]]]), big: 2n ** 70n, nan: Number.NaN });
  assert.equal(await spawn(async (x: string) => `${x}!`, ["async"]).join(), "async!");
  assert.equal(await spawn(() => undefined).join(), undefined);
});

test("a thrown custom error: join rejects with ThreadError carrying it by name, message, stack and own properties", { timeout: 30_000 }, async () => {
  const h = spawn(
    (n: number) => {
      class MyError extends Error {
        override name = "MyError";
        detail = n;
      }
      throw new MyError(`custom failure ${n}`);
    },
    [42],
    { name: "thrower" },
  );
  const e = await threadError(h);
  assert.equal(e.how, "threw");
  assert.deepEqual(e.thread, { id: h.threadId, name: "thrower" });
  const my = e.error as Thrown;
  assert.ok(my instanceof Error);
  assert.equal(my.name, "MyError");
  assert.equal(my.message, "custom failure 42");
  assert.equal(my.detail, 42);
  assert.match(String(my.stack), /custom failure 42/);
  assert.match(String(my.stack), /\n\s+at /);
  assert.match(e.message, /MyError: custom failure 42/);
  assert.match(e.message, /"thrower"/);
});

test("returning a Mutex from a thread: one made in the thread and one passed in both arrive working", { timeout: 30_000 }, async () => {
  const made = await spawn(async () => {
    const lib = await import("threadsafe");
    const m = new lib.Mutex(lib.struct({ a: lib.i32, s: lib.string(16) }), { a: 5, s: "made" }, { name: "made-in-thread" });
    m.with((g) => {
      g.value.a += 1;
    });
    return { m };
  }).join();
  const m = made.m;
  assert.ok(m instanceof Mutex);
  assert.equal(m.name, "made-in-thread");
  assert.deepEqual(m.with((g) => [g.value.a, g.value.s]), [6, "made"]);
  // It keeps working across threads after its creator ended.
  const bumps = [0, 1].map(() =>
    spawn(
      (m: Mutex<{ a: number; s: string }>) => {
        for (let i = 0; i < 5_000; i++) m.with((g) => void (g.value.a += 1));
      },
      [m],
    ),
  );
  for (let i = 0; i < 5_000; i++) m.with((g) => void (g.value.a += 1));
  await Promise.all(bumps.map((h) => h.join()));
  assert.equal(m.with((g) => g.value.a), 6 + 15_000);

  const passed = new Mutex(i32, 10, { name: "passed-and-returned" });
  const back = await spawn(
    (m: Mutex<number>) => {
      m.with((g) => void (g.value += 1));
      return [m];
    },
    [passed],
  ).join();
  assert.ok(back[0] instanceof Mutex);
  assert.equal(back[0].name, "passed-and-returned");
  back[0].with((g) => void (g.value += 1));
  assert.equal(passed.with((g) => g.value), 12);
});

test("a spawned closure over an outer variable: join rejects with ThreadError that says to pass it in args", { timeout: 30_000 }, async () => {
  // A value no transpiler can inline into the function's text (Bun's turns `const outer = 5; () => outer + 1` into
  // `() => 6`, which then "works" in the thread).
  const outer = { n: 5 };
  const e = await threadError(spawn(() => outer.n + 1));
  assert.equal(e.how, "threw");
  assert.equal((e.error as Thrown).name, "ReferenceError");
  assert.match((e.error as Thrown).message, /outer/);
  assert.match(e.message, /cannot use variables of the scope/);
  assert.match(e.message, /args/);
});

// ---------------------------------------------------------------------------------------------------------------
// 6. Handles survive round trips
// ---------------------------------------------------------------------------------------------------------------

test("round trips: share → structuredClone → receive in the same thread gives the same mutex", { timeout: 30_000 }, async (t) => {
  const m = new Mutex(i32, 5, { name: "round-trip" });

  await t.test("a revived mutex sent again is the same object", () => {
    const r1 = receive<{ m: Mutex<number> }>(structuredClone(share({ m }))).m;
    const r2 = receive<Mutex<number>[]>(structuredClone(share([r1, r1])));
    assert.equal(r2[0], r2[1]);
    assert.equal(r2[0], r1);
    assert.equal(r1.with((g) => g.value), 5);
  });

  await t.test("the mutex its own thread created comes back as that object", () => {
    const back = receive<{ a: Mutex<number>; b: Mutex<number>[] }>(structuredClone(share({ a: m, b: [m] })));
    assert.equal(back.a, back.b[0]);
    assert.equal(back.a.with((g) => g.value), 5, "it works");
    assert.equal(back.a, m, "receive(structuredClone(share(m))) === m in the thread that created m");
  });

  await t.test("main → raw Worker → main gives back the same object", async () => {
    const worker = new Worker(RAW_WORKER);
    try {
      const reply = await request<{ value: { m: Mutex<number> } }>(worker, { op: "echo", value: { m } });
      assert.equal(reply.value.m.with((g) => g.value), 5, "it works");
      assert.equal(reply.value.m, m);
    } finally {
      await worker.terminate();
    }
  });

  await t.test("a mutex passed to spawn and returned is the same object", async () => {
    const back = await spawn((x: Mutex<number>) => x, [m]).join();
    assert.equal(back.with((g) => g.value), 5, "it works");
    assert.equal(back, m);
  });
});

// Keep the compiled temp modules from leaking if the process dies between write and delete.
process.on("exit", () => {
  for (const compiler of ["tsc", "esbuild"]) rmSync(new URL(`./support/interop-tmp-${process.pid}-${compiler}.mjs`, import.meta.url), { force: true });
});
