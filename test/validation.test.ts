// Argument validation of every public function, constructor and method. Each rejected call must throw the right
// error class with a message that says what was wrong, and must leave shared memory as it was: the mutex still
// locks and unlocks, holds its old value, is not poisoned, and no lock record or thread slot is used up.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Mutex,
  MutexGuard,
  PoisonError,
  ThreadError,
  array,
  bool,
  bytes,
  currentThread,
  dumpLocks,
  f32,
  f64,
  i32,
  i64,
  json,
  receive,
  share,
  spawn,
  string,
  struct,
  u64,
  u8,
} from "threadsafe";

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** A rejected call: what to run, the exact error class, and a phrase the message must contain. */
interface Case {
  readonly name: string;
  readonly run: () => unknown;
  readonly error: ErrorClass;
  /** Phrases the message must contain (all of them). */
  readonly message: RegExp | readonly RegExp[];
}

/** Asserts `e` is exactly an instance of `Class` (a RangeError is not accepted where a TypeError is due). */
function checkError(label: string, e: unknown, Class: ErrorClass, message: RegExp | readonly RegExp[]): true {
  assert.ok(e instanceof Error, `${label}: threw a non-Error ${String(e)}`);
  assert.equal(Object.getPrototypeOf(e), Class.prototype, `${label}: expected ${Class.name}, got ${e.constructor.name}: ${e.message}`);
  assert.equal(e.name, Class.name, label);
  for (const phrase of Array.isArray(message) ? message : [message]) assert.match(e.message, phrase, label);
  return true;
}

function expectThrows(c: Case): void {
  let threw = false;
  let result: unknown;
  try {
    result = c.run();
  } catch (e) {
    threw = true;
    checkError(c.name, e, c.error, c.message);
  }
  assert.ok(threw, `${c.name}: did not throw (returned ${String(result)})`);
}

async function expectRejects(c: Case): Promise<void> {
  let promise: unknown;
  try {
    promise = c.run();
  } catch (e) {
    assert.fail(`${c.name}: threw synchronously instead of returning a rejected promise: ${(e as Error).message}`);
  }
  assert.ok(promise instanceof Promise, `${c.name}: did not return a promise`);
  await assert.rejects(promise, (e: unknown) => checkError(c.name, e, c.error, c.message));
}

/** The mutex is not poisoned, is free, holds `value`, and locks and unlocks in every way. */
async function assertIntact<T>(label: string, m: Mutex<T>, value: unknown, read: (g: MutexGuard<T>) => unknown = (g) => g.value): Promise<void> {
  assert.equal(m.isPoisoned(), false, `${label}: poisoned`);
  const g = m.tryLock();
  assert.ok(g instanceof MutexGuard, `${label}: the mutex was left locked`);
  assert.deepEqual(read(g), value, `${label}: the value changed`);
  g.unlock();
  const g2 = m.lock({ timeout: 1000 });
  assert.deepEqual(read(g2), value);
  g2.unlock();
  const g3 = await m.lockAsync({ timeout: 1000 });
  assert.deepEqual(read(g3), value);
  g3.unlock();
}

// ## new Mutex

test("new Mutex: a bad layout is a TypeError naming what a layout is", { timeout: 10_000 }, async () => {
  const witness = new Mutex(i32, 42, { name: "witness" });
  const before = witness.lockId;
  const bad: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a plain object", {}],
    ["a layout name", "i32"],
    ["a number", 4],
    ["a function", () => i32],
    ["a half layout", { size: 4, read() { return 0; } }],
  ];
  for (const [what, layout] of bad) {
    expectThrows({
      name: `new Mutex(${what}, 0)`,
      run: () => new Mutex(layout as never, 0),
      error: TypeError,
      message: /^threadsafe: new Mutex\(layout, initial\): layout must be a layout such as i32/,
    });
  }
  // Nothing was allocated for the rejected mutexes: the next lock id follows the witness's.
  const after = new Mutex(i32, 0);
  assert.equal(after.lockId, before + 1);
  await assertIntact("witness", witness, 42);
});

