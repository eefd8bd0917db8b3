/**
 * Layouts: sizes and alignment, round trips of every layout (fast-check property tests on edge values),
 * validation messages, atomic rejected writes, live views and their liveness, and `layoutFromDescriptor`
 * against forged and fuzzed descriptors.
 *
 * Run: node --import tsx --test test/layout.test.ts
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import fc from "fast-check";
import {
  LAYOUT_LIMITS,
  array,
  bool,
  bytes,
  dataBufferSize,
  dataViews,
  f32,
  f64,
  i16,
  i32,
  i64,
  i8,
  isView,
  json,
  layoutFromDescriptor,
  layoutsEqual,
  snapshot,
  string,
  struct,
  u16,
  u32,
  u64,
  u8,
  type ArrayView,
  type Assignable,
  type DataViews,
  type Infer,
  type JsonValue,
  type Layout,
  type LayoutDescriptor,
  type Liveness,
  type Snapshot,
} from "../src/layout/index.ts";

// ---------------------------------------------------------------------------------------------------------
// helpers

/** A stand-in for a guard: `assertLive` throws once `dead` is set. */
class FakeGuard implements Liveness {
  dead = false;
  assertLive(): void {
    if (this.dead) throw new Error("used after unlock");
  }
}

function viewsFor(layout: Layout<unknown>): DataViews {
  return dataViews(new SharedArrayBuffer(dataBufferSize(layout)));
}

/**
 * Writes a plain value: `Layout<T>.write` takes `T`, and for array layouts `T` is the view type, so plain
 * arrays go through `Assignable<T>` the way a guard's `value` setter would.
 */
function put<T>(layout: Layout<T>, views: DataViews, value: Assignable<T>): void {
  layout.write(views, 0, value as T);
}

/** A struct view's `toJSON()`, which the plain `Infer` type does not show. */
function plain(view: unknown): unknown {
  return (view as { toJSON(): unknown }).toJSON();
}

function bytesOf(views: DataViews): Uint8Array {
  return views.u8.slice();
}

function isLayoutError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}

const encoder = new TextEncoder();
const utf8 = (s: string): number => encoder.encode(s).length;

const RESERVED = new Set(["__proto__", "constructor", "toJSON", "toString", "valueOf"]);

// Type-level assertions: compiled by `tsc --noEmit`, no run-time effect.
type Equal<X, Y> = (<G>() => G extends X ? 1 : 2) extends <G>() => G extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

// ---------------------------------------------------------------------------------------------------------
// types

test("Infer gives the plain TypeScript types", () => {
  const S = struct({ a: i32, b: string(8) });
  expectType<Equal<Infer<typeof S>, { a: number; b: string }>>(true);
  const P = struct({ name: string(8), pos: struct({ x: f64, y: f64 }), xs: array(i32, 3), id: i64, raw: bytes(4), ok: bool });
  expectType<
    Equal<
      Infer<typeof P>,
      { name: string; pos: { x: number; y: number }; xs: ArrayView<number>; id: bigint; raw: Uint8Array; ok: boolean }
    >
  >(true);
  expectType<Equal<Infer<typeof u64>, bigint>>(true);
  const J = json(64);
  const JN = json<{ n: number }>(64);
  expectType<Equal<Infer<typeof J>, JsonValue>>(true);
  expectType<Equal<Infer<typeof JN>, { n: number }>>(true);
  const WithJson = struct({ tags: json(64), n: u8 });
  expectType<Equal<Infer<typeof WithJson>, { tags: JsonValue; n: number }>>(true);
  expectType<Equal<Assignable<Infer<typeof P>>["xs"], ArrayLike<number>>>(true);
  expectType<Equal<Snapshot<Infer<typeof P>>, { name: string; pos: { x: number; y: number }; xs: number[]; id: bigint; raw: Uint8Array; ok: boolean }>>(true);

  // A guard types its value with a getter/setter pair: reads give views, writes take plain values.
  interface GuardLike<T> {
    get value(): T;
    set value(v: Assignable<T>);
  }
  function typeOnly(g: GuardLike<ArrayView<number>>, p: GuardLike<Infer<typeof P>>): void {
    g.value[0] = 5;
    g.value = [1, 2, 3];
    g.value = new Int32Array(3);
    g.value.set(1, 2);
    const n: number = g.value[1];
    p.value.pos.x += n;
    p.value = { name: "", pos: { x: 1, y: 2 }, xs: [1, 2, 3], id: 1n, raw: new Uint8Array(4), ok: true };
    p.value = p.value;
    // @ts-expect-error: elements are numbers
    g.value = ["x"];
    // @ts-expect-error: i64 takes bigints
    p.value.id = 1;
  }
  void typeOnly;
});

// ---------------------------------------------------------------------------------------------------------
// sizes and alignment

test("sizes, alignment and C-style field offsets", () => {
  const expected: Array<[Layout<unknown>, number, number]> = [
    [bool, 1, 1], [i8, 1, 1], [u8, 1, 1], [i16, 2, 2], [u16, 2, 2], [i32, 4, 4], [u32, 4, 4],
    [f32, 4, 4], [f64, 8, 8], [i64, 8, 8], [u64, 8, 8],
    [string(8), 12, 4], [string(5), 12, 4], [string(0), 4, 4], [json(10), 16, 4],
    [bytes(3), 3, 1], [bytes(0), 0, 1], [array(u16, 3), 6, 2], [array(f64, 0), 0, 8], [struct({}), 0, 1],
  ];
  for (const [layout, size, align] of expected) {
    assert.equal(layout.size, size, `${layout} size`);
    assert.equal(layout.align, align, `${layout} align`);
  }
  const S = struct({ a: u8, b: f64, c: u16, d: struct({ e: u8, f: u32 }), g: array(u8, 3) });
  assert.deepEqual(S.fields.map((f) => [f.name, f.offset]), [["a", 0], ["b", 8], ["c", 16], ["d", 20], ["g", 28]]);
  assert.equal(S.size, 32);
  assert.equal(S.align, 8);
  assert.equal(struct({ a: u8, b: u16 }).size, 4);
  assert.equal(array(struct({ a: u32, b: u8 }), 3).size, 24);
  assert.equal(dataBufferSize(u8), 8);
  assert.equal(dataBufferSize(S), 32);
  assert.equal(dataBufferSize(string(5)), 16);
});

test("dataViews checks its buffer", () => {
  assert.throws(() => dataViews(new SharedArrayBuffer(12)), RangeError);
  assert.throws(() => dataViews({} as SharedArrayBuffer), TypeError);
  assert.throws(() => dataViews(new Uint8Array(8) as unknown as SharedArrayBuffer), TypeError);
  const views = dataViews(new SharedArrayBuffer(16));
  assert.equal(views.f64.length, 2);
  assert.equal(views.u8.length, 16);
  assert.ok(Object.isFrozen(views));
});

