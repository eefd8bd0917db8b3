// Rust std's Mutex tests (library/std/tests/sync/mutex.rs, formerly library/std/src/sync/poison/mutex/tests.rs),
// ported test by test to the names of DESIGN.md §1 and §1b. A `thread::spawn` is a `spawn` (a real worker), an
// `Arc<Mutex<_>>` is a Mutex passed in spawn's args, a `channel` used to wait for threads is `join()`, a panic is a
// thrown Error, `catch_unwind` is try/catch, and `drop(guard)` is `unlock()` or the end of a `using` block. Only the
// poisoning flavour applies (DESIGN's Mutex poisons). What cannot apply is a `test.skip` that says why.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Condvar,
  DeadlockError,
  Mutex,
  MutexGuard,
  PoisonError,
  ThreadError,
  array,
  i32,
  json,
  spawn,
  string,
  struct,
  type Layout,
} from "threadsafe";
import { flags, hasSyncWaiter, macrotaskTurn, probe, signal, until } from "./support/contract-helpers.js";

/** DESIGN §1b: Rust's value accessors (`get_cloned` → `get`, `set`, `replace`). Typed here until the package has them. */
type WithAccessors<T> = Mutex<T> & {
  get(): unknown;
  set(value: unknown): void;
  replace(value: unknown): unknown;
};
function accessors<T>(m: Mutex<T>): WithAccessors<T> {
  return m as WithAccessors<T>;
}

/** Rust's `new_poisoned_mutex`: a mutex whose critical section threw (Rust: panicked while the guard was alive). */
function newPoisonedMutex<T>(layout: Layout<T>, value: unknown, name: string): Mutex<T> {
  const m = new Mutex(layout, value as never, { name });
  assert.throws(
    () => m.with(() => { throw new Error("test panic to poison mutex"); }),
    (e: unknown) => e instanceof Error && e.message === "test panic to poison mutex",
  );
  assert.equal(m.isPoisoned(), true);
  return m;
}

/** Asserts that `fn` throws a PoisonError, saying what it did otherwise. */
function throwsPoison(fn: () => unknown, label: string): void {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) assert.fail(`${label}: expected PoisonError, returned ${JSON.stringify(returned)}`);
  assert.ok(thrown instanceof PoisonError, `${label}: expected PoisonError, got ${(thrown as Error)?.name}: ${(thrown as Error)?.message}`);
  assert.equal(thrown.name, "PoisonError");
}

/** Rust's `NonCopy(i32)` and `NonCopyNeedsDrop(i32)` have no JS counterpart; these layouts stand in for "a T". */
const valueKinds: ReadonlyArray<{ label: string; layout: Layout<any>; init: unknown; next: unknown }> = [
  { label: "i32", layout: i32, init: 10, next: 20 },
  { label: "struct", layout: struct({ n: i32 }), init: { n: 10 }, next: { n: 20 } },
  { label: "string", layout: string(16), init: "ten", next: "twenty" },
  { label: "json", layout: json(64), init: { n: [10] }, next: { n: [20] } },
];

/** A plain copy of whatever a guard's value is (a live view for struct/array layouts). */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v)) as unknown;
}

// ## Nonpoison & Poison tests (the poison flavour)

test("smoke: lock, drop, lock, drop", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 0); // Rust: Mutex::new(()); there is no unit layout
  {
    using _g = m.lock();
  }
  {
    using _g = m.lock();
  }
  const g = m.lock();
  g.unlock();
  m.lock().unlock();
});