test("new Mutex: an initial value that does not fit its layout, for every layout family", { timeout: 10_000 }, async () => {
  const witness = new Mutex(i32, 42, { name: "witness" });
  const before = witness.lockId;
  const cyclic: Record<string, unknown> = {};
  cyclic["self"] = cyclic;
  const cases: Case[] = [
    // integers
    { name: "i32 1.5", run: () => new Mutex(i32, 1.5), error: RangeError, message: /^initial: 1\.5 is not an integer/ },
    { name: "i32 NaN", run: () => new Mutex(i32, Number.NaN), error: RangeError, message: /^initial: NaN is not an integer/ },
    { name: "i32 2**31", run: () => new Mutex(i32, 2 ** 31), error: RangeError, message: /out of range for i32/ },
    { name: "i32 string", run: () => new Mutex(i32, "1" as never), error: TypeError, message: /^initial: expected a number for i32, got string "1"/ },
    { name: "i32 missing", run: () => new (Mutex as unknown as new (l: unknown) => unknown)(i32), error: TypeError, message: /expected a number for i32, got undefined/ },
    { name: "u8 -1", run: () => new Mutex(u8, -1), error: RangeError, message: /-1 is out of range for u8 \(0 to 255\)/ },
    { name: "u8 256", run: () => new Mutex(u8, 256), error: RangeError, message: /256 is out of range for u8/ },
    // 64-bit integers
    { name: "i64 number", run: () => new Mutex(i64, 1 as never), error: TypeError, message: /expected a bigint for i64.*n suffix/ },
    { name: "i64 2n**63n", run: () => new Mutex(i64, 2n ** 63n), error: RangeError, message: /out of range for i64/ },
    { name: "u64 -1n", run: () => new Mutex(u64, -1n), error: RangeError, message: /-1n is out of range for u64/ },
    // floats and bool
    { name: "f64 string", run: () => new Mutex(f64, "x" as never), error: TypeError, message: /expected a number for f64/ },
    { name: "f64 bigint", run: () => new Mutex(f64, 1n as never), error: TypeError, message: /expected a number for f64, got bigint/ },
    { name: "f32 boolean", run: () => new Mutex(f32, true as never), error: TypeError, message: /expected a number for f32/ },
    { name: "bool 1", run: () => new Mutex(bool, 1 as never), error: TypeError, message: /expected a boolean for bool, got number 1/ },
    // string
    { name: "string too long", run: () => new Mutex(string(3), "abcd"), error: RangeError, message: /4 bytes of UTF-8, over the budget of string\(3\)/ },
    { name: "string multibyte", run: () => new Mutex(string(3), "éé"), error: RangeError, message: /"éé" is 4 bytes of UTF-8/ },
    { name: "string number", run: () => new Mutex(string(3), 5 as never), error: TypeError, message: /expected a string for string\(3\)/ },
    // bytes
    { name: "bytes short", run: () => new Mutex(bytes(4), new Uint8Array(3)), error: RangeError, message: /expected exactly 4 bytes for bytes\(4\), got 3/ },
    { name: "bytes array", run: () => new Mutex(bytes(4), [1, 2, 3, 4] as never), error: TypeError, message: /expected a Uint8Array of 4 bytes/ },
    // json
    { name: "json function", run: () => new Mutex(json(64), (() => 1) as never), error: TypeError, message: /has no JSON form/ },
    { name: "json undefined", run: () => new Mutex(json(64), undefined as never), error: TypeError, message: /undefined has no JSON form/ },
    { name: "json bigint", run: () => new Mutex(json(64), 1n as never), error: TypeError, message: /bigint 1n has no JSON form/ },
    { name: "json cyclic", run: () => new Mutex(json(64), cyclic as never), error: TypeError, message: /^initial\.self: cyclic reference/ },
    { name: "json too long", run: () => new Mutex(json(4), "hello"), error: RangeError, message: /JSON text is 7 bytes of UTF-8, over the budget of json\(4\)/ },
    // struct
    { name: "struct missing field", run: () => new Mutex(struct({ x: i32, y: i32 }), { x: 1 } as never), error: TypeError, message: /missing field "y"/ },
    { name: "struct unknown field", run: () => new Mutex(struct({ x: i32 }), { x: 1, z: 2 } as never), error: TypeError, message: /unknown field "z"/ },
    { name: "struct null", run: () => new Mutex(struct({ x: i32 }), null as never), error: TypeError, message: /expected an object with fields "x".*got null/ },
    { name: "struct bad field", run: () => new Mutex(struct({ x: i32 }), { x: "1" } as never), error: TypeError, message: /^initial\.x: expected a number for i32/ },
    { name: "struct nested", run: () => new Mutex(struct({ p: struct({ x: f64 }) }), { p: { x: "a" } } as never), error: TypeError, message: /^initial\.p\.x: / },
    // array
    { name: "array short", run: () => new Mutex(array(i32, 3), [1, 2]), error: RangeError, message: /expected exactly 3 elements for array\(i32, 3\), got 2/ },
    { name: "array bad element", run: () => new Mutex(array(i32, 3), [1, 2, 1.5]), error: RangeError, message: /^initial\[2\]: 1\.5 is not an integer/ },
    { name: "array not an array", run: () => new Mutex(array(i32, 3), 5 as never), error: TypeError, message: /expected an array of 3 elements/ },
  ];
  for (const c of cases) expectThrows(c);
  assert.equal(new Mutex(i32, 0).lockId, before + 1, "rejected mutexes used no lock record");
  await assertIntact("witness", witness, 42);
});