// ---------------------------------------------------------------------------------------------------------
// scalars

const INTS: Array<[Layout<number>, number, number]> = [
  [i8, -128, 127], [u8, 0, 255], [i16, -32768, 32767], [u16, 0, 65535], [i32, -(2 ** 31), 2 ** 31 - 1], [u32, 0, 2 ** 32 - 1],
];

test("integers round-trip over their whole range and reject everything else", () => {
  const guard = new FakeGuard();
  for (const [layout, min, max] of INTS) {
    const views = viewsFor(layout);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, min + 1, max - 1, 0, -0)), (n) => {
        layout.write(views, 0, n);
        assert.equal(layout.read(views, 0, guard), n === 0 ? 0 : n);
        assert.ok(!Object.is(layout.read(views, 0, guard), -0));
      }),
      { numRuns: 200 },
    );
    layout.write(views, 0, max);
    const before = bytesOf(views);
    for (const bad of [min - 1, max + 1, 0.5, min + 0.5, NaN, Infinity, -Infinity, 2 ** 53]) {
      assert.throws(() => layout.write(views, 0, bad), RangeError, `${layout} ${bad}`);
    }
    for (const bad of ["1", 1n, null, undefined, true, {}, [1]]) {
      assert.throws(() => layout.write(views, 0, bad as never), TypeError, `${layout} ${String(bad)}`);
    }
    assert.deepEqual(bytesOf(views), before);
  }
  assert.throws(() => u8.check(300, "value.balance"), { name: "RangeError", message: "value.balance: 300 is out of range for u8 (0 to 255)" });
  assert.throws(() => i32.check(1.5, "value"), { name: "RangeError", message: /value: 1\.5 is not an integer \(i32 takes integers from -2147483648 to 2147483647\)/ });
  assert.throws(() => i8.check(NaN, "value.x"), { name: "RangeError", message: /value\.x: NaN is not an integer/ });
  assert.throws(() => u16.check("7", "value"), { name: "TypeError", message: /value: expected a number for u16, got string "7"/ });
});

test("floats: f64 is exact (-0, NaN, ±Infinity); f32 rounds like Math.fround", () => {
  const guard = new FakeGuard();
  const v64 = viewsFor(f64);
  const v32 = viewsFor(f32);
  fc.assert(
    fc.property(fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 3.4028235e38, 3.5e38, 1e-46)), (x) => {
      f64.write(v64, 0, x);
      assert.ok(Object.is(f64.read(v64, 0, guard), x));
      f32.write(v32, 0, x);
      assert.ok(Object.is(f32.read(v32, 0, guard), Math.fround(x)));
    }),
    { numRuns: 500 },
  );
  for (const bad of ["1", 1n, null, undefined, false]) {
    assert.throws(() => f64.write(v64, 0, bad as never), TypeError);
    assert.throws(() => f32.write(v32, 0, bad as never), TypeError);
  }
});

test("i64/u64 take bigints in range; numbers get a hint about the n suffix", () => {
  const guard = new FakeGuard();
  const bounds: Array<[Layout<bigint>, bigint, bigint]> = [
    [i64, -(2n ** 63n), 2n ** 63n - 1n],
    [u64, 0n, 2n ** 64n - 1n],
  ];
  for (const [layout, min, max] of bounds) {
    const views = viewsFor(layout);
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min, max }), fc.constantFrom(min, max, min + 1n, max - 1n, 0n)), (n) => {
        layout.write(views, 0, n);
        assert.equal(layout.read(views, 0, guard), n);
      }),
      { numRuns: 200 },
    );
    const before = bytesOf(views);
    assert.throws(() => layout.write(views, 0, min - 1n), RangeError);
    assert.throws(() => layout.write(views, 0, max + 1n), RangeError);
    assert.throws(() => layout.write(views, 0, 5 as never), { name: "TypeError", message: /5n/ });
    assert.throws(() => layout.write(views, 0, 1.5 as never), { name: "TypeError", message: /bigint/ });
    assert.throws(() => layout.write(views, 0, "5" as never), TypeError);
    assert.deepEqual(bytesOf(views), before);
  }
});

test("bool takes only booleans", () => {
  const guard = new FakeGuard();
  const views = viewsFor(bool);
  for (const b of [true, false, true]) {
    bool.write(views, 0, b);
    assert.equal(bool.read(views, 0, guard), b);
  }
  for (const bad of [0, 1, "true", null, undefined]) assert.throws(() => bool.write(views, 0, bad as never), TypeError);
  assert.equal(bool.read(views, 0, guard), true);
});

// ---------------------------------------------------------------------------------------------------------
// strings, bytes, json

test("string: random unicode round-trips; the byte budget is exact", () => {
  const guard = new FakeGuard();
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
      const n = utf8(s);
      const exact = string(n);
      const views = viewsFor(exact);
      exact.write(views, 0, s);
      assert.equal(exact.read(views, 0, guard), s);
      if (n > 0) {
        const tight = string(n - 1);
        const tv = viewsFor(tight);
        tight.write(tv, 0, "");
        const before = bytesOf(tv);
        assert.throws(() => tight.write(tv, 0, s), (e: Error) => e instanceof RangeError && e.message.includes(`${n} bytes`) && e.message.includes(`${n - 1} bytes`));
        assert.deepEqual(bytesOf(tv), before);
      }
    }),
    { numRuns: 300 },
  );
  // multi-byte characters exactly at the boundary
  const s4 = string(4);
  const views = viewsFor(s4);
  for (const ok of ["🦀", "éé", "€a", "abcd", ""]) {
    s4.write(views, 0, ok);
    assert.equal(s4.read(views, 0, guard), ok);
  }
  for (const bad of ["🦀a", "ééa", "€€", "abcde"]) assert.throws(() => s4.write(views, 0, bad), RangeError);
  // long strings take the encodeInto path
  const long = string(1000);
  const lv = viewsFor(long);
  const text = "ünïcödé 🦀 ".repeat(50);
  long.write(lv, 0, text.slice(0, 200));
  assert.equal(long.read(lv, 0, guard), text.slice(0, 200));
  assert.throws(() => string(8).check("ééééé", "value.name"), {
    name: "RangeError",
    message: 'value.name: "ééééé" is 10 bytes of UTF-8, over the budget of string(8) (8 bytes)',
  });
  for (const lone of ["\ud800", "a\udc00", "\ud83e"]) assert.throws(() => s4.write(views, 0, lone), { name: "RangeError", message: /lone surrogate/ });
  for (const bad of [1, null, undefined, ["a"], new String("a")]) assert.throws(() => s4.write(views, 0, bad as never), TypeError);
});

test("string: a corrupted stored length is reported, not read out of bounds", () => {
  const s = string(4);
  const views = viewsFor(s);
  views.u32[0] = 1000;
  assert.throws(() => s.read(views, 0, new FakeGuard()), { name: "RangeError", message: /corrupted/ });
});

