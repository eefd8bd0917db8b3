/**
 * What `Once`, `OnceLock` and `LazyLock` share above their word protocol (raw/raw-once.ts): the options of their
 * waits, and the errors their callers get (a poisoned object, a re-entrant call from inside the initializer).
 */

import { DeadlockError, PoisonError } from "../errors.js";
import { O_POISON_CAUSE, PoisonCause } from "../runtime/objects.js";
import { poisonDetails } from "../runtime/poison.js";
import type { Runtime } from "../runtime/runtime.js";
import { currentThreadId } from "../runtime/current.js";
import { describe, type LockAsyncOptions, type LockOptions } from "./options.js";

/** Options of a blocking wait for another thread's initializer (`callOnce`, `getOrInit`, `force`, …). */
export type OnceWaitOptions = LockOptions;

/** Options of an async wait for another thread's initializer (`callOnceAsync`, `getOrInitAsync`, …). */
export type OnceWaitAsyncOptions = LockAsyncOptions;

/** Options of `new Once(options)`, `new OnceLock(layout, options)`, `new LazyLock(layout, init, options)`. */
export interface OnceOptions {
  /** Appears in every error and report about the object (at most 256 UTF-8 bytes). Default: `Once#<id>` and so on. */
  readonly name?: string;
}

/**
 * The name `options` gives (`new <what>(…, options)`).
 * @throws TypeError when `options` or its name is malformed.
 */
export function nameOf(options: OnceOptions | undefined, what: string): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`threadsafe: ${what}: options must be an object like { name: "table" }, got ${describe(options)}`);
  }
  const { name } = options;
  if (name !== undefined && typeof name !== "string") throw new TypeError(`threadsafe: ${what}: name must be a string, got ${describe(name)}`);
  return name;
}

/**
 * Checks that `fn` is a function.
 * @throws TypeError naming `method`.
 */
export function checkFn(fn: unknown, method: string): void {
  if (typeof fn !== "function") throw new TypeError(`threadsafe: ${method}(fn): fn must be a function, got ${describe(fn)}`);
}

export { isThenable } from "./options.js";

/** How the cause of a Once-family poisoning reads. */
function causeText(cause: number): string {
  switch (cause) {
    case PoisonCause.Panicked:
      return "threw inside its initializer";
    case PoisonCause.Returned:
      return "ended while its initializer was still running";
    case PoisonCause.Threw:
      return "died of an uncaught error while running its initializer";
    case PoisonCause.Exited:
      return "called process.exit() while running its initializer";
    case PoisonCause.Terminated:
      return "was terminated (or crashed) while running its initializer";
    default:
      return "poisoned it";
  }
}

/** The `PoisonError` of a call on the poisoned object `id` (`described`: `Once "init"`). `advice` says what to do. */
export function oncePoisonError(rt: Runtime, id: number, described: string, advice: string): PoisonError<undefined> {
  const details = poisonDetails(rt, id);
  const cause = Atomics.load(rt.words, rt.objectBase(id) + O_POISON_CAUSE);
  const who = details.threadId === 0 ? "a thread" : `thread "${details.threadName ?? `thread-${details.threadId}`}" (id ${details.threadId})`;
  return new PoisonError(
    `threadsafe: ${described} is poisoned: ${who} ${causeText(cause)}, ${Math.round(details.agoMs)} ms ago. ${advice}`,
    undefined,
  );
}

/** The `DeadlockError` of a blocking call on object `id` made from inside its own initializer, in this thread. */
export function reentrantError(rt: Runtime, id: number, described: string, method: string): DeadlockError {
  const thread = { id: currentThreadId, name: rt.threadName(currentThreadId) };
  const object = { id, name: rt.objectName(id) };
  return new DeadlockError(
    `threadsafe: thread "${thread.name}" (id ${thread.id}) called ${method} on ${described} from inside its own ` +
      `initializer: waiting for the initializer to finish would never end, because it is this same call's caller. ` +
      `Initialize the value without reading it back (return it from the initializer).`,
    "self",
    [{ thread, waitsFor: object, holds: [object] }],
  );
}