test("new Mutex: malformed options (name, level)", { timeout: 10_000 }, async () => {
  const witness = new Mutex(i32, 42, { name: "witness" });
  const before = witness.lockId;
  const cases: Case[] = [
    { name: "options null", run: () => new Mutex(i32, 0, null as never), error: TypeError, message: /options must be an object like \{ name: "accounts" \}, got null/ },
    { name: "options string", run: () => new Mutex(i32, 0, "name" as never), error: TypeError, message: /options must be an object/ },
    { name: "options number", run: () => new Mutex(i32, 0, 5 as never), error: TypeError, message: /options must be an object/ },
    { name: "name number", run: () => new Mutex(i32, 0, { name: 5 as never }), error: TypeError, message: /\{ name \}\): name must be a string, got 5/ },
    { name: "name null", run: () => new Mutex(i32, 0, { name: null as never }), error: TypeError, message: /name must be a string, got null/ },
    { name: "name too long", run: () => new Mutex(i32, 0, { name: "x".repeat(257) }), error: RangeError, message: /names are at most 256 UTF-8 bytes/ },
    { name: "name too long in UTF-8", run: () => new Mutex(i32, 0, { name: "é".repeat(129) }), error: RangeError, message: /names are at most 256 UTF-8 bytes/ },
    { name: "level string", run: () => new Mutex(i32, 0, { level: "1" as never }), error: TypeError, message: /\{ level \}\): level must be an integer, got "1"/ },
    { name: "level bigint", run: () => new Mutex(i32, 0, { level: 1n as never }), error: TypeError, message: /level must be an integer/ },
    { name: "level 1.5", run: () => new Mutex(i32, 0, { level: 1.5 }), error: RangeError, message: /level must be an integer from -2147483647 to 2147483647, got 1\.5/ },
    { name: "level NaN", run: () => new Mutex(i32, 0, { level: Number.NaN }), error: RangeError, message: /got NaN/ },
    { name: "level Infinity", run: () => new Mutex(i32, 0, { level: Infinity }), error: RangeError, message: /got Infinity/ },
    { name: "level 2**31", run: () => new Mutex(i32, 0, { level: 2 ** 31 }), error: RangeError, message: /got 2147483648/ },
    { name: "level -(2**31)", run: () => new Mutex(i32, 0, { level: -(2 ** 31) }), error: RangeError, message: /got -2147483648/ },
  ];
  for (const c of cases) expectThrows(c);
  assert.equal(new Mutex(i32, 0).lockId, before + 1, "rejected mutexes used no lock record");
  // The limits themselves are accepted.
  assert.equal(new Mutex(i32, 0, { name: "x".repeat(256) }).name, "x".repeat(256));
  assert.equal(new Mutex(i32, 0, { level: 2 ** 31 - 1 }).level, 2 ** 31 - 1);
  assert.equal(new Mutex(i32, 0, { level: -(2 ** 31) + 1 }).level, -(2 ** 31) + 1);
  assert.equal(new Mutex(i32, 0, {}).name.length > 0, true);
  await assertIntact("witness", witness, 42);
});

// ## lock / lockAsync / with / withAsync options

const badOptions: ReadonlyArray<{ what: string; options: unknown; error: ErrorClass; message: RegExp }> = [
  { what: "a number", options: 5, error: TypeError, message: /\(options\): options must be an object like \{ timeout: 100 \}, got 5/ },
  { what: "null", options: null, error: TypeError, message: /options must be an object.*got null/ },
  { what: "a string", options: "100", error: TypeError, message: /options must be an object.*got "100"/ },
  { what: "true", options: true, error: TypeError, message: /options must be an object/ },
  { what: "timeout -1", options: { timeout: -1 }, error: RangeError, message: /\{ timeout \}\): timeout must be 0 or more milliseconds.*got -1/ },
  { what: "timeout -Infinity", options: { timeout: -Infinity }, error: RangeError, message: /timeout must be 0 or more milliseconds.*got -Infinity/ },
  { what: "timeout NaN", options: { timeout: Number.NaN }, error: RangeError, message: /timeout must be 0 or more milliseconds.*got NaN/ },
  { what: "timeout string", options: { timeout: "10" }, error: TypeError, message: /timeout must be a number of milliseconds, got "10"/ },
  { what: "timeout bigint", options: { timeout: 10n }, error: TypeError, message: /timeout must be a number of milliseconds, got 10n/ },
  { what: "timeout null", options: { timeout: null }, error: TypeError, message: /timeout must be a number of milliseconds, got null/ },
];

const badSignals: ReadonlyArray<[string, unknown]> = [
  ["a plain object", {}],
  ["a string", "abort"],
  ["null", null],
  ["a number", 1],
  ["an EventTarget", new EventTarget()],
  ["an AbortController", new AbortController()],
];

const badFns: ReadonlyArray<[string, unknown]> = [
  ["undefined", undefined],
  ["null", null],
  ["a number", 5],
  ["a string", "g => g.value"],
  ["an object", { call() {} }],
];