test("bytes: exact length, reads are copies, any ArrayBuffer view is accepted", () => {
  const guard = new FakeGuard();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.uint8Array({ minLength: n, maxLength: n }))), ([n, data]) => {
      const layout = bytes(n);
      const views = viewsFor(layout);
      layout.write(views, 0, data);
      const read = layout.read(views, 0, guard);
      assert.deepEqual(read, data);
      assert.notEqual(read.buffer, views.buffer);
      if (n > 0) {
        read[0] ^= 0xff;
        assert.equal(views.u8[0], data[0], "changing a read copy changes nothing shared");
      }
    }),
    { numRuns: 100 },
  );
  const b4 = bytes(4);
  const views = viewsFor(b4);
  b4.write(views, 0, new Uint32Array([0x04030201]) as never);
  assert.deepEqual([...b4.read(views, 0, guard)], [1, 2, 3, 4]);
  b4.write(views, 0, new DataView(new Uint8Array([9, 8, 7, 6]).buffer) as never);
  assert.deepEqual([...b4.read(views, 0, guard)], [9, 8, 7, 6]);
  const before = bytesOf(views);
  assert.throws(() => b4.write(views, 0, new Uint8Array(3)), { name: "RangeError", message: /exactly 4 bytes/ });
  assert.throws(() => b4.write(views, 0, new Uint8Array(5)), RangeError);
  assert.throws(() => b4.write(views, 0, [1, 2, 3, 4] as never), TypeError);
  assert.throws(() => b4.write(views, 0, "abcd" as never), TypeError);
  assert.deepEqual(bytesOf(views), before);
  // the zero-copy escape hatch aliases shared memory
  const alias = b4.unsafeView(views, 0);
  alias[0] = 42;
  assert.equal(b4.read(views, 0, guard)[0], 42);
  b4.write(views, 0, alias); // writing an alias of itself is fine
  assert.equal(b4.read(views, 0, guard)[0], 42);
});

test("json: random JSON values round-trip as fresh copies", () => {
  const guard = new FakeGuard();
  const layout = json(4096);
  const views = viewsFor(layout);
  assert.equal(layout.read(views, 0, guard), null, "a never-written slot reads as null");
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
      layout.write(views, 0, value as JsonValue);
      const back = layout.read(views, 0, guard);
      assert.deepEqual(back, JSON.parse(JSON.stringify(value)));
      if (typeof back === "object" && back !== null) assert.notEqual(back, value);
      assert.deepEqual(layout.read(views, 0, guard), back);
    }),
    { numRuns: 200 },
  );
});

