// The atomic types (DESIGN §1b "Atomics") across real workers on real shared memory: every method with exact values,
// wrap-around as in Rust, RangeError/TypeError for values that do not fit, sharing and counting like every shared
// object. Every test has an exact oracle and a time bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  Arc,
  AtomicBool,
  AtomicI16,
  AtomicI32,
  AtomicI64,
  AtomicI8,
  AtomicU16,
  AtomicU32,
  AtomicU64,
  AtomicU8,
  receive,
  share,
  spawn,
} from "threadsafe";

type Num = number | bigint;
interface IntAtomic<T extends Num> {
  load(): T;
  store(v: T): void;
  swap(v: T): T;
  compareExchange(c: T, n: T): T;
  fetchAdd(v: T): T;
  fetchSub(v: T): T;
  fetchAnd(v: T): T;
  fetchOr(v: T): T;
  fetchXor(v: T): T;
  fetchNand(v: T): T;
  fetchMax(v: T): T;
  fetchMin(v: T): T;
  update(fn: (v: T) => T): T;
  readonly name: string;
}

interface TypeCase {
  readonly name: string;
  readonly make: (v?: Num, options?: { name?: string }) => IntAtomic<Num>;
  readonly min: Num;
  readonly max: Num;
  readonly big: boolean;
}

const cases: TypeCase[] = [
  { name: "AtomicI8", make: (v, o) => new AtomicI8(v as number, o) as IntAtomic<Num>, min: -128, max: 127, big: false },
  { name: "AtomicU8", make: (v, o) => new AtomicU8(v as number, o) as IntAtomic<Num>, min: 0, max: 255, big: false },
  { name: "AtomicI16", make: (v, o) => new AtomicI16(v as number, o) as IntAtomic<Num>, min: -32768, max: 32767, big: false },
  { name: "AtomicU16", make: (v, o) => new AtomicU16(v as number, o) as IntAtomic<Num>, min: 0, max: 65535, big: false },
  { name: "AtomicI32", make: (v, o) => new AtomicI32(v as number, o) as IntAtomic<Num>, min: -(2 ** 31), max: 2 ** 31 - 1, big: false },
  { name: "AtomicU32", make: (v, o) => new AtomicU32(v as number, o) as IntAtomic<Num>, min: 0, max: 2 ** 32 - 1, big: false },
  { name: "AtomicI64", make: (v, o) => new AtomicI64(v as bigint, o) as IntAtomic<Num>, min: -(2n ** 63n), max: 2n ** 63n - 1n, big: true },
  { name: "AtomicU64", make: (v, o) => new AtomicU64(v as bigint, o) as IntAtomic<Num>, min: 0n, max: 2n ** 64n - 1n, big: true },
];

