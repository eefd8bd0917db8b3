// The browser probe: one function per part, each with an exact oracle. scripts/test-browser.mjs opens index.html
// in a fresh page for each part and calls window.runPart(name); a part resolves with a short detail or throws.
// Waits poll shared state (a worker's flag, a lock's state), never a duration; `until` is only a hang guard.
import {
  DeadlockError,
  LockTimeoutError,
  Mutex,
  PoisonError,
  ThreadError,
  array,
  bool,
  configure,
  f64,
  i32,
  share,
  snapshot,
  spawn,
  string,
  struct,
  watch,
} from "../../dist/browser/index.js";

const here = (path) => new URL(path, import.meta.url);

async function until(condition, what, ms = 30_000) {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function rejectionOf(promise, what) {
  let value;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: expected a rejection, got ${JSON.stringify(value)}`);
}

function thrownBy(fn, what) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: expected a throw`);
}

const describeError = (e) => `${e?.name}: ${e?.message}`;

function nextMessage(worker) {
  return new Promise((resolve) => worker.addEventListener("message", (event) => resolve(event.data), { once: true }));
}

/** A raw Web Worker holding `mutex` (holder-worker.js); flags[0] turns 1 once it holds, flags[1] = 1 releases. */
async function rawHolder(mutex, { watched = false } = {}) {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(here("./holder-worker.js"), { type: "module" });
  if (watched) watch(worker);
  worker.postMessage(share({ mutex, flags }));
  await until(() => Atomics.load(flags, 0) === 1, "the raw worker to hold the lock");
  const released = nextMessage(worker);
  const release = async () => {
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    same(await released, "released", "the holder's last message");
    worker.terminate();
  };
  return { worker, release };
}

