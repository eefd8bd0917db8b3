/** Validation of the options that acquisition methods take, shared by every primitive. */

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