test("lock() and with(): bad options throw at once, before waiting, and take nothing", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 42, { name: "opts" });
  let calls = 0;
  for (const { what, options, error, message } of badOptions) {
    expectThrows({ name: `lock(${what})`, run: () => m.lock(options as never), error, message: [/^threadsafe: lock\(/, message] });
    expectThrows({ name: `with(fn, ${what})`, run: () => m.with(() => calls++, options as never), error, message });
    await assertIntact(`after lock(${what})`, m, 42);
  }
  assert.equal(calls, 0, "with() ran its callback despite bad options");
  for (const [what, fn] of badFns) {
    expectThrows({ name: `with(${what})`, run: () => m.with(fn as never), error: TypeError, message: /^threadsafe: with\(fn\): fn must be a function/ });
  }
  // Validation comes first: while this thread holds the lock, bad options are a RangeError, not a DeadlockError.
  const g = m.lock();
  expectThrows({ name: "lock({ timeout: NaN }) while held", run: () => m.lock({ timeout: Number.NaN }), error: RangeError, message: /timeout must be 0 or more/ });
  expectThrows({ name: "with(5) while held", run: () => m.with(5 as never), error: TypeError, message: /fn must be a function/ });
  g.unlock();
  // The edges of what is allowed.
  for (const options of [undefined, {}, { timeout: undefined }, { timeout: 0 }, { timeout: -0 }, { timeout: 0.5 }, { timeout: Infinity }]) {
    const guard = m.lock(options);
    assert.equal(guard.value, 42);
    guard.unlock();
    assert.equal(m.with((x) => x.value, options), 42);
  }
  await assertIntact("after", m, 42);

  // An async callback given to with() is refused (its critical section would be cut in two); as documented, the
  // mutex is poisoned, and clearPoison() recovers it.
  const a = new Mutex(i32, 1, { name: "async-in-with" });
  expectThrows({ name: "with(async fn)", run: () => a.with(async () => 1), error: TypeError, message: /with\(fn\) got an async fn.*use "await mutex\.withAsync\(fn\)"/ });
  assert.equal(a.isPoisoned(), true);
  a.clearPoison();
  await assertIntact("after with(async fn)", a, 1);
});

test("lockAsync() and withAsync(): bad options, signals and callbacks reject (never throw), and take nothing", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 42, { name: "async-opts" });
  let calls = 0;
  for (const { what, options, error, message } of badOptions) {
    await expectRejects({ name: `lockAsync(${what})`, run: () => m.lockAsync(options as never), error, message: [/^threadsafe: lockAsync\(/, message] });
    await expectRejects({ name: `withAsync(fn, ${what})`, run: () => m.withAsync(() => calls++, options as never), error, message });
    await assertIntact(`after lockAsync(${what})`, m, 42);
  }
  for (const [what, signal] of badSignals) {
    const message = (method: string) => new RegExp(`^threadsafe: ${method}\\(\\{ signal \\}\\): signal must be an AbortSignal`);
    await expectRejects({ name: `lockAsync({ signal: ${what} })`, run: () => m.lockAsync({ signal: signal as never }), error: TypeError, message: message("lockAsync") });
    await expectRejects({ name: `withAsync(fn, { signal: ${what} })`, run: () => m.withAsync(() => calls++, { signal: signal as never }), error: TypeError, message: message("withAsync") });
    await assertIntact(`after signal ${what}`, m, 42);
  }
  assert.equal(calls, 0, "withAsync() ran its callback despite bad options");
  for (const [what, fn] of badFns) {
    await expectRejects({ name: `withAsync(${what})`, run: () => m.withAsync(fn as never), error: TypeError, message: /^threadsafe: withAsync\(fn\): fn must be a function/ });
  }
  // While this thread holds the lock, bad options reject instead of waiting for the holder: the holder is this
  // thread and releases only after both rejections, so a call that waited would never settle (the test's timeout).
  const g = m.lock();
  await expectRejects({ name: "lockAsync({ timeout: -1 }) while held", run: () => m.lockAsync({ timeout: -1 }), error: RangeError, message: /timeout must be 0 or more/ });
  await expectRejects({ name: "lockAsync({ signal: {} }) while held", run: () => m.lockAsync({ signal: {} as never }), error: TypeError, message: /signal must be an AbortSignal/ });
  assert.equal(g.held, true);
  const me = dumpLocks().threads.find((t) => t.thread.id === currentThread().id);
  assert.equal(me?.asyncWaits, 0, "the rejected calls left no pending lockAsync() behind");
  g.unlock();
  for (const options of [undefined, {}, { timeout: 0 }, { timeout: Infinity }, { signal: undefined }, { signal: new AbortController().signal }]) {
    const guard = await m.lockAsync(options);
    assert.equal(guard.value, 42);
    guard.unlock();
    assert.equal(await m.withAsync((x) => x.value, options), 42);
  }
  await assertIntact("after", m, 42);
});