test("json: rejects what JSON cannot carry, and text over the budget", () => {
  const layout = json(32);
  const views = viewsFor(layout);
  layout.write(views, 0, { ok: [1, "two", null, true] });
  const before = bytesOf(views);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const typeErrors: unknown[] = [undefined, () => 1, 1n, Symbol("s"), { a: undefined }, [1, undefined], cyclic, new Date(0), new Map(), [, 1], { f() {} }, { n: { deep: 1n } }];
  for (const bad of typeErrors) assert.throws(() => layout.write(views, 0, bad as never), TypeError, inspect(bad));
  for (const bad of [NaN, Infinity, [1, -Infinity], "x".repeat(31), Array(1e9)]) {
    assert.throws(() => layout.write(views, 0, bad as never), RangeError, inspect(bad).slice(0, 40));
  }
  assert.throws(() => layout.check({ a: { b: [1, undefined] } }, "value"), { name: "TypeError", message: /^value\.a\.b\[1\]: undefined has no JSON form/ });
  assert.throws(() => layout.check("é".repeat(20), "value"), { name: "RangeError", message: /42 bytes of UTF-8, over the budget of json\(32\)/ });
  assert.deepEqual(bytesOf(views), before);
  // shared (DAG) references are fine; only cycles are refused
  const shared = { x: 1 };
  layout.write(views, 0, [shared, shared]);
  assert.deepEqual(layout.read(views, 0, new FakeGuard()), [{ x: 1 }, { x: 1 }]);
  // lone surrogates survive: JSON escapes them
  const lone = json(16);
  const lv = viewsFor(lone);
  lone.write(lv, 0, "\ud800x");
  assert.equal(lone.read(lv, 0, new FakeGuard()), "\ud800x");
  // "__proto__" keys stay plain data
  const proto = JSON.parse('{"__proto__": {"polluted": true}}') as JsonValue;
  const pv = viewsFor(json(64));
  json(64).write(pv, 0, proto);
  const back = json(64).read(pv, 0, new FakeGuard()) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.ok(Object.hasOwn(back, "__proto__"));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

// ---------------------------------------------------------------------------------------------------------
// structs and arrays: views

const Player = struct({ name: string(16), pos: struct({ x: f64, y: f64 }), scores: array(u8, 3), id: i64, tags: json(64), ok: bool });
const playerValue = { name: "ferris", pos: { x: 1.5, y: -2 }, scores: [1, 2, 3], id: 7n, tags: ["crab"], ok: true };

test("struct views read and write shared memory field by field", () => {
  const guard = new FakeGuard();
  const views = viewsFor(Player);
  put(Player, views, playerValue);
  const p = Player.read(views, 0, guard);
  assert.equal(p.name, "ferris");
  assert.equal(p.pos.x, 1.5);
  assert.equal(p.scores[2], 3);
  assert.equal(p.id, 7n);
  assert.deepEqual(p.tags, ["crab"]);
  assert.ok(isView(p) && isView(p.pos) && isView(p.scores) && !isView(playerValue));

  p.pos.x += 1;
  p.scores[0] = 200;
  p.scores.set(1, 201);
  p.name = "crab";
  p.pos = { x: 9, y: 10 };
  p.id = -1n;
  const again = Player.read(views, 0, guard);
  assert.deepEqual(plain(again), { name: "crab", pos: { x: 9, y: 10 }, scores: [200, 201, 3], id: -1n, tags: ["crab"], ok: true });
  assert.deepEqual(snapshot(again), plain(again));
  assert.equal(JSON.stringify(again.pos), '{"x":9,"y":10}');
  assert.equal(String(again.pos), "{ x: 9, y: 10 }");
  assert.match(inspect(again), /name: 'crab'/);
  assert.deepEqual(Object.keys(plain(again) as object), ["name", "pos", "scores", "id", "tags", "ok"]);
  const keys: string[] = [];
  for (const key in again) keys.push(key);
  assert.deepEqual(keys, ["name", "pos", "scores", "id", "tags", "ok"]);

  // json fields read as fresh copies: assign to write
  const tags = again.tags as string[];
  tags.push("x");
  assert.deepEqual(again.tags, ["crab"]);
  again.tags = tags;
  assert.deepEqual(again.tags, ["crab", "x"]);
});

test("struct views: bad writes name the path and change nothing", () => {
  const guard = new FakeGuard();
  const views = viewsFor(Player);
  put(Player, views, playerValue);
  const p = Player.read(views, 0, guard);
  const before = bytesOf(views);
  const cases: Array<[() => void, string, RegExp]> = [
    [() => { p.pos.x = "1" as never; }, "TypeError", /^value\.pos\.x: expected a number for f64/],
    [() => { p.scores[1] = 256; }, "RangeError", /^value\.scores\[1\]: 256 is out of range for u8 \(0 to 255\)/],
    [() => { p.scores = [1, 2] as never; }, "RangeError", /^value\.scores: expected exactly 3 elements/],
    [() => { p.pos = { x: 1 } as never; }, "TypeError", /^value\.pos: missing field "y"/],
    [() => { p.pos = { x: 1, y: 2, z: 3 } as never; }, "TypeError", /^value\.pos: unknown field "z"/],
    [() => { p.pos = { x: 1, y: 2n } as never; }, "TypeError", /^value\.pos\.y: /],
    [() => { p.id = 1 as never; }, "TypeError", /^value\.id: .*1n/],
    [() => { p.name = "x".repeat(17); }, "RangeError", /^value\.name: .*17 bytes/],
    [() => { p.scores[3] = 1; }, "RangeError", /^value\.scores: index 3 is out of range/],
    [() => { p.scores[-1] = 1; }, "RangeError", /index -1/],
    [() => { p.scores.set(1.5, 1); }, "RangeError", /index 1\.5/],
    [() => { (p as unknown as Record<string, unknown>).nmae = "typo"; }, "TypeError", /^value: the struct has no field "nmae"/],
    [() => { (p.scores as unknown as Record<string, unknown>).foo = 1; }, "TypeError", /^value\.scores: cannot set "foo"/],
    [() => Player.write(views, 0, { ...playerValue, pos: { x: 1, y: 2 }, ok: 1 } as never), "TypeError", /^value\.ok: expected a boolean/],
    [() => Player.write(views, 0, null as never), "TypeError", /^value: expected an object/],
    [() => Player.write(views, 0, [1, 2] as never), "TypeError", /^value: expected an object/],
  ];
  for (const [f, name, message] of cases) assert.throws(f, { name, message });
  assert.throws(() => p.scores[5], RangeError);
  assert.throws(() => p.scores.get(3), RangeError);
  assert.deepEqual(bytesOf(views), before);
});

test("struct writes take exactly the own fields, each read once in field order (compiled and generic paths agree)", () => {
  const guard = new FakeGuard();
  const Point = struct({ x: i32, "a-b": f64, "0": u8, "with \"quote\"": string(8) });
  const views = viewsFor(Point);
  const reads: string[] = [];
  const source = {};
  for (const [key, value] of [["0", 3], ["with \"quote\"", "q"], ["x", 1], ["a-b", 2.5]] as const) {
    Object.defineProperty(source, key, { enumerable: true, get: () => (reads.push(key), value) });
  }
  Point.write(views, 0, source as never);
  assert.deepEqual(reads, ["0", "x", "a-b", 'with "quote"']); // field order: an object literal puts "0" first
  assert.deepEqual(snapshot(Point.read(views, 0, guard)), { x: 1, "a-b": 2.5, "0": 3, 'with "quote"': "q" });
  // an own field that is not enumerable still counts (the generic path); an inherited one does not
  const hidden = { x: 4, "a-b": 5, "0": 6 };
  Object.defineProperty(hidden, 'with "quote"', { enumerable: false, value: "h" });
  Point.write(views, 0, hidden as never);
  assert.deepEqual(snapshot(Point.read(views, 0, guard)), { x: 4, "a-b": 5, "0": 6, 'with "quote"': "h" });
  const inherited = Object.assign(Object.create({ x: 1 }), { "a-b": 5, "0": 6, 'with "quote"': "h" });
  assert.throws(() => Point.write(views, 0, inherited), { name: "TypeError", message: /^value: missing field "x"/ });
  // as many keys as fields, one of them unknown
  assert.throws(() => Point.write(views, 0, { x: 1, "a-b": 2, "0": 3, y: 4 } as never), { name: "TypeError", message: /^value: missing field "with \\"quote\\""/ });
  // the first bad field is the one named, with its path
  assert.throws(() => Point.write(views, 0, { x: 1, "a-b": "2", "0": 3, 'with "quote"': "too long a string" } as never), { name: "TypeError", message: /^value\["a-b"\]: expected a number/ });
  assert.deepEqual(snapshot(Point.read(views, 0, guard)), { x: 4, "a-b": 5, "0": 6, 'with "quote"': "h" });
  // over 64 fields the generic loops serve (as where run-time compilation is refused): the same rules
  const wideValue = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, i]));
  const Wide = struct(Object.fromEntries(Object.keys(wideValue).map((key) => [key, u8])));
  const wideViews = viewsFor(Wide);
  Wide.write(wideViews, 0, wideValue as never);
  assert.deepEqual(snapshot(Wide.read(wideViews, 0, guard)), wideValue);
  assert.throws(() => Wide.write(wideViews, 0, { ...wideValue, extra: 1 } as never), { name: "TypeError", message: /^value: unknown field "extra"/ });
  assert.throws(() => Wide.write(wideViews, 0, { ...wideValue, f3: 256 } as never), { name: "RangeError", message: /^value\.f3: 256 is out of range/ });
});

test("array views: indexing, get/set, iteration, copies", () => {
  const guard = new FakeGuard();
  const A = array(i32, 5);
  const views = viewsFor(A);
  put(A, views, [1, 2, 3, 4, 5]);
  const a = A.read(views, 0, guard);
  assert.equal(a.length, 5);
  assert.equal(a[4], 5);
  assert.equal(a.get(0), 1);
  a[0] = -1;
  a.set(1, -2);
  assert.deepEqual([...a], [-1, -2, 3, 4, 5]);
  assert.deepEqual(Array.from(a), [-1, -2, 3, 4, 5]);
  assert.deepEqual(a.toArray(), [-1, -2, 3, 4, 5]);
  assert.equal(JSON.stringify(a), "[-1,-2,3,4,5]");
  assert.equal(String(a), "[-1, -2, 3, 4, 5]");
  assert.ok(0 in a && 4 in a && !(5 in a) && !(-1 in a) && "get" in a);
  assert.equal(Array.isArray(a), false);
  assert.equal((a as unknown as Record<string, unknown>).nonexistent, undefined);
  assert.match(inspect(a), /-1, -2, 3, 4, 5/);
  const copy = a.toArray();
  copy[0] = 99;
  assert.equal(a[0], -1);
  // writes take any array-like, including typed arrays and other views
  put(A, views, new Int32Array([5, 4, 3, 2, 1]));
  assert.deepEqual(a.toArray(), [5, 4, 3, 2, 1]);
  const B = array(i32, 5);
  const bv = viewsFor(B);
  B.write(bv, 0, a);
  assert.deepEqual(B.read(bv, 0, guard).toArray(), [5, 4, 3, 2, 1]);
  const C = array(f64, 5); // different element layout: copied element by element
  const cv = viewsFor(C);
  C.write(cv, 0, a as never);
  assert.deepEqual(C.read(cv, 0, guard).toArray(), [5, 4, 3, 2, 1]);
  assert.throws(() => A.write(views, 0, "abcde" as never), TypeError);
  assert.throws(() => A.write(views, 0, { length: 5 } as never), TypeError); // elements are undefined
});

