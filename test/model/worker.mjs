// A simulated thread: a real worker thread that runs the real library code (bundled from src/ by esbuild, as
// dist/ is) with two globals replaced. `Atomics` is a shim that, for the two tracked buffers, hands every
// operation to the scheduler and blocks until granted; the scheduler performs it and hands back the result. The
// clock (`performance.now`, `Date.now`, as src/platform reads them) is the scheduler's virtual clock. Nothing
// else changes: the modules are the same code production runs.
import { workerData } from "node:worker_threads";
import * as C from "./control.mjs";

const RealAtomics = Atomics;
const R = {};
for (const key of Object.getOwnPropertyNames(RealAtomics)) R[key] = RealAtomics[key];

const { control, rtBuffer, scenarioBuffer, slot, coldBits, bundle, scenarioName, threadId, data, tick, extras } = workerData;
const c = new Int32Array(control);
const cw = new BigInt64Array(control);
const cf = new Float64Array(control);
const bytes = new Uint8Array(control);
const cold = new Uint8Array(coldBits);
const B = C.threadBlock(slot);
const B8 = B / 2;
const SPIN = Number(process.env.MODEL_SPIN ?? 0); // see checker.mjs

class Aborted extends Error {
  constructor() {
    super("model: simulated thread ended by the scheduler");
    this.name = "ModelAbort";
  }
}

let active = false;
let aborting = false;
let freeRun = false;
let freeLoads = 0;

function bufferId(ta) {
  const b = ta.buffer;
  return b === rtBuffer ? 0 : b === scenarioBuffer ? 1 : -1;
}

function isCold(id, ta, index) {
  if (id !== 0) return false;
  const word = (ta.byteOffset >> 2) + index * (ta.BYTES_PER_ELEMENT >> 2);
  if (ta.BYTES_PER_ELEMENT === 8) return cold[word] === 1 && cold[word + 1] === 1;
  return cold[word] === 1;
}

const encoder = new TextEncoder();
function writeText(offset, max, lenIndex, text) {
  const encoded = encoder.encode(text).subarray(0, max);
  bytes.set(encoded, offset);
  c[lenIndex] = encoded.length;
}

