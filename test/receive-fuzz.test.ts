// receive() is the door through which untrusted data enters a thread. Fuzzed with arbitrary values and with real
// messages from share() that were then mutated, it must either return or throw a TypeError/RangeError whose
// message starts with "threadsafe:" — never another error class, never a hang — and the real mutex must keep
// working with its value intact. Runs are seeded, so a failure reproduces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { Mutex, MutexGuard, PoisonError, array, f64, i32, i64, receive, share, string, struct, type Infer } from "threadsafe";

const SEED = 20_240_611;

const layout = struct({ a: i32, s: string(16), xs: array(f64, 3) });
type Fuzzed = Infer<typeof layout>;
const initial = { a: 7, s: "intact", xs: [1.5, 2.5, 3.5] };
const m = new Mutex(layout, initial, { name: "fuzz-target" });
const other = new Mutex(i64, 5n, { name: "fuzz-other" });
const base = share({ m, n: [1, 2] });
const realHandle = (base as unknown as { value: { m: Record<string, unknown> } }).value.m;
const realRuntime = realHandle["runtime"] as SharedArrayBuffer;
const realData = realHandle["data"] as SharedArrayBuffer;
const realDescriptor = realHandle["layout"];

const ENVELOPE = "__threadsafe_shared__";
const HANDLE = "__threadsafe_handle__";
const ERROR = "__threadsafe_error__";