for (const c of cases) {
  const n = (x: number): Num => (c.big ? BigInt(x) : x);
  const signed = c.big ? (c.min as bigint) < 0n : (c.min as number) < 0;

  test(`${c.name}: every method with exact values, and wrap-around`, () => {
    const a = c.make();
    assert.equal(a.load(), n(0), "default value");
    assert.equal(c.make(n(5)).load(), n(5));
    a.store(n(10));
    assert.equal(a.load(), n(10));
    assert.equal(a.swap(n(12)), n(10));
    assert.equal(a.load(), n(12));
    // compareExchange → the previous value; it succeeded iff that equals `current`
    assert.equal(a.compareExchange(n(11), n(99)), n(12), "failed exchange returns the value");
    assert.equal(a.load(), n(12), "failed exchange stores nothing");
    assert.equal(a.compareExchange(n(12), n(13)), n(12));
    assert.equal(a.load(), n(13));
    assert.equal(a.fetchAdd(n(7)), n(13));
    assert.equal(a.fetchSub(n(5)), n(20));
    assert.equal(a.load(), n(15)); // 0b1111
    assert.equal(a.fetchAnd(n(0b1010)), n(15));
    assert.equal(a.load(), n(0b1010));
    assert.equal(a.fetchOr(n(0b0101)), n(0b1010));
    assert.equal(a.load(), n(0b1111));
    assert.equal(a.fetchXor(n(0b0110)), n(0b1111));
    assert.equal(a.load(), n(0b1001));
    assert.equal(a.fetchMax(n(3)), n(9), "max with a smaller value");
    assert.equal(a.load(), n(9));
    assert.equal(a.fetchMax(n(40)), n(9));
    assert.equal(a.load(), n(40));
    assert.equal(a.fetchMin(n(50)), n(40), "min with a larger value");
    assert.equal(a.load(), n(40));
    assert.equal(a.fetchMin(n(4)), n(40));
    assert.equal(a.load(), n(4));
    assert.equal(a.update((v) => (c.big ? (v as bigint) * 3n : (v as number) * 3)), n(4));
    assert.equal(a.load(), n(12));
    // nand: ~(old & v), in the type's width
    a.store(n(0b1100));
    assert.equal(a.fetchNand(n(0b1010)), n(0b1100));
    // ~0b1000 in the type: -9 when signed, max - 8 when unsigned
    assert.equal(a.load(), signed ? n(-9) : c.big ? (c.max as bigint) - 8n : (c.max as number) - 8);

    // Wrap-around, as Rust's wrapping arithmetic.
    a.store(c.max);
    assert.equal(a.fetchAdd(n(1)), c.max);
    assert.equal(a.load(), c.min, "max + 1 wraps to min");
    assert.equal(a.fetchSub(n(1)), c.min);
    assert.equal(a.load(), c.max, "min - 1 wraps to max");
    a.store(c.max);
    a.fetchAdd(c.max);
    // max + max = 2·max wraps to max - 1 - (max - min) … = -2 for signed, max - 1 for unsigned
    assert.equal(a.load(), signed ? n(-2) : c.big ? (c.max as bigint) - 1n : (c.max as number) - 1);
    if (signed) {
      a.store(n(-1));
      assert.equal(a.fetchAdd(n(-1)), n(-1), "signed types take negative operands");
      assert.equal(a.load(), n(-2));
      assert.equal(a.fetchMax(n(-5)), n(-2));
      assert.equal(a.load(), n(-2), "signed comparison in fetchMax");
      assert.equal(a.fetchMin(c.min), n(-2));
      assert.equal(a.load(), c.min);
    } else {
      a.store(c.max);
      assert.equal(a.fetchMax(n(1)), c.max, "unsigned comparison: max stays the largest");
      assert.equal(a.load(), c.max);
      assert.equal(a.fetchMin(n(0)), c.max);
      assert.equal(a.load(), n(0));
    }
  });

  test(`${c.name}: a value outside the range is a RangeError, a non-integer a RangeError, another JS type a TypeError; nothing is stored`, () => {
    const a = c.make(n(1), { name: `range-${c.name}` });
    const above = c.big ? (c.max as bigint) + 1n : (c.max as number) + 1;
    const below = c.big ? (c.min as bigint) - 1n : (c.min as number) - 1;
    const range = new RegExp(`threadsafe: ${c.name}\\.\\w+: .* must be an integer from ${String(c.min)}n? to ${String(c.max)}n?`);
    const calls: Array<[string, (v: Num) => unknown]> = [
      ["store", (v) => a.store(v)],
      ["swap", (v) => a.swap(v)],
      ["compareExchange(current)", (v) => a.compareExchange(v, n(0))],
      ["compareExchange(next)", (v) => a.compareExchange(n(1), v)],
      ["fetchAdd", (v) => a.fetchAdd(v)],
      ["fetchSub", (v) => a.fetchSub(v)],
      ["fetchAnd", (v) => a.fetchAnd(v)],
      ["fetchOr", (v) => a.fetchOr(v)],
      ["fetchXor", (v) => a.fetchXor(v)],
      ["fetchNand", (v) => a.fetchNand(v)],
      ["fetchMax", (v) => a.fetchMax(v)],
      ["fetchMin", (v) => a.fetchMin(v)],
      ["update", (v) => a.update(() => v)],
      ["constructor", (v) => c.make(v)],
    ];
    for (const [what, call] of calls) {
      assert.throws(() => call(above), (e: unknown) => e instanceof RangeError && range.test((e as Error).message), `${what}(${String(above)})`);
      assert.throws(() => call(below), (e: unknown) => e instanceof RangeError && range.test((e as Error).message), `${what}(${String(below)})`);
      if (c.big) {
        assert.throws(() => call(1 as unknown as bigint), (e: unknown) => e instanceof TypeError && /must be a bigint/.test((e as Error).message), `${what}(number)`);
      } else {
        assert.throws(() => call(1.5), (e: unknown) => e instanceof RangeError && /not an integer/.test((e as Error).message), `${what}(1.5)`);
        assert.throws(() => call(Number.NaN), RangeError, `${what}(NaN)`);
        assert.throws(() => call(Infinity), RangeError, `${what}(Infinity)`);
        assert.throws(() => call(1n as unknown as number), (e: unknown) => e instanceof TypeError && /must be a number/.test((e as Error).message), `${what}(bigint)`);
      }
      assert.throws(() => call("1" as unknown as Num), TypeError, `${what}("1")`);
      assert.throws(() => call({ valueOf: () => 1 } as unknown as Num), TypeError, `${what}(object)`);
      assert.equal(a.load(), n(1), `${what}: a refused value stores nothing`);
    }
    assert.throws(() => a.update(42 as unknown as (v: Num) => Num), /threadsafe: .*update\(fn\): fn must be a function/);
    assert.throws(() => c.make(n(0), "x" as unknown as { name: string }), /threadsafe: new Atomic\w+\(value, options\): options must be an object/);
    assert.throws(() => c.make(n(0), { name: 3 as unknown as string }), /name must be a string/);
    assert.equal(a.name, `range-${c.name}`);
    // The bounds themselves fit.
    a.store(c.min);
    assert.equal(a.load(), c.min);
    a.store(c.max);
    assert.equal(a.load(), c.max);
  });
}