test("lots_and_lots: 2×K threads × J increments through lock() give exactly J·K·2", { timeout: 60_000 }, async () => {
  const J = 1000;
  const K = 3;
  const m = new Mutex(i32, 0, { name: "lots_and_lots" });
  const inc = (m: Mutex<number>, j: number) => {
    for (let i = 0; i < j; i++) {
      const g = m.lock();
      g.value = g.value + 1;
      g.unlock();
    }
  };
  const handles = [];
  for (let k = 0; k < K; k++) {
    handles.push(spawn(inc, [m, J], { name: `lots-a${k}` }));
    handles.push(spawn(inc, [m, J], { name: `lots-b${k}` }));
  }
  await Promise.all(handles.map((h) => h.join())); // Rust waits on a channel; join is the same rendezvous
  const g = m.lock();
  assert.equal(g.value, J * K * 2);
  g.unlock();
});

test("try_lock: tryLock() on a free mutex gives a guard that writes", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 1);
  const g = m.tryLock();
  assert.ok(g instanceof MutexGuard);
  g.value = 0;
  g.unlock();
  assert.equal(m.with((x) => x.value), 0);
});

test.skip("test_needs_drop: n/a — JS values have no Drop glue; there is nothing to ask mem::needs_drop about");

test.skip("test_into_inner: n/a — DESIGN's Mutex has no intoInner(): JS has no move semantics to consume a mutex");

test.skip("test_into_inner_drop: n/a — no into_inner and no Drop: a layout value is copied out, never dropped");

test.skip("test_get_mut: n/a — DESIGN has no getMut(): a &mut borrow (exclusivity without locking) cannot be proven in JS");

test("test_get_cloned: get() returns a plain copy of the value", { timeout: 10_000 }, () => {
  for (const kind of valueKinds) {
    const m = accessors(new Mutex(kind.layout, kind.init as never, { name: `get_cloned-${kind.label}` }));
    assert.deepEqual(m.get(), kind.init, kind.label);
  }
  // "a plain copy": for a struct it is not a live view of shared memory.
  const m = accessors(new Mutex(struct({ n: i32 }), { n: 10 }));
  const copy = m.get() as { n: number };
  assert.deepEqual(copy, { n: 10 });
  copy.n = 99; // writes the copy only
  assert.equal(m.with((g) => g.value.n), 10);
  m.with((g) => { g.value.n = 11; });
  assert.equal(copy.n, 99, "the copy does not follow later writes");
  assert.equal(m.isPoisoned(), false);
  assert.notEqual(m.tryLock(), undefined, "get() released the lock");
});

test("test_set: set(v) writes the value; lock() sees it", { timeout: 10_000 }, () => {
  for (const kind of valueKinds) {
    const m = accessors(new Mutex(kind.layout, kind.init as never, { name: `set-${kind.label}` }));
    assert.deepEqual(m.with((g) => plain(g.value)), kind.init, kind.label);
    assert.equal(m.set(kind.next), undefined, `${kind.label}: set returns nothing`);
    const g = m.lock();
    assert.deepEqual(plain(g.value), kind.next, kind.label);
    g.unlock();
  }
});

test.skip("test_set_drop: n/a — the value that set() replaces is bytes in shared memory; there is no Drop to count");

test("test_replace: replace(v) returns the previous value as a plain copy and writes v", { timeout: 10_000 }, () => {
  for (const kind of valueKinds) {
    const m = accessors(new Mutex(kind.layout, kind.init as never, { name: `replace-${kind.label}` }));
    assert.deepEqual(m.with((g) => plain(g.value)), kind.init, kind.label);
    const previous = m.replace(kind.next);
    assert.deepEqual(previous, kind.init, kind.label);
    const g = m.lock();
    assert.deepEqual(plain(g.value), kind.next, kind.label);
    g.unlock();
    if (kind.label === "struct") {
      // The previous value is a copy, not a live view that now shows the new value.
      assert.deepEqual(previous, { n: 10 });
    }
  }
});