test("arrays of structs and nested arrays give nested views with paths", () => {
  const guard = new FakeGuard();
  const Grid = struct({ rows: array(array(struct({ v: u8, label: string(4) }), 2), 2) });
  const views = viewsFor(Grid);
  const cell = (v: number) => ({ v, label: `c${v}` });
  put(Grid, views, { rows: [[cell(1), cell(2)], [cell(3), cell(4)]] });
  const g = Grid.read(views, 0, guard);
  assert.equal(g.rows[1][0].label, "c3");
  g.rows[1][0].v = 30;
  g.rows.get(0).set(1, cell(20));
  assert.deepEqual(plain(g), { rows: [[cell(1), cell(20)], [{ v: 30, label: "c3" }, cell(4)]] });
  const before = bytesOf(views);
  assert.throws(() => { g.rows[1][1].v = 300; }, { name: "RangeError", message: /^value\.rows\[1\]\[1\]\.v: 300 is out of range for u8/ });
  assert.throws(() => { g.rows[0] = [cell(1), { v: 1, label: "toolong" }] as never; }, { name: "RangeError", message: /^value\.rows\[0\]\[1\]\.label: / });
  assert.throws(() => g.rows[0].set(0, { v: 1 } as never), { name: "TypeError", message: /^value\.rows\[0\]\[0\]: missing field "label"/ });
  assert.deepEqual(bytesOf(views), before);
});

test("assigning a view copies it, including from another buffer and onto itself", () => {
  const guard = new FakeGuard();
  const P = struct({ x: f64, y: f64 });
  const a = viewsFor(P);
  const b = viewsFor(P);
  P.write(a, 0, { x: 1, y: 2 });
  P.write(b, 0, P.read(a, 0, guard));
  assert.deepEqual(plain(P.read(b, 0, guard)), { x: 1, y: 2 });
  const view = P.read(a, 0, guard);
  P.write(a, 0, view);
  assert.deepEqual(plain(view), { x: 1, y: 2 });
  // a struct with the same fields but another layout is copied through a snapshot
  const Q = struct({ x: f32, y: i32 });
  const q = viewsFor(Q);
  Q.write(q, 0, P.read(a, 0, guard) as never);
  assert.deepEqual(plain(Q.read(q, 0, guard)), { x: 1, y: 2 });
  // an array of structs: element views swap through copies
  const L = array(P, 2);
  const lv = viewsFor(L);
  put(L, lv, [{ x: 1, y: 1 }, { x: 2, y: 2 }]);
  const list = L.read(lv, 0, guard);
  const first = snapshot(list[0]);
  list[0] = list[1];
  list[1] = first;
  assert.deepEqual(list.toArray(), [{ x: 2, y: 2 }, { x: 1, y: 1 }]);
});

test("every view access throws once the guard is released", () => {
  const guard = new FakeGuard();
  const views = viewsFor(Player);
  put(Player, views, playerValue);
  const p = Player.read(views, 0, guard);
  const pos = p.pos;
  const scores = p.scores;
  const iterator = scores[Symbol.iterator]();
  iterator.next();
  guard.dead = true;
  const accesses: Array<() => unknown> = [
    () => p.name, () => { p.name = "x"; }, () => p.pos, () => plain(p), () => String(p), () => snapshot(p),
    () => pos.x, () => { pos.x = 1; }, () => plain(pos),
    () => scores[0], () => { scores[0] = 1; }, () => scores.get(0), () => scores.set(0, 1), () => scores.length,
    () => scores.toArray(), () => [...scores], () => iterator.next(), () => JSON.stringify(scores),
    () => { (p as unknown as Record<string, unknown>).typo = 1; },
    () => Player.write(views, 0, p as never), () => Player.write(viewsFor(Player), 0, p as never),
  ];
  const before = bytesOf(views);
  for (const access of accesses) assert.throws(access, /used after unlock/, String(access));
  assert.deepEqual(bytesOf(views), before);
  assert.match(inspect(p), /used after unlock/, "inspecting a released view does not throw");
  // a new read under a live guard works again
  assert.equal(Player.read(views, 0, new FakeGuard()).name, "ferris");
});

test("struct() and array() check their arguments and limits", () => {
  assert.throws(() => struct(null as never), TypeError);
  assert.throws(() => struct({ a: 5 } as never), { name: "TypeError", message: /field "a" is not a layout/ });
  for (const name of RESERVED) {
    const fields = JSON.parse(`{${JSON.stringify(name)}: 0}`) as Record<string, unknown>;
    fields[name] = u8;
    if (name === "__proto__") Object.defineProperty(fields, "__proto__", { value: u8, enumerable: true });
    assert.throws(() => struct(fields as never), { name: "TypeError", message: /reserved/ }, name);
  }
  assert.throws(() => array(u8, -1), RangeError);
  assert.throws(() => array(u8, 1.5), RangeError);
  assert.throws(() => array(u8, "3" as never), TypeError);
  assert.throws(() => array({} as never, 3), TypeError);
  assert.throws(() => array(f64, 2 ** 27 + 1), { name: "RangeError", message: /1 GiB/ });
  assert.throws(() => array(array(u8, 2 ** 20), 2 ** 20), RangeError);
  assert.throws(() => string(-1), RangeError);
  assert.throws(() => string(0.5), RangeError);
  assert.throws(() => string(NaN), RangeError);
  assert.throws(() => json(2 ** 31), RangeError);
  assert.throws(() => bytes(-1), RangeError);
  assert.throws(() => bytes("1" as never), TypeError);
  let deep: Layout<unknown> = u8;
  for (let i = 0; i < LAYOUT_LIMITS.maxDepth; i++) deep = array(deep, 1);
  assert.throws(() => array(deep, 1), { name: "RangeError", message: /32 levels/ });
  assert.throws(() => struct({ deep }), RangeError);
  assert.equal(layoutFromDescriptor(deep.describe()).size, 1);
  // a layout made by another copy of the library is rebuilt from its descriptor
  const foreign = { describe: () => ({ kind: "u16" }) } as unknown as Layout<number>;
  assert.equal(struct({ a: foreign }).size, 2);
});

// ---------------------------------------------------------------------------------------------------------
// random layouts: round trips, atomic rejected writes, descriptors