test("AtomicBool: every method with exact values; non-booleans are TypeErrors", () => {
  const b = new AtomicBool();
  assert.equal(b.load(), false);
  b.store(true);
  assert.equal(b.load(), true);
  assert.equal(b.swap(false), true);
  assert.equal(b.compareExchange(true, true), false, "failed: returns the value");
  assert.equal(b.load(), false);
  assert.equal(b.compareExchange(false, true), false, "succeeded: returns the previous value");
  assert.equal(b.load(), true);
  assert.equal(b.fetchAnd(false), true);
  assert.equal(b.load(), false);
  assert.equal(b.fetchOr(true), false);
  assert.equal(b.load(), true);
  assert.equal(b.fetchXor(true), true);
  assert.equal(b.load(), false);
  // nand: !(old && v)
  for (const [old, v, after] of [[false, false, true], [false, true, true], [true, false, true], [true, true, false]] as const) {
    b.store(old);
    assert.equal(b.fetchNand(v), old);
    assert.equal(b.load(), after, `nand(${old}, ${v})`);
  }
  b.store(true);
  assert.equal(b.fetchNot(), true);
  assert.equal(b.load(), false);
  assert.equal(b.update((v) => !v), false);
  assert.equal(b.load(), true);
  for (const bad of [1, 0, "true", null, undefined, {}]) {
    assert.throws(() => b.store(bad as boolean), (e: unknown) => e instanceof TypeError && /AtomicBool\.store: value must be a boolean/.test((e as Error).message));
  }
  assert.throws(() => new AtomicBool(1 as unknown as boolean), TypeError);
  assert.throws(() => b.update(() => 1 as unknown as boolean), TypeError);
  assert.equal(b.load(), true);
  assert.equal(new AtomicBool(true).load(), true);
});