test("test_mutex_arc_nested: a thread locks an outer mutex, then the inner one it guards access to, and reads 1", { timeout: 30_000 }, async () => {
  // Rust nests Arc<Mutex<i32>> inside a Mutex; a layout holds data, not mutexes, so the inner mutex travels beside
  // the outer one in a nested argument and is locked while the outer guard is held.
  const inner = new Mutex(i32, 1, { name: "nested-inner" });
  const outer = new Mutex(json(64), { note: "guards inner" }, { name: "nested-outer" });
  const h = spawn(
    (arg: { outer: Mutex<unknown>; inner: Mutex<number> }) => {
      const lock = arg.outer.lock();
      const lock2 = arg.inner.lock();
      const seen = lock2.value;
      lock2.unlock();
      lock.unlock();
      return seen;
    },
    [{ outer, inner }],
  );
  assert.equal(await h.join(), 1);
});

test("test_mutex_unsized: an array layout (Rust's Mutex<[i32]>) written through the guard", { timeout: 10_000 }, () => {
  const m = new Mutex(array(i32, 3), [1, 2, 3]);
  {
    using g = m.lock();
    const b = g.value;
    b[0] = 4;
    b[2] = 5;
  }
  const g = m.lock();
  assert.deepEqual(Array.from(g.value), [4, 2, 5]);
  g.unlock();
});

test.skip("test_mapping_mapped_guard: n/a — DESIGN has no MutexGuard.map / MappedMutexGuard (Rust: unstable mapped_lock_guards)");

test("test_panics: three critical sections that throw, each in its own task: the first poisons, the next two get PoisonError", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 42, { name: "test_panics" });
  let ran = 0;
  assert.throws(
    () => m.with(() => { ran++; throw new Error("test panic with mutex once"); }),
    (e: unknown) => e instanceof Error && !(e instanceof PoisonError) && e.message === "test panic with mutex once",
  );
  assert.equal(m.isPoisoned(), true);
  // Rust drops the PoisonError (and its guard) at the end of catch_unwind; in JS an unclaimed PoisonError's guard is
  // released when the task that raised it ends (DESIGN §1b), so each attempt runs in a task of its own.
  await macrotaskTurn();
  assert.throws(
    () => m.with(() => { ran++; throw new Error("test panic with mutex twice"); }),
    (e: unknown) => e instanceof PoisonError,
  );
  await macrotaskTurn();
  assert.throws(
    () => m.with(() => { ran++; throw new Error("test panic with mutex thrice"); }),
    (e: unknown) => e instanceof PoisonError,
  );
  assert.equal(ran, 1, "with() on a poisoned mutex throws before running fn (Rust: maybe_unwrap panics on the lock)");
  await macrotaskTurn();
  const seen = await probe(m);
  assert.equal(seen.state, "poisoned", `the unclaimed guards were released: ${JSON.stringify(seen)}`);
  assert.equal(seen.value, 42);
});

test("test_mutex_arc_access_in_unwind: a thread that throws updates the mutex on its way out (finally); join rejects; the value is 2", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 1, { name: "access_in_unwind" });
  const h = spawn(
    (m: Mutex<number>) => {
      try {
        throw new Error("panic!()");
      } finally {
        // Rust: the Unwinder's Drop runs during the unwind and locks the mutex.
        const g = m.lock();
        g.value = g.value + 1;
        g.unlock();
      }
    },
    [m],
    { name: "unwinder" },
  );
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError && /panic!\(\)/.test(e.message));
  const lock = m.lock();
  assert.equal(lock.value, 2);
  lock.unlock();
  assert.equal(m.isPoisoned(), false, "the lock was not held when the thread threw");
});

// ## Poison tests

test.skip("test_into_inner_poison: n/a — DESIGN's Mutex has no intoInner() (no move semantics)");

test("test_get_cloned_poison: get() on a poisoned mutex throws PoisonError; nothing stays locked once the task ends", { timeout: 30_000 }, async () => {
  const m = accessors(newPoisonedMutex(i32, 10, "get_cloned_poison"));
  throwsPoison(() => m.get(), "get()");
  assert.equal(m.isPoisoned(), true);
  await macrotaskTurn();
  const seen = await probe(m);
  assert.deepEqual({ state: seen.state, value: seen.value }, { state: "poisoned", value: 10 });
});