test("tryLock(): never blocks, never throws for a held lock (not even one this thread holds), PoisonError when poisoned", { timeout: 10_000 }, async () => {
  const m = new Mutex(i32, 42, { name: "try" });
  const g = m.tryLock();
  assert.ok(g instanceof MutexGuard);
  assert.equal(m.tryLock(), undefined, "held by this thread: undefined, not DeadlockError");
  assert.equal((m.tryLock as (x: unknown) => unknown)({ timeout: -1 }), undefined, "arguments are ignored");
  assert.equal(g.value, 42, "the first guard is untouched");
  g.unlock();
  await assertIntact("after", m, 42);
  assert.throws(() => m.with((x) => { x.value = 43; throw new Error("poison it"); }), /poison it/);
  let inner: MutexGuard<number> | undefined;
  try {
    m.tryLock();
    assert.fail("tryLock() of a poisoned, free mutex must throw PoisonError");
  } catch (e) {
    assert.ok(e instanceof PoisonError);
    assert.equal(e.name, "PoisonError");
    assert.match(e.message, /Mutex "try" is poisoned/);
    inner = e.intoInner() as MutexGuard<number>;
  }
  assert.equal(inner.value, 43);
  assert.equal(m.tryLock(), undefined, "the PoisonError's guard holds the lock");
  inner.value = 42;
  m.clearPoison();
  inner.unlock();
  await assertIntact("after poison", m, 42);
});

// ## Guards

test("guard misuse: unlock twice, value/unsafeBytes/views after unlock throw; dispose stays harmless", { timeout: 10_000 }, async () => {
  const layout = struct({ x: i32, a: array(i32, 2), p: struct({ y: f64 }), s: string(8) });
  const initial = { x: 1, a: [1, 2], p: { y: 0.5 }, s: "hi" };
  const m = new Mutex(layout, initial, { name: "guarded" });
  const plain = () => ({ ...m.with((g) => JSON.parse(JSON.stringify(g.value)) as typeof initial) });

  const g = m.lock();
  const view = g.value;
  const items = view.a;
  const nested = view.p;
  g.unlock();
  const afterUnlock = /^threadsafe: cannot use a view of a guard of Mutex "guarded" after it was unlocked/;
  const cases: Case[] = [
    { name: "unlock twice", run: () => g.unlock(), error: Error, message: /^threadsafe: unlock\(\) called twice on a guard of Mutex "guarded"/ },
    { name: "read value", run: () => g.value, error: Error, message: /^threadsafe: cannot read value through a guard of Mutex "guarded" after it was unlocked/ },
    { name: "write value", run: () => { g.value = initial as never; }, error: Error, message: /cannot write value through a guard of Mutex "guarded" after it was unlocked/ },
    { name: "unsafeBytes", run: () => g.unsafeBytes(), error: Error, message: /cannot take bytes through a guard of Mutex "guarded" after it was unlocked/ },
    { name: "view field read", run: () => view.x, error: Error, message: afterUnlock },
    { name: "view field write", run: () => { view.x = 5; }, error: Error, message: afterUnlock },
    { name: "view string field", run: () => view.s, error: Error, message: afterUnlock },
    { name: "view toJSON", run: () => (view as unknown as { toJSON(): unknown }).toJSON(), error: Error, message: afterUnlock },
    { name: "nested view read", run: () => nested.y, error: Error, message: afterUnlock },
    { name: "nested view write", run: () => { nested.y = 2; }, error: Error, message: afterUnlock },
    { name: "array view index", run: () => items[0], error: Error, message: afterUnlock },
    { name: "array view write", run: () => { items[1] = 9; }, error: Error, message: afterUnlock },
    { name: "array view iterate", run: () => [...items], error: Error, message: afterUnlock },
  ];
  for (const c of cases) expectThrows(c);
  g[Symbol.dispose]();
  g[Symbol.dispose]();
  assert.equal(g.held, false);
  assert.deepEqual(plain(), initial);

  // A view stays dead even while a new guard holds the same mutex.
  const g2 = m.lock();
  expectThrows({ name: "old view under a new guard", run: () => view.x, error: Error, message: afterUnlock });
  assert.equal(g2.value.x, 1);
  g2.unlock();

  // Guards cannot be made by hand.
  for (const args of [[], [Symbol("threadsafe.guard"), {}], [undefined, undefined]]) {
    expectThrows({
      name: `new MutexGuard(${args.length} args)`,
      run: () => new (MutexGuard as unknown as new (...a: unknown[]) => unknown)(...args),
      error: TypeError,
      message: /^threadsafe: a MutexGuard comes from mutex\.lock\(\); it cannot be constructed/,
    });
  }

  // Bad writes through a live guard change nothing.
  m.with((guard) => {
    const writes: Case[] = [
      { name: "x = 1.5", run: () => { guard.value.x = 1.5; }, error: RangeError, message: /^value\.x: 1\.5 is not an integer/ },
      { name: "a[2] = 1", run: () => { guard.value.a[2] = 1; }, error: RangeError, message: /^value\.a: index 2 is out of range for array\(i32, 2\)/ },
      { name: "a = [1]", run: () => { (guard.value as { a: unknown }).a = [1]; }, error: RangeError, message: /expected exactly 2 elements/ },
      { name: "unknown field", run: () => { (guard.value as unknown as Record<string, number>)["nope"] = 1; }, error: TypeError, message: /the struct has no field "nope"/ },
      { name: "value = partial", run: () => { guard.value = { x: 1 } as never; }, error: TypeError, message: /^value: missing field "a"/ },
      { name: "p = { y: 'a' }", run: () => { guard.value.p = { y: "a" } as never; }, error: TypeError, message: /^value\.p\.y: expected a number for f64/ },
      { name: "s too long", run: () => { guard.value.s = "123456789"; }, error: RangeError, message: /over the budget of string\(8\)/ },
      { name: "whole value, last field bad", run: () => { guard.value = { x: 7, a: [7, 7], p: { y: 7 }, s: "too long a text" }; }, error: RangeError, message: /^value\.s: / },
    ];
    for (const c of writes) expectThrows(c);
  });
  assert.deepEqual(plain(), initial, "every rejected write left the data intact");
  await assertIntact("after", m, initial, (x) => JSON.parse(JSON.stringify(x.value)));
  assert.equal(m.isPoisoned(), false, "a caught bad write inside with() does not poison");
});

