/**
 * Moving values between threads: shared objects (any kind registered in sync/shareable.ts) travel as plain handles
 * and are rebuilt into working objects on arrival; everything else is structured-cloned as usual. Handles are validated on arrival: a forged or
 * corrupted one gets a clear error, never an out-of-bounds read or a hang.
 */

import { DeadlockError, LockOrderError, LockTimeoutError, PoisonError, RecvError, SendError, ThreadError, TimeoutError } from "../errors.js";
import { currentRuntime, joinRuntime } from "../runtime/current.js";
import { Runtime } from "../runtime/runtime.js";
import { describe } from "../sync/options.js";
import { dropPins, handleOf, handleProblem, isSharedObject, reviveHandle, shareableNamed } from "../sync/shareable.js";

/** The marker key of a handle inside a shared message. */
const HANDLE = "__threadsafe_handle__";
/** The marker key of a serialized error. */
const ERROR = "__threadsafe_error__";
/** The marker key of the envelope `share` returns. */
const ENVELOPE = "__threadsafe_shared__";
const ENVELOPE_VERSION = 1;
/** Deeper values than this are refused (a forged message must not exhaust the stack). */
const MAX_DEPTH = 64;

/** A structured-cloneable message made by `share`, to be turned back with `receive`. */
export interface SharedMessage {
  readonly [ENVELOPE]: typeof ENVELOPE_VERSION;
  readonly value: unknown;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encode(value: unknown, seen: Map<object, unknown>, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new RangeError(`threadsafe: share(value): value is nested deeper than ${MAX_DEPTH} levels`);
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (isSharedObject(value)) {
    const { kind, runtime, id, generation, pin, parts } = handleOf(value);
    const handle = { ...parts, [HANDLE]: kind, runtime, id, generation, pin };
    seen.set(value, handle);
    return handle;
  }
  if (value instanceof Error) return encodeError(value, seen, depth);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(encode(item, seen, depth + 1));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(encode(k, seen, depth + 1), encode(v, seen, depth + 1));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value) out.add(encode(v, seen, depth + 1));
    return out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    for (const key of Object.keys(value)) out[key] = encode((value as Record<string, unknown>)[key], seen, depth + 1);
    return out;
  }
  return value; // typed arrays, Dates, buffers…: structured clone handles them
}

function encodeError(error: Error, seen: Map<object, unknown>, depth: number): unknown {
  const out: Record<string, unknown> = { [ERROR]: true, name: error.name, message: error.message, stack: error.stack };
  seen.set(error, out);
  const props: Record<string, unknown> = {};
  // Own names, not just enumerable keys: SuppressedError's error/suppressed and AggregateError's errors are not
  // enumerable.
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
    try {
      props[key] = encode((error as unknown as Record<string, unknown>)[key], seen, depth + 1);
    } catch {
      // a property that cannot travel is left behind
    }
  }
  out["props"] = props;
  if (error.cause !== undefined) out["cause"] = encode(error.cause, seen, depth + 1);
  return out;
}

/**
 * Turns `value`, which may contain shared objects (such as a `Mutex`), anywhere inside arrays, plain objects,
 * Maps and Sets, into a message any `postMessage` can carry. The receiving thread calls `receive(message)`.
 *
 * @example
 * // main thread
 * worker.postMessage(share({ counter, label: "jobs" }));
 * // in the worker
 * parentPort.on("message", (msg) => { const { counter } = receive(msg); counter.with((n) => { n.value++; }); });
 */
export function share(value: unknown): SharedMessage {
  const seen = new Map<object, unknown>();
  try {
    return { [ENVELOPE]: ENVELOPE_VERSION, value: encode(value, seen, 0) };
  } catch (error) {
    dropHandles(seen.values()); // pins taken before the failure would keep their objects alive for ever
    throw error;
  }
}

/**
 * Gives up a message made by `share` that will never be received (it could not be sent, or its receiver will not
 * read it): the pins its handles hold go, so their objects can be reclaimed. Harmless on a message already received.
 */
export function discard(message: SharedMessage): void {
  const handles: unknown[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return;
    if (Object.hasOwn(value, HANDLE)) {
      handles.push(value);
      return;
    }
    const items = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : [];
    for (const item of items) visit(item, depth + 1);
  };
  visit(message.value, 0);
  dropHandles(handles);
}

function dropHandles(handles: Iterable<unknown>): void {
  const rt = currentRuntime();
  if (!rt) return;
  const pins: Array<{ id: number; pin: unknown }> = [];
  for (const handle of handles) {
    if (typeof handle !== "object" || handle === null || !Object.hasOwn(handle, HANDLE)) continue;
    const { runtime, id, pin } = handle as Record<string, unknown>;
    if (runtime === rt.buffer && typeof id === "number") pins.push({ id, pin });
  }
  dropPins(rt, pins);
}