test.skip("test_get_mut_poison: n/a — DESIGN has no getMut()");

test("test_set_poison: set(v) on a poisoned mutex throws PoisonError and does not write v", { timeout: 30_000 }, async () => {
  for (const kind of valueKinds) {
    const m = accessors(newPoisonedMutex(kind.layout, kind.init, `set_poison-${kind.label}`));
    throwsPoison(() => m.set(kind.next), `set() ${kind.label}`);
    await macrotaskTurn();
    // Rust: m.into_inner().unwrap_err().into_inner() == init()
    const seen = await probe(m);
    assert.deepEqual({ state: seen.state, value: seen.value }, { state: "poisoned", value: kind.init }, kind.label);
  }
});

test("test_replace_poison: replace(v) on a poisoned mutex throws PoisonError and does not write v", { timeout: 30_000 }, async () => {
  for (const kind of valueKinds) {
    const m = accessors(newPoisonedMutex(kind.layout, kind.init, `replace_poison-${kind.label}`));
    throwsPoison(() => m.replace(kind.next), `replace() ${kind.label}`);
    await macrotaskTurn();
    const seen = await probe(m);
    assert.deepEqual({ state: seen.state, value: seen.value }, { state: "poisoned", value: kind.init }, kind.label);
  }
});

test("test_mutex_arc_poison: a thread that fails an assertion while holding the guard poisons the mutex", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 1, { name: "arc_poison" });
  assert.equal(m.isPoisoned(), false);
  const h = spawn(
    (m: Mutex<number>) => {
      const lock = m.lock();
      if (lock.value !== 2) throw new Error("deliberate assertion failure to poison the mutex");
    },
    [m],
    { name: "arc-poisoner" },
  );
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError); // Rust ignores the join result
  assert.throws(() => m.lock({ timeout: 10_000 }), (e: unknown) => {
    assert.ok(e instanceof PoisonError, `got ${(e as Error).name}`);
    (e.intoInner() as MutexGuard<number>).unlock();
    return true;
  });
  assert.equal(m.isPoisoned(), true);
});

test("test_mutex_arc_poison (with): a thread whose with() callback fails an assertion poisons the mutex", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 1, { name: "arc_poison_with" });
  const h = spawn(
    (m: Mutex<number>) => {
      m.with((lock) => {
        if (lock.value !== 2) throw new Error("deliberate assertion failure to poison the mutex");
      });
    },
    [m],
  );
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError);
  assert.throws(() => m.lock({ timeout: 10_000 }), (e: unknown) => {
    assert.ok(e instanceof PoisonError, `got ${(e as Error).name}`);
    (e.intoInner() as MutexGuard<number>).unlock();
    return true;
  });
  assert.equal(m.isPoisoned(), true);
});

test("test_mutex_arc_poison_mapped: the same through a struct field view (the JS form of a mapped guard)", { timeout: 30_000 }, async () => {
  const m = new Mutex(struct({ val: i32 }), { val: 1 }, { name: "arc_poison_mapped" });
  assert.equal(m.isPoisoned(), false);
  const h = spawn(
    (m: Mutex<{ val: number }>) => {
      const lock = m.lock();
      const mapped = lock.value; // MutexGuard::map(lock, |val| val)
      if (mapped.val !== 2) throw new Error("deliberate assertion failure to poison the mutex");
    },
    [m],
  );
  await assert.rejects(h.join(), (e: unknown) => e instanceof ThreadError);
  assert.throws(() => m.lock({ timeout: 10_000 }), (e: unknown) => {
    assert.ok(e instanceof PoisonError, `got ${(e as Error).name}`);
    (e.intoInner() as MutexGuard<{ val: number }>).unlock();
    return true;
  });
  assert.equal(m.isPoisoned(), true);
});