// ## Layout factories

test("layout factories: bad sizes, lengths and fields", { timeout: 10_000 }, async () => {
  const cases: Case[] = [
    { name: "string(-1)", run: () => string(-1), error: RangeError, message: /^string\(maxBytes\): maxBytes must be an integer from 0 to \d+, got -1/ },
    { name: "string(1.5)", run: () => string(1.5), error: RangeError, message: /maxBytes must be an integer.*got 1\.5/ },
    { name: "string(Infinity)", run: () => string(Infinity), error: RangeError, message: /got Infinity/ },
    { name: "string(2**30)", run: () => string(2 ** 30), error: RangeError, message: /from 0 to 1073741820, got 1073741824/ },
    { name: "string('3')", run: () => string("3" as never), error: TypeError, message: /^string\(maxBytes\): maxBytes must be a number, got string "3"/ },
    { name: "string()", run: () => (string as (x?: unknown) => unknown)(), error: TypeError, message: /maxBytes must be a number, got undefined/ },
    { name: "bytes(-1)", run: () => bytes(-1), error: RangeError, message: /^bytes\(length\): length must be an integer from 0 to \d+, got -1/ },
    { name: "bytes(1.5)", run: () => bytes(1.5), error: RangeError, message: /got 1\.5/ },
    { name: "bytes(2**31)", run: () => bytes(2 ** 31), error: RangeError, message: /got 2147483648/ },
    { name: "bytes(null)", run: () => bytes(null as never), error: TypeError, message: /^bytes\(length\): length must be a number, got null/ },
    { name: "json(NaN)", run: () => json(Number.NaN), error: RangeError, message: /^json\(maxBytes\): maxBytes must be an integer.*got NaN/ },
    { name: "json(-1)", run: () => json(-1), error: RangeError, message: /got -1/ },
    { name: "json('5')", run: () => json("5" as never), error: TypeError, message: /^json\(maxBytes\): maxBytes must be a number/ },
    { name: "array(i32, 1.5)", run: () => array(i32, 1.5), error: RangeError, message: /^array\(element, length\): length must be an integer from 0 to \d+, got 1\.5/ },
    { name: "array(i32, -1)", run: () => array(i32, -1), error: RangeError, message: /got -1/ },
    { name: "array(i32, 2**29)", run: () => array(i32, 2 ** 29), error: RangeError, message: /got 536870912/ },
    { name: "array(i32, '3')", run: () => array(i32, "3" as never), error: TypeError, message: /^array\(element, length\): length must be a number, got string "3"/ },
    { name: "array(i32)", run: () => (array as (e: unknown, l?: unknown) => unknown)(i32), error: TypeError, message: /length must be a number, got undefined/ },
    { name: "array(null, 2)", run: () => array(null as never, 2), error: TypeError, message: /^array\(element, length\): element is not a layout, got null/ },
    { name: "array({}, 2)", run: () => array({} as never, 2), error: TypeError, message: /element is not a layout, got an object/ },
    { name: "array('i32', 2)", run: () => array("i32" as never, 2), error: TypeError, message: /element is not a layout/ },
    { name: "array too big", run: () => array(array(f64, 2 ** 14), 2 ** 14), error: RangeError, message: /over the limit of 1073741824 bytes/ },
    { name: "struct(null)", run: () => struct(null as never), error: TypeError, message: /^struct\(fields\): fields must be an object mapping names to layouts, got null/ },
    { name: "struct(5)", run: () => struct(5 as never), error: TypeError, message: /fields must be an object.*got number 5/ },
    { name: "struct([])", run: () => struct([] as never), error: TypeError, message: /fields must be an object.*got an array/ },
    { name: "struct('x')", run: () => struct("x" as never), error: TypeError, message: /fields must be an object/ },
    { name: "struct({ x: 5 })", run: () => struct({ x: 5 } as never), error: TypeError, message: /field "x" is not a layout, got number 5/ },
    { name: "struct({ x: undefined })", run: () => struct({ x: undefined } as never), error: TypeError, message: /field "x" is not a layout/ },
    { name: "struct({ constructor })", run: () => struct({ constructor: i32 } as never), error: TypeError, message: /"constructor" is reserved and cannot be a field name/ },
    { name: "struct({ toJSON })", run: () => struct({ toJSON: i32 } as never), error: TypeError, message: /"toJSON" is reserved/ },
    { name: "struct({ __proto__ })", run: () => struct(JSON.parse('{"__proto__": 1}') as never), error: TypeError, message: /"__proto__"/ },
  ];
  for (const c of cases) expectThrows(c);
  // The factories still work, and the limits themselves are accepted.
  const m = new Mutex(struct({ s: string(0), b: bytes(0), a: array(i32, 0), j: json(4) }), { s: "", b: new Uint8Array(0), a: [], j: null });
  assert.deepEqual(m.with((g) => JSON.parse(JSON.stringify(g.value))), { s: "", b: {}, a: [], j: null });
});