const knownErrors: Record<string, { prototype: object }> = {
  PoisonError,
  TimeoutError,
  LockTimeoutError,
  DeadlockError,
  LockOrderError,
  ThreadError,
  RecvError,
  SendError,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function corrupt(path: string, what: string): TypeError {
  return new TypeError(`threadsafe: receive(message): corrupted or forged handle at ${path}: ${what}`);
}

function decodeShared(raw: Record<string, unknown>, path: string): unknown {
  const kind = shareableNamed(raw[HANDLE]);
  if (!kind) throw corrupt(path, `unknown kind ${describe(raw[HANDLE])}`);
  const { runtime, id, generation, pin } = raw;
  if (!(runtime instanceof SharedArrayBuffer)) throw corrupt(path, "its runtime is not a SharedArrayBuffer");
  // Everything is checked against the incoming runtime before this thread joins it: a forged message must not
  // tie the thread to a forged runtime.
  let rt = currentRuntime();
  try {
    if (!rt || (rt.buffer !== runtime && Runtime.attach(runtime).id !== rt.id)) {
      if (rt) throw new ForeignRuntime();
      const problem = handleProblem(Runtime.attach(runtime), kind, id, generation);
      if (problem) throw new TypeError(problem);
      rt = joinRuntime(runtime);
    } else {
      const problem = handleProblem(rt, kind, id, generation);
      if (problem) throw new TypeError(problem);
    }
  } catch (error) {
    if (error instanceof ForeignRuntime) {
      throw new TypeError(
        "threadsafe: receive(message): this message belongs to another threadsafe runtime than this thread's. Objects " +
          "from two runtimes cannot be mixed: create shared objects after the threads have exchanged one, or in one thread",
      );
    }
    throw corrupt(path, (error as Error).message.replace(/^threadsafe: /, ""));
  }
  try {
    return reviveHandle(rt, kind, id as number, generation as number, pin, raw);
  } catch (error) {
    throw corrupt(path, (error as Error).message.replace(/^threadsafe: /, ""));
  }
}

class ForeignRuntime extends Error {}

function decodeError(raw: Record<string, unknown>, seen: Map<object, unknown>, path: string, depth: number): Error {
  const name = typeof raw["name"] === "string" ? raw["name"] : "Error";
  const message = typeof raw["message"] === "string" ? raw["message"] : "";
  const Class = Object.hasOwn(knownErrors, name) ? knownErrors[name]! : Error;
  const error = Object.create(Class.prototype) as Error;
  seen.set(raw, error);
  Object.defineProperty(error, "message", { value: message, writable: true, configurable: true });
  Object.defineProperty(error, "name", { value: name, writable: true, configurable: true, enumerable: true });
  if (typeof raw["stack"] === "string") Object.defineProperty(error, "stack", { value: raw["stack"], writable: true, configurable: true });
  const props = raw["props"];
  if (typeof props === "object" && props !== null) {
    for (const key of Object.keys(props)) {
      if (key === "__proto__" || key === "constructor") continue;
      (error as unknown as Record<string, unknown>)[key] = decode((props as Record<string, unknown>)[key], seen, `${path}.${key}`, depth + 1);
    }
  }
  if ("cause" in raw) Object.defineProperty(error, "cause", { value: decode(raw["cause"], seen, `${path}.cause`, depth + 1), writable: true, configurable: true });
  return error;
}

function decode(value: unknown, seen: Map<object, unknown>, path: string, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new RangeError(`threadsafe: receive(message): message is nested deeper than ${MAX_DEPTH} levels`);
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (let i = 0; i < value.length; i++) out.push(decode(value[i], seen, `${path}[${i}]`, depth + 1));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(decode(k, seen, `${path}.key`, depth + 1), decode(v, seen, `${path}.get(…)`, depth + 1));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value) out.add(decode(v, seen, `${path}.item`, depth + 1));
    return out;
  }
  if (!isPlainObject(value)) return value;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, HANDLE)) {
    const object = decodeShared(record, path);
    seen.set(value, object);
    return object;
  }
  if (Object.hasOwn(record, ERROR)) return decodeError(record, seen, path, depth);
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const key of Object.keys(record)) {
    const item = decode(record[key], seen, `${path}.${key}`, depth + 1);
    if (key === "__proto__") Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out;
}

/**
 * Turns a message made by `share` (after it crossed a `postMessage`) back into the value, with working shared
 * objects. The first `receive` in a thread joins that thread to the sender's runtime.
 * @throws TypeError when `message` is not a message made by `share`, or a handle in it is corrupted or forged.
 */
export function receive<T = unknown>(message: unknown): T {
  if (
    typeof message !== "object" ||
    message === null ||
    (message as Record<string, unknown>)[ENVELOPE] !== ENVELOPE_VERSION ||
    !Object.hasOwn(message, "value")
  ) {
    throw new TypeError(`threadsafe: receive(message): expected a message made by share(value), got ${describe(message)}`);
  }
  return decode((message as SharedMessage).value, new Map(), "value", 0) as T;
}
