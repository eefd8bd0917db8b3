/** Validation of what constructors and acquisition methods take, shared by every primitive. */

import type { Layout } from "../layout/layout.js";
import { NO_LEVEL } from "../runtime/objects.js";

/** Options of `lock()` and `with()`. */
export interface LockOptions {
  /** Milliseconds to wait before throwing `LockTimeoutError`; `Infinity` (the default) waits forever. */
  readonly timeout?: number;
}

/** Options of `lockAsync()` and `withAsync()`. */
export interface LockAsyncOptions extends LockOptions {
  /** Aborting it rejects the pending wait with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The timeout in milliseconds that `options` asks for.
 * @throws TypeError or RangeError naming what is allowed.
 */
export function timeoutOf(options: LockOptions | undefined, method: string): number {
  if (options === undefined) return Infinity;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`threadsafe: ${method}(options): options must be an object like { timeout: 100 }, got ${describe(options)}`);
  }
  const timeout = options.timeout;
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== "number") {
    throw new TypeError(`threadsafe: ${method}({ timeout }): timeout must be a number of milliseconds, got ${describe(timeout)}`);
  }
  if (Number.isNaN(timeout) || timeout < 0) {
    throw new RangeError(
      `threadsafe: ${method}({ timeout }): timeout must be 0 or more milliseconds (or Infinity to wait forever), got ${timeout}`,
    );
  }
  return timeout;
}

/**
 * The abort signal that `options` carries, if any.
 * @throws TypeError when it is not an AbortSignal.
 */
export function signalOf(options: LockAsyncOptions | undefined, method: string): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  if (typeof signal !== "object" || signal === null || typeof (signal as AbortSignal).addEventListener !== "function" || typeof (signal as AbortSignal).aborted !== "boolean") {
    throw new TypeError(`threadsafe: ${method}({ signal }): signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return String(value);
}

/** Whether `value` looks like a promise (a callback that should have been given to the async twin). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

/**
 * Checks the layout given to a constructor; `call` names it in the error ("new Mutex(layout, initial)").
 * @throws TypeError naming what is allowed.
 */
export function checkLayout(layout: unknown, call: string): asserts layout is Layout<unknown> {
  const candidate = layout as Partial<Layout<unknown>> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.read !== "function" ||
    typeof candidate.write !== "function" ||
    typeof candidate.check !== "function" ||
    typeof candidate.describe !== "function" ||
    typeof candidate.size !== "number"
  ) {
    throw new TypeError(
      `threadsafe: ${call}: layout must be a layout such as i32, f64, struct({...}), string(64), json(4096); got ${describe(layout)}`,
    );
  }
}

/** Options every lock takes at construction. */
export interface LockConstructionOptions {
  readonly name?: string;
  readonly level?: number;
}

/**
 * Checks the `{ name, level }` options of `new <primitive>(layout, initial, options)`.
 * @throws TypeError or RangeError naming what is allowed.
 */
export function checkLockOptions(options: LockConstructionOptions | undefined, primitive: string): { name: string | undefined; level: number | undefined } {
  if (options === undefined) return { name: undefined, level: undefined };
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`threadsafe: new ${primitive}(layout, initial, options): options must be an object like { name: "accounts" }, got ${describe(options)}`);
  }
  const { name, level } = options;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: new ${primitive}(..., { name }): name must be a string, got ${describe(name)}`);
  }
  if (level !== undefined) {
    if (typeof level !== "number") throw new TypeError(`threadsafe: new ${primitive}(..., { level }): level must be an integer, got ${describe(level)}`);
    if (!Number.isInteger(level) || level <= NO_LEVEL || level > 0x7fffffff) {
      throw new RangeError(`threadsafe: new ${primitive}(..., { level }): level must be an integer from ${NO_LEVEL + 1} to ${0x7fffffff}, got ${level}`);
    }
  }
  return { name, level };
}