/** How receive() ended, with the first line of any error, for the summary. */
const tally = new Map<string, number>();
function count(key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
process.on("exit", () => {
  const rows = [...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(5)}  ${k}`);
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  if (rows.length > 0) console.log(`# receive() outcomes (${total} calls, ${rows.length} kinds; the 12 most common):\n#   ${rows.slice(0, 12).join("\n#   ")}`);
});

function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name} (name ${e.name}): ${e.message}`;
  return `a non-Error ${typeof e}: ${String(e)}`;
}

/** The message key of an outcome: the message with numbers and quoted text blanked out. */
function shape(message: string): string {
  return message.split("\n")[0]!.replace(/"[^"]*"/g, '"…"').replace(/-?\d+(\.\d+)?(e[+-]?\d+)?n?/g, "N").slice(0, 140);
}

/** Uses a mutex that receive() returned a little, as a receiving thread would, without writing to it. */
function touch(value: unknown): void {
  const candidate = (value as { m?: unknown } | null)?.m;
  if (!(candidate instanceof Mutex)) return;
  void candidate.name;
  void candidate.isPoisoned();
  let guard: MutexGuard<unknown> | undefined;
  try {
    guard = candidate.tryLock();
    if (guard) JSON.stringify(guard.value);
  } catch (e) {
    if (e instanceof PoisonError) {
      (e.intoInner() as MutexGuard<unknown>).unlock();
      return;
    }
    // Reading through a forged layout may be refused; it must be a TypeError/RangeError, never a crash.
    if (!(e instanceof TypeError || e instanceof RangeError)) throw new Error(`reading a received mutex threw ${describeThrown(e)}`);
  } finally {
    if (guard?.held) guard.unlock();
  }
}

/**
 * The property itself: receive returns, or throws TypeError/RangeError starting "threadsafe:". (A receive() that
 * hangs is caught by the test's timeout, or by runReceiver's deadline for a worker.)
 */
function receiveChecked(message: unknown): void {
  let value: unknown;
  try {
    value = receive(message);
  } catch (e) {
    const ok =
      e instanceof Error &&
      (Object.getPrototypeOf(e) === TypeError.prototype || Object.getPrototypeOf(e) === RangeError.prototype) &&
      e.message.startsWith("threadsafe:");
    if (!ok) throw new Error(`receive() threw ${describeThrown(e)}`);
    count(`threw ${(e as Error).name}: ${shape((e as Error).message)}`);
    return;
  }
  count(value !== null && typeof value === "object" && (value as { m?: unknown }).m instanceof Mutex ? "returned a Mutex" : "returned");
  touch(value);
}

/** The real mutexes (and `extra`, when given) are unpoisoned, free, and hold their values. */
function assertRealIntact(extra?: Mutex<Fuzzed>): void {
  const checks: Array<[Mutex<never>, unknown, (g: MutexGuard<never>) => unknown]> = [
    [m as Mutex<never>, initial, (g) => JSON.parse(JSON.stringify(g.value))],
    [other as Mutex<never>, 5n, (g) => g.value],
  ];
  if (extra) checks.push([extra as Mutex<never>, initial, (g) => JSON.parse(JSON.stringify(g.value))]);
  for (const [mutex, expected, read] of checks) {
    assert.equal(mutex.isPoisoned(), false, `${mutex.name} poisoned`);
    const g = mutex.tryLock();
    assert.ok(g, `${mutex.name} was left locked`);
    try {
      assert.deepEqual(read(g), expected, `${mutex.name} changed`);
    } finally {
      g.unlock();
    }
  }
}

/**
 * A new mutex like `m` and its message. A thread caches the mutexes it revived by lock id and returns the cached one
 * without looking at the rest of the handle, so mutating one shared message would mostly test that cache; a lock
 * this thread never revived makes every run go through the full validation.
 */
let targets = 0;
function freshTarget(): { mutex: Mutex<Fuzzed>; message: unknown } {
  const mutex = new Mutex(layout, initial, { name: `fuzz-${targets++}` });
  return { mutex, message: share({ m: mutex, n: [1, 2] }) };
}

/** A deep copy of arrays and plain objects; buffers and everything else stay shared (as postMessage does for SABs). */
function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) Object.defineProperty(out, key, { value: clone((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    return out as T;
  }
  return value;
}

// ## Arbitraries

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  maxDepth: 4,
});

const weirdNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(-1, -0, 0.5, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.NaN, Infinity, -Infinity, 65_535, 65_536, 1e9),
  fc.double(),
);

/** A lock id: garbage, or a real one (this mutex's, the other mutex's, one past the end). */
const lockIdArb = fc.oneof(
  weirdNumber,
  fc.constantFrom(m.lockId, other.lockId, other.lockId + 1, `${m.lockId}`, 0n, null, undefined),
  anything,
);

type BufferChoice =
  | { readonly kind: "sab" | "growable" | "ab" | "u8"; readonly size: number }
  | { readonly kind: "real-runtime" | "real-data" }
  | { readonly kind: "runtime-copy"; readonly header: readonly number[]; readonly keep: readonly string[] }
  | { readonly kind: "value"; readonly value: unknown };

const headerKeep = fc.subarray(["magic", "version", "id", "maxLocks", "lockCount", "arena"]);

const bufferArb: fc.Arbitrary<BufferChoice> = fc.oneof(
  fc.record({ kind: fc.constantFrom("sab" as const, "growable" as const, "ab" as const, "u8" as const), size: fc.oneof(fc.nat(256), fc.constantFrom(realRuntime.byteLength, realData.byteLength, realRuntime.byteLength - 4, 127, 128, 129)) }),
  fc.record({ kind: fc.constantFrom("real-runtime" as const, "real-data" as const) }),
  fc.record({ kind: fc.constant("runtime-copy" as const), header: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 32, maxLength: 32 }), keep: headerKeep }),
  fc.record({ kind: fc.constant("value" as const), value: anything }),
);

/** One reusable full-size copy of the runtime buffer, whose header each run overwrites (never joined here). */
const runtimeCopy = new SharedArrayBuffer(realRuntime.byteLength);
new Uint8Array(runtimeCopy).set(new Uint8Array(realRuntime));
const HEADER_WORDS_KEPT: Record<string, readonly number[]> = { magic: [0], version: [1], id: [2, 3], maxLocks: [4], lockCount: [5], arena: [6] };

function corruptedRuntimeCopy(header: readonly number[], keep: readonly string[]): SharedArrayBuffer {
  const words = new Int32Array(runtimeCopy, 0, 32);
  const real = new Int32Array(realRuntime, 0, 32);
  for (let i = 0; i < 32; i++) words[i] = header[i]!;
  for (const part of keep) for (const i of HEADER_WORDS_KEPT[part]!) words[i] = Atomics.load(real, i);
  return runtimeCopy;
}

function makeBuffer(choice: BufferChoice): unknown {
  switch (choice.kind) {
    case "sab":
      return new SharedArrayBuffer(choice.size);
    case "growable":
      return new SharedArrayBuffer(choice.size, { maxByteLength: choice.size + 64 });
    case "ab":
      return new ArrayBuffer(choice.size);
    case "u8":
      return new Uint8Array(new SharedArrayBuffer(choice.size));
    case "real-runtime":
      return realRuntime;
    case "real-data":
      return realData;
    case "runtime-copy":
      return corruptedRuntimeCopy(choice.header, choice.keep);
    case "value":
      return choice.value;
  }
}

const KINDS = ["bool", "i8", "u8", "i16", "u16", "i32", "u32", "f32", "f64", "i64", "u64", "string", "bytes", "json", "array", "struct"];

/** Layout descriptors: garbage, near-misses of real ones, and real ones that do not match the data. */
const descriptorArb: fc.Arbitrary<unknown> = fc.letrec<{ d: unknown }>((tie) => ({
  d: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<unknown>(
      { kind: "i32" },
      { kind: "f64" },
      { kind: "string", maxBytes: 4 },
      { kind: "string", maxBytes: 100_000 },
      { kind: "bytes", length: 2 ** 30 },
      { kind: "json", maxBytes: 3 },
      { kind: "array", element: { kind: "i64" }, length: 1000 },
      { kind: "struct", fields: [] },
      { kind: "struct", fields: [["__proto__", { kind: "i32" }]] },
      { kind: "struct", fields: [["a", { kind: "i32" }], ["a", { kind: "i32" }]] },
      JSON.parse('{"kind":"i32","__proto__":{"kind":"f64"}}'),
    ),
    fc.record(
      {
        kind: fc.oneof(fc.constantFrom(...KINDS, "nope", "__proto__", "constructor", "toString", ""), anything),
        maxBytes: fc.oneof(weirdNumber, anything),
        length: fc.oneof(weirdNumber, anything),
        element: tie("d"),
        fields: fc.oneof(fc.array(fc.tuple(fc.oneof(fc.string(), anything), tie("d")), { maxLength: 4 }), anything),
      },
      { requiredKeys: [] },
    ),
    anything,
  ),
})).d;

/** Nesting deeper than the limits. */
function deepArray(depth: number): unknown {
  let d: unknown = { kind: "i32" };
  for (let i = 0; i < depth; i++) d = { kind: "array", element: d, length: 1 };
  return d;
}

const layoutArb = fc.oneof(
  descriptorArb,
  fc.integer({ min: 30, max: 70 }).map(deepArray),
  // The real descriptor with one change.
  fc.tuple(fc.nat(2), fc.oneof(weirdNumber, anything)).map(([i, v]) => {
    const d = clone(realDescriptor) as { fields: Array<[string, Record<string, unknown>]> };
    const field = d.fields[i]![1];
    if (field["kind"] === "string") field["maxBytes"] = v;
    else if (field["kind"] === "array") field["length"] = v;
    else field["kind"] = v;
    return d;
  }),
);

type Target = "envelope" | "value" | "handle" | "n";
const targetArb = fc.constantFrom<Target>("envelope", "value", "handle", "n");
const keyArb = fc.oneof(
  fc.constantFrom(ENVELOPE, "value", HANDLE, ERROR, "threadsafe", "runtime", "id", "data", "layout", "m", "n", "constructor", "toString", "0"),
  fc.string({ maxLength: 8 }),
);

type Mutation =
  | { readonly op: "id"; readonly v: unknown }
  | { readonly op: "runtime" | "data"; readonly b: BufferChoice }
  | { readonly op: "layout"; readonly v: unknown }
  | { readonly op: "kind"; readonly v: unknown }
  | { readonly op: "delete"; readonly target: Target; readonly key: string }
  | { readonly op: "proto"; readonly target: Target; readonly v: unknown }
  | { readonly op: "set"; readonly target: Target; readonly key: string; readonly v: unknown }
  | { readonly op: "replace"; readonly target: "handle" | "value" | "n"; readonly v: unknown }
  | { readonly op: "swap-runtime-data" }
  | { readonly op: "version"; readonly v: unknown };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("id" as const), v: lockIdArb }),
  fc.record({ op: fc.constantFrom("runtime" as const, "data" as const), b: bufferArb }),
  fc.record({ op: fc.constant("layout" as const), v: layoutArb }),
  fc.record({ op: fc.constant("kind" as const), v: fc.oneof(fc.constantFrom("RwLock", "mutex", "Mutex ", "", "Error", "__proto__"), anything) }),
  fc.record({ op: fc.constant("delete" as const), target: targetArb, key: keyArb }),
  fc.record({ op: fc.constant("proto" as const), target: targetArb, v: fc.oneof(anything, fc.constant<unknown>({ [HANDLE]: "Mutex" }), fc.constant<unknown>(null)) }),
  fc.record({ op: fc.constant("set" as const), target: targetArb, key: keyArb, v: anything }),
  fc.record({ op: fc.constantFrom("replace" as const), target: fc.constantFrom("handle" as const, "value" as const, "n" as const), v: anything }),
  fc.record({ op: fc.constant("swap-runtime-data" as const) }),
  fc.record({ op: fc.constant("version" as const), v: fc.oneof(fc.constantFrom(0, 2, "1", 1n, true, null), anything) }),
);

function targetOf(message: Record<string, unknown>, target: Target): Record<string, unknown> | undefined {
  const value = message["value"] as Record<string, unknown> | undefined;
  const pick = target === "envelope" ? message : target === "value" ? value : target === "handle" ? value?.["m"] : value?.["n"];
  return pick !== null && typeof pick === "object" ? (pick as Record<string, unknown>) : undefined;
}

function define(object: Record<string, unknown>, key: string, v: unknown): void {
  Object.defineProperty(object, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A fresh copy of a real message (by default the one of `m`) with the mutations applied. */
function mutated(mutations: readonly Mutation[], real: unknown = base): Record<string, unknown> {
  const message = clone(real) as unknown as Record<string, unknown>;
  for (const mu of mutations) {
    const handle = targetOf(message, "handle");
    switch (mu.op) {
      case "id":
        if (handle) handle["id"] = mu.v;
        break;
      case "runtime":
      case "data":
        if (handle) handle[mu.op] = makeBuffer(mu.b);
        break;
      case "layout":
        if (handle) handle["layout"] = mu.v;
        break;
      case "kind":
        if (handle) handle[HANDLE] = mu.v;
        break;
      case "delete": {
        const t = targetOf(message, mu.target);
        if (t) delete t[mu.key];
        break;
      }
      case "proto": {
        const t = targetOf(message, mu.target);
        if (t) define(t, "__proto__", mu.v);
        break;
      }
      case "set": {
        const t = targetOf(message, mu.target);
        if (t) define(t, mu.key, mu.v);
        break;
      }
      case "replace": {
        const value = message["value"] as Record<string, unknown> | undefined;
        if (mu.target === "value") message["value"] = mu.v;
        else if (value !== null && typeof value === "object") value[mu.target === "handle" ? "m" : "n"] = mu.v;
        break;
      }
      case "swap-runtime-data":
        if (handle) [handle["runtime"], handle["data"]] = [handle["data"], handle["runtime"]];
        break;
      case "version":
        message[ENVELOPE] = mu.v;
        break;
    }
  }
  return message;
}

const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

// ## Properties in this thread (it created the runtime, so it has joined it)

test("sanity: the unmutated message revives a working mutex", { timeout: 10_000 }, () => {
  const back = receive<{ m: Mutex<Fuzzed>; n: number[] }>(clone(base));
  assert.ok(back.m instanceof Mutex);
  assert.equal(back.m.name, "fuzz-target");
  assert.deepEqual(back.n, [1, 2]);
  assert.deepEqual(back.m.with((g) => JSON.parse(JSON.stringify(g.value))), initial);
  assertRealIntact();
});

test("receive(fc.anything()), bare and inside an envelope: returns or throws TypeError/RangeError \"threadsafe: …\"", { timeout: 20_000 }, () => {
  const errorRecord = fc.record(
    { [ERROR]: fc.oneof(fc.constant(true), anything), name: fc.oneof(fc.constantFrom("PoisonError", "ThreadError", "TypeError", "__proto__", "constructor", "Error"), anything), message: anything, stack: anything, props: anything, cause: anything },
    { requiredKeys: [ERROR] },
  );
  const handleRecord = fc.record(
    { [HANDLE]: fc.oneof(fc.constant("Mutex"), anything), threadsafe: anything, runtime: fc.oneof(fc.constant(realRuntime), anything), id: lockIdArb, generation: fc.oneof(fc.constant(0), anything), data: fc.oneof(fc.constant(realData), anything), layout: layoutArb },
    { requiredKeys: [HANDLE] },
  );
  const inner = fc.oneof(anything, errorRecord, handleRecord, fc.array(fc.oneof(anything, handleRecord, errorRecord), { maxLength: 4 }));
  const arb = fc.oneof(
    anything,
    inner.map((value) => ({ [ENVELOPE]: 1, value })),
    fc.tuple(fc.oneof(anything, fc.constant(1)), inner).map(([version, value]) => ({ [ENVELOPE]: version, value })),
  );
  fc.assert(
    fc.property(arb, (message) => {
      receiveChecked(message);
      assertRealIntact();
    }),
    { numRuns: 700, seed: SEED },
  );
});

test("receive(share({ m, n: [1, 2] }) mutated): lock ids, buffers, layouts, kinds, deleted and __proto__ keys", { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(mutationsArb, (mutations) => {
      const target = freshTarget();
      receiveChecked(mutated(mutations, target.message));
      assertRealIntact(target.mutex);
    }),
    { numRuns: 1000, seed: SEED + 1 },
  );
});

test("receive of a handle whose runtime buffer is a right-size copy with a garbage header", { timeout: 20_000 }, () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 32, maxLength: 32 }),
      headerKeep,
      (header, keep) => {
        const target = freshTarget();
        receiveChecked(mutated([{ op: "runtime", b: { kind: "runtime-copy", header, keep } }], target.message));
        assertRealIntact(target.mutex);
      },
    ),
    { numRuns: 300, seed: SEED + 2 },
  );
});

// ## Other threads: raw workers, guarded by a deadline (a hang fails instead of hanging the test)

interface WorkerResult {
  readonly outcome: "returned" | "threw";
  readonly read?: unknown;
  readonly isError?: boolean;
  readonly ctor?: string;
  readonly name?: string;
  readonly message?: string;
}

async function runReceiver(messages: unknown[], deadlineMs = 15_000): Promise<WorkerResult[]> {
  const worker = new Worker(new URL("./support/receiver.mjs", import.meta.url), { workerData: { messages }, execArgv: [] });
  try {
    return await new Promise<WorkerResult[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the receiving worker did not finish within ${deadlineMs} ms: receive() hangs`)), deadlineMs);
      worker.once("message", (results: WorkerResult[]) => {
        clearTimeout(timer);
        resolve(results);
      });
      worker.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      worker.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the receiving worker exited (${code}) without reporting`));
      });
    });
  } finally {
    await worker.terminate();
  }
}

function checkWorkerResult(label: string, r: WorkerResult): void {
  assert.ok(r.outcome === "returned" || r.outcome === "threw", `${label}: ${JSON.stringify(r)}`);
  if (r.outcome === "returned") return;
  assert.ok(
    r.isError && (r.ctor === "TypeError" || r.ctor === "RangeError") && r.name === r.ctor && r.message!.startsWith("threadsafe:"),
    `${label}: receive() threw ${r.ctor} (name ${r.name}): ${r.message}`,
  );
}

test("a worker that joined the runtime receives 200 mutated messages, then a real one: right errors, no hang, data intact", { timeout: 30_000 }, async () => {
  const mutations = fc.sample(mutationsArb, { numRuns: 200, seed: SEED + 3 });
  const targetMutexes: Array<Mutex<Fuzzed>> = [];
  // runtime-copy buffers share one SharedArrayBuffer here; give each message its own copy of the header it had.
  const forged = mutations.map((mu) => {
    const target = freshTarget();
    targetMutexes.push(target.mutex);
    const message = mutated(mu, target.message);
    const handle = targetOf(message, "handle");
    if (handle && handle["runtime"] === runtimeCopy) {
      const own = new SharedArrayBuffer(runtimeCopy.byteLength);
      new Uint8Array(own).set(new Uint8Array(runtimeCopy));
      handle["runtime"] = own;
    }
    return message;
  });
  // The worker joins the runtime with a first real message; the last one is of a mutex it has never seen.
  const first = freshTarget();
  const last = freshTarget();
  const results = await runReceiver([first.message, ...forged, last.message]);
  assert.equal(results.length, forged.length + 2);
  assert.deepEqual(results[0], { ...results[0], outcome: "returned", read: initial });
  results.slice(1, -1).forEach((r, i) => checkWorkerResult(`message ${i} (${JSON.stringify(mutations[i], (_, v) => (typeof v === "bigint" ? `${v}n` : v)).slice(0, 300)})`, r));
  const final = results.at(-1)!;
  assert.equal(final.outcome, "returned", `the real message after the forged ones: ${final.message}`);
  assert.deepEqual(final.read, initial, "the real message after the forged ones revives the real data");
  assertRealIntact(last.mutex);
  for (const mutex of [first.mutex, ...targetMutexes]) assertRealIntact(mutex);
});

/** A right-size copy of the runtime buffer with `edit` applied to its words. */
function forgedRuntime(edit: (words: Int32Array) => void): SharedArrayBuffer {
  const copy = new SharedArrayBuffer(realRuntime.byteLength);
  new Uint8Array(copy).set(new Uint8Array(realRuntime));
  edit(new Int32Array(copy));
  return copy;
}

/** Int32 index of the lock table (header 32 words + 1024 thread records of 16 words). */
const LOCKS_BASE = 32 + 1024 * 16;

const freshThreadCases: ReadonlyArray<{ what: string; runtime: () => unknown }> = [
  { what: "a too-small SharedArrayBuffer", runtime: () => new SharedArrayBuffer(64) },
  { what: "an ArrayBuffer", runtime: () => new ArrayBuffer(realRuntime.byteLength) },
  { what: "the data buffer", runtime: () => realData },
  { what: "a right-size buffer of garbage", runtime: () => forgedRuntime((w) => { for (let i = 0; i < w.length; i += 97) w[i] = (i * 2654435761) | 0; for (let i = 0; i < 32; i++) w[i] = (i * 40503 + 7) | 0; }) },
  { what: "a copy with a garbage header (magic kept)", runtime: () => forgedRuntime((w) => { for (let i = 1; i < 32; i++) w[i] = (i * 40503 + 7) | 0; }) },
  { what: "a copy with maxLocks = 1 and another id", runtime: () => forgedRuntime((w) => { w[2]! ^= 0x5a5a5a5a; w[4] = 1; }) },
  { what: "a copy with another id and an empty lock table", runtime: () => forgedRuntime((w) => { w[2]! ^= 0x5a5a5a5a; w.fill(0, LOCKS_BASE, LOCKS_BASE + 8 * 64); }) },
  { what: "a copy with another id and a negative arena pointer", runtime: () => forgedRuntime((w) => { w[2]! ^= 0x5a5a5a5a; w[6] = -(2 ** 30); }) },
  { what: "a copy with another id and a full arena", runtime: () => forgedRuntime((w) => { w[2]! ^= 0x5a5a5a5a; w[6] = 2 ** 31 - 16; }) },
  { what: "a copy with another id and every thread slot taken", runtime: () => forgedRuntime((w) => { w[2]! ^= 0x5a5a5a5a; for (let s = 1; s < 1024; s++) w[32 + s * 16] = 1; }) },
];

test("a fresh thread's first receive() of a forged runtime: a clear error, and the real message still works after it", { timeout: 60_000 }, async () => {
  const failures: string[] = [];
  const results = [];
  for (const { what, runtime } of freshThreadCases) {
    const forged = clone(base) as unknown as Record<string, unknown>;
    targetOf(forged, "handle")!["runtime"] = runtime();
    results.push({ what, results: await runReceiver([forged, clone(base)]) });
  }
  for (const { what, results: [first, second] } of results) {
    try {
      checkWorkerResult("first receive", first!);
      if (first!.outcome === "returned") continue; // it joined that runtime, as a first receive does
      assert.equal(second!.outcome, "returned", `the real message after it threw ${second!.ctor}: ${second!.message}`);
      assert.deepEqual(second!.read, initial);
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  assert.deepEqual(failures, [], `\n${failures.join("\n")}`);
  assertRealIntact();
});

test("a forged handle (real lock id, foreign data buffer) does not change what a later real message revives to", { timeout: 10_000 }, () => {
  const target = freshTarget(); // a lock this thread has never revived
  const foreign = new SharedArrayBuffer(realData.byteLength);
  new Int32Array(foreign).fill(-1);
  const forged = mutated([], target.message);
  targetOf(forged, "handle")!["data"] = foreign;
  let forgedMutex: Mutex<unknown> | undefined;
  try {
    forgedMutex = receive<{ m: Mutex<unknown> }>(forged).m; // may be refused; if it is accepted, it must not stick
  } catch (e) {
    assert.ok(e instanceof TypeError && e.message.startsWith("threadsafe:"), describeThrown(e));
  }
  const real = receive<{ m: Mutex<Fuzzed> }>(clone(target.message)).m;
  assert.notEqual(real, forgedMutex, "the real message revived the forged mutex");
  assert.deepEqual(real.with((g) => JSON.parse(JSON.stringify(g.value))), initial, "the real message revived the forged data");
  assertRealIntact(target.mutex);
  void forgedMutex; // kept alive until here: the revive cache holds it weakly
});

test("a corrupted handle for a lock this thread already revived is refused like any other", { timeout: 10_000 }, () => {
  const target = freshTarget();
  const real = receive<{ m: Mutex<Fuzzed> }>(clone(target.message)).m; // now revived (and cached) here
  const corruptions: ReadonlyArray<[string, Mutation]> = [
    ["an unknown layout kind", { op: "layout", v: { kind: "nope" } }],
    ["a layout larger than the data", { op: "layout", v: { kind: "string", maxBytes: 100_000 } }],
    ["a data buffer smaller than the layout", { op: "data", b: { kind: "sab", size: 8 } }],
  ];
  const accepted: string[] = [];
  for (const [what, mutation] of corruptions) {
    try {
      receive(mutated([mutation], target.message));
      accepted.push(what);
    } catch (e) {
      assert.ok(e instanceof TypeError && e.message.startsWith("threadsafe: receive(message): corrupted or forged handle"), `${what}: ${describeThrown(e)}`);
    }
  }
  assert.deepEqual(accepted, [], `accepted without validation: ${accepted.join(", ")}`);
  assert.deepEqual(real.with((g) => JSON.parse(JSON.stringify(g.value))), initial);
  assertRealIntact(target.mutex);
});