const PRIMITIVE_KINDS = ["bool", "i8", "u8", "i16", "u16", "i32", "u32", "f32", "f64", "i64", "u64"] as const;

const fieldName = fc.oneof(
  fc.constantFrom("a", "b", "x", "y", "value", "0", "12", "with space", "ünï", "$", "_"),
  fc.string({ minLength: 0, maxLength: 6 }),
).filter((name) => !RESERVED.has(name));

const descriptorArb: fc.Arbitrary<LayoutDescriptor> = fc.letrec<{ node: LayoutDescriptor; leaf: LayoutDescriptor; array: LayoutDescriptor; struct: LayoutDescriptor }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthIdentifier: "layout" }, tie("leaf"), tie("array"), tie("struct")),
  leaf: fc.oneof(
    fc.constantFrom(...PRIMITIVE_KINDS).map((kind) => ({ kind })),
    fc.integer({ min: 0, max: 12 }).map((maxBytes) => ({ kind: "string" as const, maxBytes })),
    fc.integer({ min: 0, max: 6 }).map((length) => ({ kind: "bytes" as const, length })),
    fc.integer({ min: 1, max: 48 }).map((maxBytes) => ({ kind: "json" as const, maxBytes })),
  ),
  array: fc.record({ kind: fc.constant("array" as const), element: tie("node"), length: fc.integer({ min: 0, max: 3 }) }, { noNullPrototype: true }),
  struct: fc.record(
    {
      kind: fc.constant("struct" as const),
      fields: fc.uniqueArray(fc.tuple(fieldName, tie("node")), { selector: (entry) => entry[0], maxLength: 4 }),
    },
    { noNullPrototype: true },
  ),
})).node;

const INT_RANGE: Record<string, [number, number]> = { i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535], i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1] };
const BIG_RANGE: Record<string, [bigint, bigint]> = { i64: [-(2n ** 63n), 2n ** 63n - 1n], u64: [0n, 2n ** 64n - 1n] };