// ## spawn

test("spawn: a non-function, a method, a bound or native function, bad args, bad options, a relative module path", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 42, { name: "spawn-witness" });
  const holder = { method() { return 1; }, async asyncMethod() { return 2; }, *gen() { yield 1; } };
  const standalone = /^threadsafe: spawn\(fn\): fn must be a standalone function or arrow function, written inline/;
  const cases: Case[] = [
    { name: "spawn(5)", run: () => spawn(5 as never), error: TypeError, message: /^threadsafe: spawn\(fn\): fn must be a function or a module URL, got 5/ },
    { name: "spawn(null)", run: () => spawn(null as never), error: TypeError, message: /fn must be a function or a module URL, got null/ },
    { name: "spawn(undefined)", run: () => spawn(undefined as never), error: TypeError, message: /fn must be a function or a module URL, got undefined/ },
    { name: "spawn({})", run: () => spawn({} as never), error: TypeError, message: /fn must be a function or a module URL/ },
    { name: "method shorthand", run: () => spawn(holder.method), error: TypeError, message: standalone },
    { name: "async method shorthand", run: () => spawn(holder.asyncMethod), error: TypeError, message: standalone },
    { name: "generator method", run: () => spawn(holder.gen as never), error: TypeError, message: standalone },
    { name: "bound function", run: () => spawn((() => 1).bind(null)), error: TypeError, message: standalone },
    { name: "native function", run: () => spawn(Math.max), error: TypeError, message: standalone },
    { name: "args an object", run: () => spawn(() => 1, {} as never), error: TypeError, message: /^threadsafe: spawn\(fn, args\): args must be an array, got an object/ },
    { name: "args a string", run: () => spawn(() => 1, "ab" as never), error: TypeError, message: /args must be an array, got "ab"/ },
    { name: "args null", run: () => spawn(() => 1, null as never), error: TypeError, message: /args must be an array, got null/ },
    { name: "args a number", run: () => spawn((_a: number) => 1, 5 as never), error: TypeError, message: /args must be an array, got 5/ },
    { name: "options a string", run: () => spawn(() => 1, [], "w" as never), error: TypeError, message: /^threadsafe: spawn\(fn, args, options\): options must be an object like \{ name: "worker-1" \}, got "w"/ },
    { name: "options null", run: () => spawn(() => 1, [], null as never), error: TypeError, message: /options must be an object.*got null/ },
    { name: "name a number", run: () => spawn(() => 1, [], { name: 1 as never }), error: TypeError, message: /^threadsafe: spawn\(\.\.\., \{ name \}\): name must be a string, got 1/ },
    { name: "name too long", run: () => spawn(() => 1, [], { name: "n".repeat(257) }), error: RangeError, message: /^threadsafe: names are at most 256 UTF-8 bytes/ },
    { name: "relative module", run: () => spawn("./job.js"), error: TypeError, message: /^threadsafe: spawn\(module\): a module must be given as a URL or an absolute path, got "\.\/job\.js"; for a file next to yours use spawn\(new URL/ },
    { name: "bare module name", run: () => spawn("job"), error: TypeError, message: /must be given as a URL or an absolute path, got "job"/ },
    { name: "empty module path", run: () => spawn(""), error: TypeError, message: /must be given as a URL or an absolute path, got ""/ },
  ];
  for (const c of cases) {
    expectThrows(c);
    await assertIntact(c.name, m, 42);
  }
  // An argument that structured clone cannot carry: a TypeError that says so, and no thread.
  assert.throws(
    () => spawn((f: unknown) => f, [() => 2]),
    (e: unknown) => e instanceof TypeError && /^threadsafe: spawn\(fn, args\): an argument cannot be sent to another thread/.test(e.message),
  );
  // A class is not a function to run.
  assert.throws(() => spawn(class Job {} as never), /threadsafe: spawn\(fn\): fn is a class/);
  // After all that, spawning works and the mutex arrives whole.
  const ok = spawn((m: Mutex<number>) => m.with((g) => g.value), [m], { name: "after-validation" });
  assert.equal(await ok.join(), 42);
  await assertIntact("after", m, 42);
});