test("4 threads × 1,000,000 AtomicI32.fetchAdd(1) = exactly 4,000,000; AtomicU64 likewise", { timeout: 120_000 }, async () => {
  const counter = new AtomicI32(0, { name: "fetchAdd-counter" });
  const wide = new AtomicU64(0n, { name: "fetchAdd-wide" });
  const handles = [];
  for (let t = 0; t < 4; t++) {
    handles.push(
      spawn(
        (counter: AtomicI32, wide: AtomicU64, n: number) => {
          for (let i = 0; i < n; i++) {
            counter.fetchAdd(1);
            wide.fetchAdd(1n);
          }
        },
        [counter, wide, 1_000_000],
      ),
    );
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(counter.load(), 4_000_000);
  assert.equal(wide.load(), 4_000_000n);
});

test("compareExchange as a spin lock: 4 threads × 100,000 non-atomic increments under it give the exact total", { timeout: 120_000 }, async () => {
  const lock = new AtomicBool(false, { name: "spin" });
  const word = new AtomicU32(0, { name: "spin-u32" });
  const data = new Int32Array(new SharedArrayBuffer(8)); // plain, non-atomic counters: only the locks make them exact
  const handles = [];
  for (let t = 0; t < 4; t++) {
    handles.push(
      spawn(
        (lock: AtomicBool, word: AtomicU32, data: Int32Array, n: number) => {
          for (let i = 0; i < n; i++) {
            while (lock.compareExchange(false, true) !== false);
            data[0] = data[0]! + 1;
            lock.store(false);
            while (word.compareExchange(0, 1) !== 0);
            data[1] = data[1]! + 1;
            word.store(0);
          }
        },
        [lock, word, data, 100_000],
      ),
    );
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.deepEqual([data[0], data[1]], [400_000, 400_000]);
  assert.equal(lock.load(), false);
});

test("fetchMax and fetchMin from 4 threads: the exact extremes; update from 4 threads: every update applied once", { timeout: 60_000 }, async () => {
  const max = new AtomicI64(-(2n ** 63n));
  const min = new AtomicU16(65535);
  const product = new AtomicU32(1);
  const handles = [];
  for (let t = 0; t < 4; t++) {
    handles.push(
      spawn(
        (max: AtomicI64, min: AtomicU16, product: AtomicU32, t: number) => {
          for (let i = 0; i < 10_000; i++) {
            max.fetchMax(BigInt(i * 4 + t) - 5000n);
            min.fetchMin(60_000 - (i * 4 + t));
          }
          for (let i = 0; i < 5; i++) product.update((v) => (v * 2) % 4_294_967_291);
        },
        [max, min, product, t],
      ),
    );
  }
  await Promise.all(handles.map((h) => h.join()));
  assert.equal(max.load(), 39_999n - 5000n);
  assert.equal(min.load(), 60_000 - 39_999);
  assert.equal(product.load(), 2 ** 20);
});

test("atomics cross threads through spawn and share/receive: the same memory, counted by Arc.strongCount", { timeout: 60_000 }, async () => {
  const flag = new AtomicBool(false, { name: "shared-flag" });
  const n = new AtomicI8(-3, { name: "shared-i8" });
  assert.equal(Arc.strongCount(n), 1);
  const message = share({ n, flag, note: "hi" });
  assert.equal(Arc.strongCount(n), 2, "a message in flight counts");
  const h = spawn(
    async (message: unknown) => {
      const { receive, Arc } = await import("threadsafe");
      const { n, flag, note } = receive<{ n: AtomicI8; flag: AtomicBool; note: string }>(message as never);
      const before = n.fetchSub(125); // -3 - 125 = -128
      flag.store(true);
      const counted = Arc.strongCount(n);
      return { before, note, counted, name: n.name, type: n.constructor.name };
    },
    [message],
  );
  const result = await h.join();
  assert.deepEqual(result, { before: -3, note: "hi", counted: 2, name: "shared-i8", type: "AtomicI8" });
  assert.equal(n.load(), -128);
  assert.equal(flag.load(), true);
  // Received back in this thread: the same object.
  assert.equal(receive<{ n: AtomicI8 }>(share({ n })).n, n);
  assert.equal(Arc.strongCount(n), 1, "the worker's count went with it");
});

test("src/sync/atomic-int.ts is what scripts/gen-atomics.mjs writes", () => {
  const script = fileURLToPath(new URL("../scripts/gen-atomics.mjs", import.meta.url));
  execFileSync(process.execPath, [script, "--check"], { stdio: "pipe" });
});