/** Keeps the longest prefix (in code points) of `s` that fits `maxBytes` of UTF-8. */
function fit(s: string, maxBytes: number): string {
  let out = "";
  for (const ch of s) {
    if (utf8(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}

function valueArb(d: LayoutDescriptor): fc.Arbitrary<unknown> {
  switch (d.kind) {
    case "bool":
      return fc.boolean();
    case "f32":
    case "f64":
      return fc.double();
    case "i64":
    case "u64": {
      const [min, max] = BIG_RANGE[d.kind];
      return fc.oneof(fc.bigInt({ min, max }), fc.constantFrom(min, max));
    }
    case "string":
      return fc.string({ unit: "binary", maxLength: 8 }).map((s) => fit(s, d.maxBytes));
    case "bytes":
      return fc.uint8Array({ minLength: d.length, maxLength: d.length });
    case "json":
      return fc.jsonValue({ maxDepth: 2 }).map((v) => (utf8(JSON.stringify(v)) <= d.maxBytes ? v : 7));
    case "array":
      return fc.array(valueArb(d.element), { minLength: d.length, maxLength: d.length });
    case "struct":
      return fc.record(Object.fromEntries(d.fields.map(([name, field]) => [name, valueArb(field)])));
    default: {
      const [min, max] = INT_RANGE[d.kind];
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
  }
}

/** What reading back a written value gives, as a plain snapshot. */
function expected(d: LayoutDescriptor, v: unknown): unknown {
  switch (d.kind) {
    case "f32":
      return Math.fround(v as number);
    case "json":
      return JSON.parse(JSON.stringify(v));
    case "bytes":
      return new Uint8Array(v as Uint8Array);
    case "array":
      return (v as unknown[]).map((item) => expected(d.element, item));
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const [name, field] of d.fields) out[name] = expected(field, (v as Record<string, unknown>)[name]);
      return out;
    }
    case "bool":
    case "f64":
    case "i64":
    case "u64":
    case "string":
      return v;
    default:
      return (v as number) === 0 ? 0 : v;
  }
}

/** Values this layout must refuse. */
function invalidArb(d: LayoutDescriptor): fc.Arbitrary<unknown> {
  switch (d.kind) {
    case "bool":
      return fc.constantFrom(0, 1, "true", null, undefined);
    case "f32":
    case "f64":
      return fc.constantFrom("1", 1n, null, undefined, true);
    case "i64":
    case "u64": {
      const [min, max] = BIG_RANGE[d.kind];
      return fc.constantFrom(min - 1n, max + 1n, 1, "1", null);
    }
    case "string":
      return fc.constantFrom("x".repeat(d.maxBytes + 1), "é".repeat(Math.floor(d.maxBytes / 2) + 1), "\ud800", 5, null);
    case "bytes":
      return fc.constantFrom(new Uint8Array(d.length + 1), Array(d.length).fill(0), "abc", null);
    case "json":
      return fc.constantFrom(undefined, 1n, NaN, { a: undefined }, "x".repeat(d.maxBytes), Symbol("s"));
    case "array":
      return fc.oneof(
        fc.constantFrom(Array(d.length + 1).fill(0), "abc", 5, null),
        ...(d.length > 0
          ? [fc.tuple(valueArb(d), fc.nat(d.length - 1), invalidArb(d.element)).map(([value, i, bad]) => {
              const copy = [...(value as unknown[])];
              copy[i] = bad;
              return copy;
            })]
          : []),
      );
    case "struct":
      return fc.oneof(
        valueArb(d).map((value) => ({ ...(value as object), "extra field": 1 })),
        fc.constantFrom(null, 5, [], "x"),
        ...(d.fields.length > 0
          ? [
              fc.tuple(valueArb(d), fc.nat(d.fields.length - 1)).map(([value, i]) => {
                const copy = { ...(value as Record<string, unknown>) };
                delete copy[d.fields[i][0]];
                return copy;
              }),
              fc.tuple(valueArb(d), fc.nat(d.fields.length - 1)).chain(([value, i]) =>
                invalidArb(d.fields[i][1]).map((bad) => ({ ...(value as object), [d.fields[i][0]]: bad })),
              ),
            ]
          : []),
      );
    default: {
      const [min, max] = INT_RANGE[d.kind];
      return fc.constantFrom(min - 1, max + 1, 0.5, NaN, Infinity, "1", 1n, null);
    }
  }
}

test("random layouts: write then read gives the value back, through the descriptor too", () => {
  const guard = new FakeGuard();
  fc.assert(
    fc.property(descriptorArb.chain((d) => fc.tuple(fc.constant(d), valueArb(d))), ([d, value]) => {
      const layout = layoutFromDescriptor(d);
      assert.deepEqual(layout.describe(), d);
      const views = viewsFor(layout);
      layout.write(views, 0, value);
      assert.deepEqual(snapshot(layout.read(views, 0, guard)), expected(d, value));
      // the same layout rebuilt from a structured-cloned descriptor reads the same bytes the same way
      const again = layoutFromDescriptor(structuredClone(layout.describe()));
      assert.ok(layoutsEqual(again, layout));
      assert.equal(again.size, layout.size);
      assert.deepEqual(snapshot(again.read(views, 0, guard)), expected(d, value));
      // writing a view (or the snapshot) back is a no-op
      const bytes = bytesOf(views);
      layout.write(views, 0, layout.read(views, 0, guard));
      layout.write(views, 0, snapshot(layout.read(views, 0, guard)));
      assert.deepEqual(bytesOf(views), bytes);
    }),
    { numRuns: 300 },
  );
});

test("random layouts: a rejected write throws TypeError/RangeError and leaves every byte intact", () => {
  const guard = new FakeGuard();
  fc.assert(
    fc.property(
      descriptorArb.chain((d) => fc.tuple(fc.constant(d), valueArb(d), invalidArb(d))),
      ([d, good, bad]) => {
        const layout = layoutFromDescriptor(d);
        const views = viewsFor(layout);
        layout.write(views, 0, good);
        const before = bytesOf(views);
        assert.throws(() => layout.write(views, 0, bad), isLayoutError);
        assert.throws(() => layout.check(bad, "value"), isLayoutError);
        assert.deepEqual(bytesOf(views), before);
        // through a view's setter as well
        const view = layout.read(views, 0, guard) as unknown;
        if (d.kind === "struct" && d.fields.length > 0) {
          const [name, field] = d.fields[0];
          const badField = fc.sample(invalidArb(field), 1)[0];
          assert.throws(() => { (view as Record<string, unknown>)[name] = badField; }, isLayoutError);
        } else if (d.kind === "array" && d.length > 0) {
          const badElement = fc.sample(invalidArb(d.element), 1)[0];
          assert.throws(() => { (view as Record<number, unknown>)[d.length - 1] = badElement; }, isLayoutError);
        }
        assert.deepEqual(bytesOf(views), before);
      },
    ),
    { numRuns: 300 },
  );
});

test("factories and descriptors agree", () => {
  fc.assert(
    fc.property(descriptorArb, (d) => {
      const build = (x: LayoutDescriptor): Layout<unknown> => {
        switch (x.kind) {
          case "string": return string(x.maxBytes);
          case "bytes": return bytes(x.length);
          case "json": return json(x.maxBytes);
          case "array": return array(build(x.element), x.length);
          case "struct": {
            const fields: Record<string, Layout<unknown>> = {};
            for (const [name, field] of x.fields) fields[name] = build(field);
            return struct(fields);
          }
          default: return { bool, i8, u8, i16, u16, i32, u32, f32, f64, i64, u64 }[x.kind];
        }
      };
      const made = build(d);
      const rebuilt = layoutFromDescriptor(made.describe());
      assert.ok(layoutsEqual(made, rebuilt));
      assert.equal(made.size, rebuilt.size);
      assert.equal(made.align, rebuilt.align);
      assert.equal(made.size % made.align, 0);
    }),
    { numRuns: 200 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// forged descriptors

test("layoutFromDescriptor rejects forged descriptors with a clear TypeError or RangeError", () => {
  const cyclic: Record<string, unknown> = { kind: "array", length: 1 };
  cyclic.element = cyclic;
  const cyclicStruct: Record<string, unknown> = { kind: "struct", fields: [] };
  (cyclicStruct.fields as unknown[]).push(["self", cyclicStruct]);
  const sparse: unknown[] = [];
  sparse.length = 2 ** 32 - 1;
  let deep: Record<string, unknown> = { kind: "u8" };
  for (let i = 0; i < 100_000; i++) deep = { kind: "array", element: deep, length: 1 };
  let dag: Record<string, unknown> = { kind: "u8" };
  for (let i = 0; i < 30; i++) dag = { kind: "struct", fields: [["a", dag], ["b", dag]] };
  const throwing = new Proxy({}, { get() { throw new Error("boom"); }, ownKeys() { throw new Error("boom"); }, getOwnPropertyDescriptor() { throw new Error("boom"); } });
  const cases: Array<[unknown, "TypeError" | "RangeError", RegExp?]> = [
    [undefined, "TypeError"], [null, "TypeError"], [42, "TypeError"], ["i32", "TypeError"], [[], "TypeError"], [{}, "TypeError"],
    [{ kind: "i128" }, "TypeError", /unknown layout kind "i128"/],
    [{ kind: "toString" }, "TypeError", /unknown layout kind/],
    [{ kind: "__proto__" }, "TypeError", /unknown layout kind/],
    [{ kind: "i32", extra: 1 }, "TypeError", /unexpected property "extra"/],
    [JSON.parse('{"kind":"i32","__proto__":{"kind":"struct"}}'), "TypeError", /unexpected property "__proto__"/],
    [{ kind: "string" }, "TypeError", /needs the property "maxBytes"/],
    [{ kind: "string", maxBytes: -1 }, "RangeError", /^descriptor\.maxBytes: /],
    [{ kind: "string", maxBytes: 1.5 }, "RangeError"],
    [{ kind: "string", maxBytes: NaN }, "RangeError"],
    [{ kind: "string", maxBytes: Infinity }, "RangeError"],
    [{ kind: "string", maxBytes: 2 ** 40 }, "RangeError"],
    [{ kind: "string", maxBytes: "8" }, "TypeError"],
    [{ kind: "json", maxBytes: null }, "TypeError"],
    [{ kind: "bytes", length: -0.5 }, "RangeError"],
    [{ kind: "bytes", length: 2 ** 31 }, "RangeError"],
    [{ kind: "array", element: { kind: "u8" }, length: 2 ** 31 }, "RangeError"],
    [{ kind: "array", element: { kind: "f64" }, length: 2 ** 27 + 1 }, "RangeError", /1 GiB/],
    [{ kind: "array", element: { kind: "array", element: { kind: "u8" }, length: 2 ** 20 }, length: 2 ** 20 }, "RangeError"],
    [{ kind: "array", element: { kind: "struct", fields: [] }, length: 2 ** 28 + 1 }, "RangeError"],
    [{ kind: "array", element: { kind: "array", element: { kind: "bytes", length: 0 }, length: 2 ** 20 }, length: 2 ** 20 }, "RangeError"],
    [{ kind: "array", length: 1 }, "TypeError"],
    [{ kind: "array", element: "u8", length: 1 }, "TypeError", /^descriptor\.element: /],
    [{ kind: "struct", fields: {} }, "TypeError"],
    [{ kind: "struct", fields: [["a"]] }, "TypeError", /^descriptor\.fields\[0\]: /],
    [{ kind: "struct", fields: [["a", { kind: "u8" }, 1]] }, "TypeError"],
    [{ kind: "struct", fields: [[1, { kind: "u8" }]] }, "TypeError"],
    [{ kind: "struct", fields: [["a", { kind: "u8" }], ["a", { kind: "u16" }]] }, "TypeError", /duplicate field "a"/],
    [{ kind: "struct", fields: [["__proto__", { kind: "u8" }]] }, "TypeError", /reserved/],
    [{ kind: "struct", fields: [["constructor", { kind: "u8" }]] }, "TypeError", /reserved/],
    [{ kind: "struct", fields: [["x".repeat(5000), { kind: "u8" }]] }, "TypeError", /longer than the limit/],
    [{ kind: "struct", fields: [["a", { kind: "struct", fields: [["b", { kind: "nope" }]] }]] }, "TypeError", /^descriptor\.fields\[0\]\[1\]\.fields\[0\]\[1\]\.kind|^descriptor\.fields\[0\]\[1\]\.fields\[0\]\[1\]: unknown layout kind/],
    [{ kind: "struct", fields: sparse }, "RangeError"],
    [cyclic, "TypeError", /cyclic/],
    [cyclicStruct, "TypeError", /cyclic/],
    [deep, "RangeError", /32 levels/],
    [dag, "RangeError"],
    [throwing, "TypeError"],
  ];
  for (const [descriptor, name, message] of cases) {
    assert.throws(() => layoutFromDescriptor(descriptor), (error: Error) => {
      assert.equal(error.name, name, `${inspect(descriptor, { depth: 2 }).slice(0, 200)}: ${error.message}`);
      // Refused by the library's own checks, before any work in proportion to the claimed size: an allocation
      // failure or a stack overflow would be a RangeError too, but not one that names the descriptor's path.
      assert.match(error.message, /^descriptor(\.|\[|: )/, `${inspect(descriptor, { depth: 2 }).slice(0, 200)}: ${error.message}`);
      if (message) assert.match(error.message, message);
      return true;
    });
  }
  // the largest accepted layouts allocate nothing
  assert.equal(layoutFromDescriptor({ kind: "array", element: { kind: "f64" }, length: 2 ** 27 }).size, 2 ** 30);
  assert.equal(layoutFromDescriptor({ kind: "bytes", length: 2 ** 30 }).size, 2 ** 30);
});

test("layoutFromDescriptor gives equal descriptors the same layout", () => {
  const d = Player.describe();
  const a = layoutFromDescriptor(structuredClone(d));
  const b = layoutFromDescriptor(JSON.parse(JSON.stringify(d)));
  assert.equal(a, b);
  assert.ok(layoutsEqual(a, Player));
  assert.ok(Object.isFrozen(d));
});

test("fuzz: layoutFromDescriptor(fc.anything()) throws TypeError/RangeError or returns a valid layout", () => {
  const outcome = (input: unknown): void => {
    let layout: Layout<unknown>;
    try {
      layout = layoutFromDescriptor(input);
    } catch (error) {
      assert.ok(isLayoutError(error), `unexpected ${String(error)}`);
      return;
    }
    assert.ok(Number.isInteger(layout.size) && layout.size >= 0 && layout.size <= LAYOUT_LIMITS.maxSize);
    assert.ok([1, 2, 4, 8].includes(layout.align));
    assert.ok(layoutsEqual(layoutFromDescriptor(structuredClone(layout.describe())), layout));
  };
  fc.assert(
    fc.property(
      fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true, maxDepth: 3 }),
      (input) => outcome(input),
    ),
    { numRuns: 300 },
  );
  // mutate valid descriptors: change, add or delete one property anywhere, or link a node into a cycle or DAG
  const special = fc.oneof(
    fc.anything({ maxDepth: 1 }),
    fc.constantFrom(-1, 0, 1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, -0, "8", null, undefined, [], {}, "struct", "array", "u8", "__proto__", "constructor"),
  );
  const keys = fc.constantFrom("kind", "maxBytes", "length", "element", "fields", "0", "1", "2", "__proto__", "extra");
  fc.assert(
    fc.property(descriptorArb, fc.array(fc.tuple(fc.nat(), keys, fc.oneof(special, fc.constant("<root>"), fc.constant("<node>"), fc.constant("<delete>")), fc.nat()), { minLength: 1, maxLength: 3 }), (d, mutations) => {
      const root = structuredClone(d) as unknown as Record<string, unknown>;
      const containers: Array<Record<string, unknown>> = [];
      const collect = (x: unknown): void => {
        if (typeof x !== "object" || x === null || containers.includes(x as Record<string, unknown>)) return;
        containers.push(x as Record<string, unknown>);
        for (const value of Object.values(x)) collect(value);
      };
      collect(root);
      for (const [at, key, value, other] of mutations) {
        const target = containers[at % containers.length];
        const replacement = value === "<root>" ? root : value === "<node>" ? containers[other % containers.length] : value;
        // (an own "__proto__" property, as JSON.parse would make, not a prototype change)
        try {
          if (value === "<delete>") Reflect.deleteProperty(target, key);
          else Reflect.defineProperty(target, key, { value: replacement, enumerable: true, configurable: true, writable: true });
        } catch {
          // e.g. an array's length set to a non-number: not a mutation we can make
        }
      }
      outcome(root);
    }),
    { numRuns: 500 },
  );
});

test("a read-only liveness (an RwLock read guard) refuses writes through every view, and still reads", () => {
  const layout = struct({ n: i32, inner: struct({ x: f64 }), xs: array(i32, 2), grid: array(struct({ v: i32 }), 2) });
  const views = viewsFor(layout);
  put(layout, views, { n: 1, inner: { x: 2 }, xs: [3, 4], grid: [{ v: 5 }, { v: 6 }] });
  const before = bytesOf(views);
  const reader: Liveness = { assertLive() {}, readOnly: true };
  const v = layout.read(views, 0, reader);
  const attempts: Array<[string, () => void]> = [
    ["value.n", () => (v.n = 9)],
    ["value.inner.x", () => (v.inner.x = 9)],
    ["value.inner", () => (v.inner = { x: 9 })],
    ["value.xs[1]", () => (v.xs[1] = 9)],
    ["value.xs[0]", () => v.xs.set(0, 9)],
    ["value.grid[1].v", () => (v.grid.get(1).v = 9)],
  ];
  for (const [path, attempt] of attempts) {
    assert.throws(attempt, (e: unknown) => e instanceof TypeError && e.message.startsWith(`${path}: read-only`), path);
  }
  assert.deepEqual(bytesOf(views), before, "nothing was written");
  assert.deepEqual(plain(v), { n: 1, inner: { x: 2 }, xs: [3, 4], grid: [{ v: 5 }, { v: 6 }] });
  // The same layout through a writable liveness writes.
  const w = layout.read(views, 0, new FakeGuard());
  w.inner.x = 7;
  w.xs[1] = 8;
  assert.deepEqual(plain(w), { n: 1, inner: { x: 7 }, xs: [3, 8], grid: [{ v: 5 }, { v: 6 }] });
});