test("spawn(moduleUrl): a missing module or one without a default export function rejects join() with ThreadError", { timeout: 30_000 }, async () => {
  const missing = spawn(new URL("./support/does-not-exist.mjs", import.meta.url));
  await assert.rejects(missing.join(), (e: unknown) => {
    assert.ok(e instanceof ThreadError);
    assert.equal(e.how, "threw");
    assert.match(e.message, /does-not-exist\.mjs/);
    return true;
  });
  const noDefault = spawn(new URL("./support/no-default.mjs", import.meta.url));
  await assert.rejects(noDefault.join(), (e: unknown) => {
    assert.ok(e instanceof ThreadError);
    assert.equal(e.how, "threw");
    assert.match(e.message, /no-default\.mjs has no default export function/);
    return true;
  });
});

// ## share / receive

test("receive: anything that is not a message made by share is a TypeError", { timeout: 10_000 }, () => {
  const m = new Mutex(i32, 42, { name: "recv-witness" });
  const notMessages: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a number", 5],
    ["a string", "message"],
    ["an array", []],
    ["an empty object", {}],
    ["a Map", new Map()],
    ["the value itself", { value: 1 }],
    ["a wrong envelope version", { __threadsafe_shared__: 2, value: 1 }],
    ["a string envelope version", { __threadsafe_shared__: "1", value: 1 }],
    ["an envelope without value", { __threadsafe_shared__: 1 }],
    ["a mutex", m],
  ];
  for (const [what, message] of notMessages) {
    expectThrows({
      name: `receive(${what})`,
      run: () => receive(message),
      error: TypeError,
      message: /^threadsafe: receive\(message\): expected a message made by share\(value\)/,
    });
  }
  expectThrows({
    name: "receive(unknown handle kind)",
    run: () => receive({ __threadsafe_shared__: 1, value: { x: [{ __threadsafe_handle__: "Frobnicator" }] } }),
    error: TypeError,
    message: /^threadsafe: receive\(message\): corrupted or forged handle at value\.x\[0\]: unknown kind "Frobnicator"/,
  });
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  expectThrows({ name: "share(too deep)", run: () => share(deep), error: RangeError, message: /^threadsafe: share\(value\): value is nested deeper than 64 levels/ });
  expectThrows({
    name: "receive(too deep)",
    run: () => receive({ __threadsafe_shared__: 1, value: deep }),
    error: RangeError,
    message: /^threadsafe: receive\(message\): message is nested deeper than 64 levels/,
  });
  // A real message still works, and gives back a working mutex for the same lock.
  const back = receive<{ m: Mutex<number>; n: number[] }>(structuredClone(share({ m, n: [1, 2] })));
  assert.ok(back.m instanceof Mutex);
  assert.equal(back.m.lockId, m.lockId);
  assert.equal(back.m.name, "recv-witness");
  assert.deepEqual(back.n, [1, 2]);
  assert.equal(back.m.with((g) => g.value), 42);
});

// ## Rejected spawns must not use up thread slots (a runtime has 1023). These run last: a leak would starve every
// later spawn in this file.

const SLOT_COUNT = 1023;

const rejectedSpawns: ReadonlyArray<{ what: string; run: () => unknown }> = [
  { what: "a non-function", run: () => spawn(5 as never) },
  { what: "a method", run: () => spawn({ f() { return 1; } }.f) },
  { what: "args not an array", run: () => spawn(() => 1, {} as never) },
  { what: "a non-string name", run: () => spawn(() => 1, [], { name: 5 as never }) },
  { what: "a relative module path", run: () => spawn("./job.js") },
  { what: "an argument that cannot be cloned", run: () => spawn((f: unknown) => f, [() => 1]) },
  { what: "a name over 256 UTF-8 bytes", run: () => spawn(() => 1, [], { name: "n".repeat(300) }) },
];

for (const { what, run } of rejectedSpawns) {
  test(`spawn rejected for ${what}, ${SLOT_COUNT + 7} times, uses no thread slot: spawning still works`, { timeout: 60_000 }, async () => {
    let first: Error | undefined;
    for (let i = 0; i < SLOT_COUNT + 7; i++) {
      try {
        run();
        assert.fail(`spawn with ${what} was accepted`);
      } catch (e) {
        first ??= e as Error;
        assert.equal((e as Error).message, first.message, `attempt ${i} failed differently: ${(e as Error).message}`);
      }
    }
    assert.doesNotMatch(first!.message, /too many threads/);
    const h = spawn((x: number) => x * 2, [21], { name: "still-spawns" });
    assert.equal(await h.join(), 42);
  });
}