test.skip("panic_while_mapping_unlocked_poison: n/a — no MutexGuard.map/filter_map whose closure could throw (the with() case is test_panics)");

test("test_mutex_with_mut: with(fn) runs fn under the lock and returns its result", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 2);
  const result = m.with((value) => {
    value.value += 3;
    return value.value + 5;
  });
  assert.equal(m.with((g) => g.value), 5);
  assert.equal(result, 10);
});

test.skip("test_mutex_guard_unlocked: n/a — nonpoison MutexGuard::unlocked (temporarily release inside a guard's scope) is not in DESIGN");

test("test_mutex_arc_condvar: a thread sets the flag under the lock and notifies; the waiter (the main thread, blocking) sees it", { timeout: 60_000 }, async () => {
  const lock = new Mutex(i32, 0, { name: "arc-condvar" });
  const cvar = new Condvar({ name: "arc-condvar-cv" });
  const f = flags();
  const t = spawn(
    (lock: Mutex<number>, cvar: Condvar, f: Int32Array) => {
      while (Atomics.load(f, 0) === 0) Atomics.wait(f, 0, 0); // rx.recv(): until the parent holds the lock
      const g = lock.lock();
      g.value = 1;
      cvar.notifyOne();
      g.unlock();
    },
    [lock, cvar, f],
    { name: "arc-condvar-setter" },
  );
  const g = lock.lock();
  signal(f, 0); // tx.send(())
  assert.equal(g.value, 0);
  let wakes = 0;
  while (g.value === 0) {
    assert.equal(cvar.wait(g), true, "an untimed wait returns true");
    wakes += 1;
  }
  assert.equal(g.value, 1);
  assert.ok(wakes >= 1);
  g.unlock();
  await t.join();
});

test("test_arc_condvar_poison: the notifier panics holding the lock; the waiter's wait throws PoisonError on re-acquire", { timeout: 60_000 }, async () => {
  const lock = new Mutex(i32, 1, { name: "arc-condvar-poison" });
  const cvar = new Condvar({ name: "arc-condvar-poison-cv" });
  const f = flags();
  const t = spawn(
    (lock: Mutex<number>, cvar: Condvar, f: Int32Array) => {
      while (Atomics.load(f, 0) === 0) Atomics.wait(f, 0, 0);
      const g = lock.lock();
      cvar.notifyOne();
      void g;
      throw new Error("the parent should fail when it wakes up"); // panic!() with the guard alive
    },
    [lock, cvar, f],
    { name: "arc-condvar-poisoner" },
  );
  const g = lock.lock();
  signal(f, 0);
  let poisoned: PoisonError<MutexGuard<number>> | undefined;
  while (g.value === 1) {
    try {
      cvar.wait(g);
      assert.equal(g.value, 1);
    } catch (error) {
      assert.ok(error instanceof PoisonError, `expected PoisonError, got ${String(error)}`);
      poisoned = error as PoisonError<MutexGuard<number>>;
      break;
    }
  }
  assert.ok(poisoned !== undefined, "the wait ended in PoisonError");
  assert.equal(poisoned.intoInner(), g, "intoInner() is the same guard, held again");
  assert.equal(g.value, 1);
  g.unlock();
  await assert.rejects(t.join(), ThreadError);
});

// ## The accessors across real threads (JS additions that check what Rust gets from the type system)