const parts = {
  async mutex() {
    const m = new Mutex(i32, 5);
    const guard = m.lock();
    guard.value = 6;
    guard.unlock();
    same(m.with((g) => g.value), 6, "m");
    return "m = 6";
  },

  async struct() {
    const Point = struct({ x: f64, ok: bool, tags: array(i32, 3), name: string(16) });
    const m = new Mutex(Point, { x: 1.5, ok: true, tags: [1, 2, 3], name: "héllo" });
    m.with((g) => {
      g.value.x = 2.5;
      g.value.tags[1] = 20;
      g.value.name = "wörld";
    });
    const copy = m.with((g) => snapshot(g.value));
    same(copy, { x: 2.5, ok: true, tags: [1, 20, 3], name: "wörld" }, "snapshot");
    return JSON.stringify(copy);
  },

  async tryLock() {
    const m = new Mutex(i32, 0);
    const holder = await rawHolder(m);
    same(m.tryLock(), undefined, "tryLock while a worker holds it");
    await holder.release();
    const guard = m.tryLock();
    check(guard !== undefined, "tryLock after the release gave undefined");
    same(guard.value, 42, "the value the worker wrote");
    guard.unlock();
    return "undefined while held, a guard after";
  },

  async lockAsync() {
    const m = new Mutex(i32, 0);
    const holder = await rawHolder(m);
    const timedOut = await rejectionOf(m.lockAsync({ timeout: 50 }), "lockAsync({ timeout: 50 })");
    check(timedOut instanceof LockTimeoutError, `expected LockTimeoutError, got ${describeError(timedOut)}`);
    const pending = m.lockAsync();
    await holder.release();
    const guard = await pending;
    same(guard.value, 42, "the value after the contended lockAsync");
    guard.unlock();
    return "LockTimeoutError, then the lock";
  },

  async lockMainBlocked() {
    const m = new Mutex(i32, 0);
    const holder = await rawHolder(m);
    const error = thrownBy(() => m.lock(), "lock() on the main thread while a worker holds it");
    check(
      error.message.startsWith("threadsafe: this call would block the thread, and blocking is not allowed here (a browser's main thread)"),
      `unexpected error: ${describeError(error)}`,
    );
    await holder.release();
    return error.message.slice(0, 60);
  },

  async lockMainSelf() {
    const m = new Mutex(i32, 0);
    const guard = m.lock();
    const error = thrownBy(() => m.lock(), "a second lock() of a held mutex");
    guard.unlock();
    check(error instanceof DeadlockError, `expected DeadlockError, got ${describeError(error)}`);
    same(error.kind, "self", "DeadlockError.kind");
    return "DeadlockError kind=self";
  },

  async spawn10() {
    const counter = new Mutex(i32, 0);
    const handles = [];
    for (let i = 0; i < 10; i++) handles.push(spawn((counter) => counter.with((num) => { num.value += 1; }), [counter]));
    for (const handle of handles) await handle.join();
    same(counter.with((g) => g.value), 10, "counter");
    return "Result: 10";
  },

  async spawnInWorker() {
    const counter = new Mutex(i32, 0);
    const result = await spawn(async (counter) => {
      const { spawn } = await import("threadsafe");
      const handles = [];
      for (let i = 0; i < 10; i++) handles.push(spawn((counter) => counter.with((num) => { num.value += 1; }), [counter]));
      for (const handle of handles) await handle.join();
      return counter.with((num) => num.value);
    }, [counter]).join();
    same(result, 10, "the nested threads' count");
    return "Result: 10 (from a thread)";
  },

  async deadlock() {
    const a = new Mutex(i32, 0, { name: "A" });
    const b = new Mutex(i32, 0, { name: "B" });
    const ready = new Int32Array(new SharedArrayBuffer(4));
    const body = async (first, second, ready) => {
      const { DeadlockError } = await import("threadsafe");
      const held = first.lock();
      Atomics.add(ready, 0, 1);
      Atomics.notify(ready, 0);
      for (let seen = Atomics.load(ready, 0); seen < 2; seen = Atomics.load(ready, 0)) Atomics.wait(ready, 0, seen, 50);
      try {
        second.lock().unlock();
        return "done";
      } catch (error) {
        if (error instanceof DeadlockError) return "deadlock";
        throw error;
      } finally {
        held.unlock();
      }
    };
    const results = await Promise.all([spawn(body, [a, b, ready]).join(), spawn(body, [b, a, ready]).join()]);
    same(results.sort(), ["deadlock", "done"], "the two threads' results");
    return "one DeadlockError, one done";
  },

  async threadError() {
    const error = await rejectionOf(spawn(() => { throw new Error("boom"); }).join(), "join() of a thread that threw");
    check(error instanceof ThreadError, `expected ThreadError, got ${describeError(error)}`);
    same(error.how, "threw", "ThreadError.how");
    check(error.message.includes("threw Error: boom"), `message: ${error.message}`);
    return "ThreadError how=threw";
  },

  async poison() {
    const m = new Mutex(i32, 0);
    const flags = new Int32Array(new SharedArrayBuffer(4));
    // The holder waits in its event loop, where a browser thread obeys terminate() (a request there: Chromium stops
    // a terminated worker only ~2 s later, and says nothing when it has). A holder busy in its own loop that never
    // calls the library keeps its lock: README, "Thread ends on each runtime".
    const handle = spawn(async (m, flags) => {
      m.lock();
      Atomics.store(flags, 0, 1);
      await new Promise(() => {}); // holds the lock until terminated
    }, [m, flags]);
    await until(() => Atomics.load(flags, 0) === 1, "the thread to hold the lock");
    await handle.terminate();
    const error = await rejectionOf(m.lockAsync(), "lockAsync() of the terminated holder's lock");
    check(error instanceof PoisonError, `expected PoisonError, got ${describeError(error)}`);
    const joined = await rejectionOf(handle.join(), "join() of the terminated thread");
    check(joined instanceof ThreadError, `expected ThreadError, got ${describeError(joined)}`);
    same(joined.how, "terminated", "ThreadError.how");
    return "PoisonError; join: terminated";
  },

  async busyHolder() {
    // A holder busy in its own code never reaches the library, so it cannot obey terminate()'s request: Chromium stops
    // it some time after Worker.terminate() and says nothing, but the Web Lock it held for its life is released then,
    // and that is when the library reaps it (never before: a thread declared dead must not run again).
    const m = new Mutex(i32, 0);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const handle = spawn((m, flags) => {
      const guard = m.lock();
      guard.value = 1;
      Atomics.store(flags, 0, 1);
      for (;;) Atomics.add(flags, 1, 1); // busy until stopped: never calls the library again
    }, [m, flags]);
    await until(() => Atomics.load(flags, 0) === 1, "the thread to hold the lock");
    await handle.terminate();
    const stoppedAt = Atomics.load(flags, 1);
    const error = await rejectionOf(m.lockAsync(), "lockAsync() of the stopped holder's lock");
    check(error instanceof PoisonError, `expected PoisonError, got ${describeError(error)}`);
    same(error.intoInner().value, 1, "the value the holder wrote");
    const joined = await rejectionOf(handle.join(), "join() of the terminated thread");
    check(joined instanceof ThreadError, `expected ThreadError, got ${describeError(joined)}`);
    same(joined.how, "terminated", "ThreadError.how");
    // Reaped only once it could no longer run: its counter has not moved since.
    await new Promise((resolve) => setTimeout(resolve, 50));
    same(Atomics.load(flags, 1), stoppedAt, "the busy thread's counter after it was reaped");
    return "stopped, then PoisonError; join: terminated";
  },

  async terminateAtStart() {
    // terminate() right after spawn(): whether the worker has started its thread yet or not, terminate() resolves,
    // join() says terminated, and the thread's function never ran to its end.
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const handles = [];
    for (let i = 0; i < 3; i++) handles.push(spawn((flags) => { for (;;) Atomics.add(flags, 0, 1); }, [flags]));
    await Promise.all(handles.map((h) => h.terminate()));
    for (const h of handles) {
      const joined = await rejectionOf(h.join(), "join() of a thread terminated at its start");
      check(joined instanceof ThreadError, `expected ThreadError, got ${describeError(joined)}`);
      same(joined.how, "terminated", "ThreadError.how");
    }
    const after = Atomics.load(flags, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    same(Atomics.load(flags, 0), after, "the counter after every thread was reaped");
    return "3 × terminated at start";
  },

  async shareWeb() {
    const counter = new Mutex(i32, 0);
    const workers = [];
    for (let i = 0; i < 4; i++) {
      const worker = new Worker(here("./counter-worker.js"), { type: "module" });
      workers.push({ worker, done: nextMessage(worker) });
      worker.postMessage(share({ counter }));
    }
    for (let i = 0; i < 1000; i++) {
      const guard = await counter.lockAsync();
      guard.value += 1;
      guard.unlock();
    }
    for (const { worker, done } of workers) {
      same(await done, "done", "a worker's last message");
      worker.terminate();
    }
    same(counter.with((g) => g.value), 5000, "counter");
    return "4 workers × 1000 + 1000 = 5000";
  },

  async watchWeb() {
    const m = new Mutex(i32, 0);
    const { worker } = await rawHolder(m, { watched: true });
    worker.terminate();
    const error = await rejectionOf(m.lockAsync(), "lockAsync() of the terminated worker's lock");
    check(error instanceof PoisonError, `expected PoisonError, got ${describeError(error)}`);
    return "PoisonError after terminate()";
  },

  async spawnModule() {
    const m = new Mutex(i32, 0);
    const result = await spawn(here("./spawn-module.js"), [m]).join();
    same(result, "module ran", "join()");
    same(m.with((g) => g.value), 5, "the value the module stored");
    // An absolute path is a path on the page's server.
    m.with((g) => { g.value = 0; });
    same(await spawn(here("./spawn-module.js").pathname, [m]).join(), "module ran", "join() of spawn(path)");
    same(m.with((g) => g.value), 5, "the value the module stored (spawn(path))");
    return "module ran, stored 5 (URL and path)";
  },

  async importInThread() {
    const m = new Mutex(i32, 0);
    const result = await spawn(async (m) => {
      const lib = await import("threadsafe");
      return [m instanceof lib.Mutex, lib.currentThread().name];
    }, [m], { name: "importer" }).join();
    same(result, [true, "importer"], "join()");
    return "import(\"threadsafe\") gave the thread's library";
  },

  async workerLoadError() {
    configure({ workerFiles: "/nowhere/" });
    const error = await rejectionOf(spawn(() => 1).join(), "join() of a thread whose code is not served");
    configure({ workerFiles: null });
    check(error instanceof ThreadError, `expected ThreadError, got ${describeError(error)}`);
    const url = new URL("/nowhere/worker.js", location.href).href;
    check(error.message.includes(`could not be loaded from ${url}`), `the message names no URL: ${error.message}`);
    check(error.message.includes("configure({ workerFiles"), `the message says not what to do: ${error.message}`);
    return `names ${url}`;
  },

  async notIsolated() {
    same(globalThis.crossOriginIsolated, false, "crossOriginIsolated");
    const error = thrownBy(() => new Mutex(i32, 0), "new Mutex on a page without cross-origin isolation");
    for (const header of ["Cross-Origin-Opener-Policy: same-origin", "Cross-Origin-Embedder-Policy: require-corp"]) {
      check(error.message.includes(header), `the error does not name "${header}": ${describeError(error)}`);
    }
    return "names both headers";
  },
};

globalThis.runPart = async (name) => {
  const part = parts[name];
  if (!part) throw new Error(`no part named ${name}`);
  return part();
};
globalThis.probeParts = Object.keys(parts);
globalThis.probeReady = true;