function where() {
  const lines = (new Error().stack ?? "").split("\n").slice(1);
  const frames = [];
  for (const line of lines) {
    if (line.includes("/test/model/worker.mjs") || line.includes("node:")) continue;
    const m = /at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/.exec(line.trim());
    if (!m) continue;
    const file = m[2].replace(/^.*\/(src|test)\//, "$1/");
    frames.push(`${m[1] ?? "?"} ${file}:${m[3]}`);
    if (frames.length === 3) break;
  }
  return frames.join(" < ");
}

function toI64(value) {
  if (typeof value === "bigint") return value;
  const n = Number(value);
  return Number.isFinite(n) ? BigInt(Math.trunc(n) | 0) : 0n;
}

/** Posts one operation, sleeps until the scheduler grants it, returns the scheduler's result. */
function request(op, id, ta, index, a, b, timeout) {
  if (aborting) throw new Aborted();
  const wide = ta.BYTES_PER_ELEMENT === 8;
  c[B + C.C_OP] = op;
  c[B + C.C_BUF] = id;
  c[B + C.C_INDEX] = ta.byteOffset / ta.BYTES_PER_ELEMENT + index;
  c[B + C.C_WIDE] = wide ? 1 : 0;
  cw[B8 + C.C_ARG1_I64] = toI64(a);
  cw[B8 + C.C_ARG2_I64] = toI64(b);
  cf[B8 + C.C_TIMEOUT_F64] = timeout === undefined ? Infinity : Number(timeout);
  c[B + C.C_FREE_LOADS] = freeLoads;
  freeLoads = 0;
  if (R.load(c, C.G_VERBOSE) === 1) writeText(C.textOffset(slot) + C.OUTCOME_BYTES, C.OUTCOME_BYTES, B + C.C_WHERE_LEN, where());
  R.store(c, B + C.C_STATUS, C.S_REQUEST);
  R.notify(c, B + C.C_STATUS);
  let status;
  for (let spin = 0; spin < SPIN && R.load(c, B + C.C_STATUS) === C.S_REQUEST; spin++);
  while ((status = R.load(c, B + C.C_STATUS)) === C.S_REQUEST) R.wait(c, B + C.C_STATUS, C.S_REQUEST);
  if (status === C.S_ABORT) {
    aborting = true;
    throw new Aborted();
  }
  freeRun = c[B + C.C_MODE] === 1;
  if (op === C.Op.wait) return C.WAIT_RESULTS[c[B + C.C_WAIT_RESULT]];
  const result = cw[B8 + C.C_RESULT_I64];
  return wide ? result : Number(result);
}

function wrap(name, op, arity) {
  const real = R[name];
  return function (ta, index, a, b) {
    if (!active) return real(ta, index, a, b);
    const id = bufferId(ta);
    if (id < 0) return real(ta, index, a, b);
    if (aborting) throw new Aborted();
    if (op === C.Op.load && (freeRun || isCold(id, ta, index))) {
      if (freeRun) freeLoads++;
      return real(ta, index);
    }
    freeRun = false;
    return arity === 1 ? request(op, id, ta, index, a) : request(op, id, ta, index, a, b);
  };
}

const shim = Object.create(Object.getPrototypeOf(RealAtomics));
for (const key of Object.getOwnPropertyNames(RealAtomics)) shim[key] = RealAtomics[key];
shim.load = wrap("load", C.Op.load, 0);
shim.store = wrap("store", C.Op.store, 1);
shim.compareExchange = wrap("compareExchange", C.Op.compareExchange, 2);
shim.add = wrap("add", C.Op.add, 1);
shim.sub = wrap("sub", C.Op.sub, 1);
shim.and = wrap("and", C.Op.and, 1);
shim.or = wrap("or", C.Op.or, 1);
shim.xor = wrap("xor", C.Op.xor, 1);
shim.exchange = wrap("exchange", C.Op.exchange, 1);
shim.wait = function (ta, index, value, timeout) {
  if (!active) return R.wait(ta, index, value, timeout);
  const id = bufferId(ta);
  if (id < 0) return R.wait(ta, index, value, timeout);
  freeRun = false;
  return request(C.Op.wait, id, ta, index, value, 0, timeout);
};
shim.notify = function (ta, index, count) {
  if (!active) return R.notify(ta, index, count);
  const id = bufferId(ta);
  if (id < 0) return R.notify(ta, index, count);
  freeRun = false;
  return request(C.Op.notify, id, ta, index, count === undefined ? -1 : Math.min(Number(count), 0x7fffffff));
};
shim.waitAsync = function (ta, index, value, timeout) {
  if (active && bufferId(ta) >= 0) throw new Error("model: waitAsync is not modelled (scenarios use blocking waits)");
  return R.waitAsync(ta, index, value, timeout);
};
globalThis.Atomics = shim;

const realPerformanceNow = performance.now.bind(performance);
const realDateNow = Date.now;
// With `tick`, every read advances the clock 1 ms: a slow machine, on which every wait lasts long enough to be published.
performance.now = () => (active ? (tick ? (cf[C.G_TIME_F64] += 1) : cf[C.G_TIME_F64]) : realPerformanceNow());
Date.now = () => (active ? 1_700_000_000_000 + Math.floor(cf[C.G_TIME_F64]) : realDateNow());

// Only now the library: platform/index.ts captures Atomics.pause when it loads.
const lib = await import(bundle);
const scenario = lib.scenarios.find((s) => s.name === scenarioName);
const rt = lib.joinModelRuntime(rtBuffer, threadId);
const scenarioWords = new Int32Array(scenarioBuffer);
const env = {
  rt,
  data,
  me: threadId,
  shared: scenarioWords,
  extras,
  objects: [],
  /** Blocks for good on the scenario's hold word: a thread that keeps what it holds (until it is killed). */
  hold() {
    Atomics.wait(scenarioWords, 0, 0);
    throw new Error("model: a holding thread was woken");
  },
};

if (scenario.init) env.objects = scenario.init(env);

R.store(c, B + C.C_STATUS, C.S_READY);
R.notify(c, B + C.C_STATUS);
for (;;) {
  let status;
  while ((status = R.load(c, B + C.C_STATUS)) !== C.S_START) R.wait(c, B + C.C_STATUS, status);
  active = true;
  aborting = false;
  freeRun = false;
  freeLoads = 0;
  let outcome;
  try {
    outcome = String(scenario.threads[c[B + C.C_BODY]].body(env));
  } catch (error) {
    outcome = error instanceof Aborted || aborting ? "aborted" : `threw ${error?.name ?? "?"}: ${String(error?.message ?? error).split("\n")[0]}`;
  }
  active = false;
  writeText(C.textOffset(slot), C.OUTCOME_BYTES, B + C.C_OUTCOME_LEN, outcome);
  c[B + C.C_FREE_LOADS] = freeLoads;
  R.store(c, B + C.C_STATUS, C.S_DONE);
  R.notify(c, B + C.C_STATUS);
}