test("get() waits for a lock held by another thread (it locks, it does not read torn), then copies", { timeout: 30_000 }, async () => {
  const m = new Mutex(struct({ a: i32, b: i32 }), { a: 1, b: 1 }, { name: "get-waits" });
  const f = flags();
  const holder = spawn(
    (m: Mutex<{ a: number; b: number }>, f: Int32Array) => {
      const g = m.lock();
      g.value.a = 2; // half-updated: b still 1
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 20_000); // until the main thread has seen the getter blocked
      g.value.b = 2;
      g.unlock();
    },
    [m, f],
    { name: "get-holder" },
  );
  await until("the holder holds the lock", () => Atomics.load(f, 0) === 1);
  const getter = spawn(
    async (m: Mutex<unknown>) => {
      const got = (m as unknown as { get(): unknown }).get();
      return got;
    },
    [m],
    { name: "getter" },
  );
  let ended = false;
  const outcome = getter.join().then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  ).finally(() => { ended = true; });
  try {
    await until("the getter is blocked on the lock (or has ended)", () => ended || hasSyncWaiter("get-waits"));
  } finally {
    signal(f, 1);
  }
  await holder.join();
  const { value, error } = await outcome;
  if (error !== undefined) throw error;
  assert.deepEqual(value, { a: 2, b: 2 });
});

test("replace() is one atomic swap: 4 threads × 500 replaces; every value is seen exactly once", { timeout: 60_000 }, async () => {
  const m = accessors(new Mutex(i32, -1, { name: "replace-swap" }));
  const handles = [];
  for (let w = 0; w < 4; w++) {
    handles.push(
      spawn(
        (m: Mutex<number>, w: number, n: number) => {
          const r = m as unknown as { replace(v: number): number };
          const previous: number[] = [];
          for (let i = 0; i < n; i++) previous.push(r.replace(w * n + i));
          return previous;
        },
        [m as Mutex<number>, w, 500],
      ),
    );
  }
  const seen = (await Promise.all(handles.map((h) => h.join()))).flat();
  seen.push(m.get() as number);
  seen.sort((a, b) => a - b);
  const expected = [-1, ...Array.from({ length: 2000 }, (_, i) => i)];
  assert.deepEqual(seen, expected);
});

test("set() and get() by several threads interleave with lock(): exact total", { timeout: 60_000 }, async () => {
  // Two workers increment x and y together under lock(); a third calls get() all the while and counts copies where
  // x !== y (a torn read: get() did not lock). Then set() writes a whole struct.
  const m = new Mutex(struct({ x: i32, y: i32 }), { x: 0, y: 0 }, { name: "set-get-mixed" });
  const writers = [];
  for (let w = 0; w < 2; w++) {
    writers.push(
      spawn(
        (m: Mutex<{ x: number; y: number }>, n: number) => {
          for (let i = 0; i < n; i++) {
            const g = m.lock();
            g.value.x = g.value.x + 1;
            g.value.y = g.value.y + 1; // x === y whenever the lock is free
            g.unlock();
          }
        },
        [m, 5000],
      ),
    );
  }
  const reader = spawn(
    (m: Mutex<unknown>, n: number) => {
      const a = m as unknown as { get(): { x: number; y: number } };
      let torn = 0;
      for (let i = 0; i < n; i++) {
        const v = a.get();
        if (v.x !== v.y) torn++;
      }
      return torn;
    },
    [m, 5000],
  );
  await Promise.all(writers.map((h) => h.join()));
  assert.equal(await reader.join(), 0);
  assert.deepEqual(accessors(m).get(), { x: 10_000, y: 10_000 });
  accessors(m).set({ x: 1, y: 2 });
  assert.deepEqual(m.with((g) => plain(g.value)), { x: 1, y: 2 });
});

test("get()/set()/replace() while this thread holds the guard throw DeadlockError at once (they lock, like lock())", { timeout: 10_000 }, () => {
  const m = accessors(new Mutex(i32, 1, { name: "accessor-relock" }));
  const g = m.lock();
  try {
    assert.throws(() => m.get(), (e: unknown) => e instanceof DeadlockError);
    assert.throws(() => m.set(2), (e: unknown) => e instanceof DeadlockError);
    assert.throws(() => m.replace(3), (e: unknown) => e instanceof DeadlockError);
    assert.equal(g.value, 1);
  } finally {
    g.unlock();
  }
  assert.equal(m.get(), 1);
});
