/**
 * Shareable kinds: the registry through which `share`/`receive` and `spawn` move shared objects between threads
 * without knowing any primitive. Each primitive's file registers its kind once:
 * `{ kind, name, handleParts, fromHandle }`, and its objects answer `[sharedObject]()` with their place in the
 * runtime.
 *
 * A handle is plain data: `{ kind name, runtime buffer, id, generation, pin, …the kind's own parts }`. The pin is
 * a count the message holds while in flight (runtime/lifetime.ts), so an object whose sender dropped it before it
 * arrived is still there; the generation makes a handle to a reclaimed object fail loudly instead of aliasing the
 * record's next object.
 */

import {
  isLiveObject,
  releaseRetained,
  takePin,
  pinInFlight,
  rememberShown,
  shownCore,
  shownObject,
  tryRetain,
  unpinInFlight,
  generationOfObject,
  type InFlight,
} from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";

/** Every shared object answers this with its place in the runtime. */
export const sharedObject: unique symbol = Symbol("threadsafe.sharedObject");

/** Where a shared object lives: its runtime, its record, its kind. */
export interface SharedRef {
  readonly rt: Runtime;
  readonly id: number;
  readonly kind: number;
}

/** A shared object, as the library sees it. */
export interface SharedObject {
  [sharedObject](): SharedRef;
}

/** What a primitive declares to make its objects shareable. */
export interface ShareableKind {
  readonly kind: number;
  /** The tag of its handles and its name in messages: "Mutex". */
  readonly name: string;
  /** The kind's own parts of a handle (a data buffer, a layout description), structured-cloneable. */
  handleParts(value: SharedObject): Record<string, unknown>;
  /** The per-thread core of one of its objects (what guards and waits keep alive). */
  coreOf(value: SharedObject): object;
  /** A new public object around a core this thread already has (its old public object was collected). */
  wrap(core: object): SharedObject;
  /**
   * Checks the kind's parts of a handle against record `id` (the data buffer is the record's, the layout is the
   * data's). Runs for every arriving handle, also when the object is already here.
   * @throws TypeError saying what does not fit.
   */
  checkParts(rt: Runtime, id: number, parts: Record<string, unknown>): void;
  /**
   * Rebuilds a working object from a handle whose record `id` is live and of this kind (parts checked), and counts this thread as
   * a holder (`countArrived(..., retained)`).
   * @throws TypeError saying what in the handle does not fit.
   */
  fromHandle(rt: Runtime, id: number, parts: Record<string, unknown>, retained: boolean): SharedObject;
}

const byKind = new Map<number, ShareableKind>();
const byName = new Map<string, ShareableKind>();

/** Registers a primitive's kind (once, from the primitive's own file). */
export function registerShareable(kind: ShareableKind): void {
  byKind.set(kind.kind, kind);
  byName.set(kind.name, kind);
}

/** Whether `value` is a shared object of this library. */
export function isSharedObject(value: unknown): value is SharedObject {
  return typeof value === "object" && value !== null && typeof (value as Partial<SharedObject>)[sharedObject] === "function";
}

/** The handle fields of a shared object, with a pin that keeps it alive until it arrives. */
export interface HandleFields {
  readonly kind: string;
  readonly runtime: SharedArrayBuffer;
  readonly id: number;
  readonly generation: number;
  readonly pin: InFlight;
  readonly parts: Record<string, unknown>;
}

/**
 * Makes the handle of `value`: with a pin, for a message leaving this thread; without, for a `Weak` (which must
 * not keep the object alive).
 */
export function handleOf(value: SharedObject, pinned = true): HandleFields {
  const ref = value[sharedObject]();
  const kind = byKind.get(ref.kind);
  if (!kind) throw new TypeError(`threadsafe: share(value): objects of kind ${ref.kind} cannot be shared`);
  rememberShown(ref.id, value, kind.coreOf(value)); // revived again in this thread, it is this same object
  return {
    kind: kind.name,
    runtime: ref.rt.buffer,
    id: ref.id,
    generation: generationOfObject(ref.rt, ref.id),
    pin: pinned ? pinInFlight(ref.rt, ref.id) : NO_PIN,
    parts: kind.handleParts(value),
  };
}

const NO_PIN: InFlight = [-1, 0];

/** The kind a handle's tag names, if any. */
export function shareableNamed(name: unknown): ShareableKind | undefined {
  return typeof name === "string" ? byName.get(name) : undefined;
}

/**
 * Checks a handle against the runtime `rt` that this thread has joined (or is about to join) and returns why it
 * cannot be revived, or undefined when it can.
 */
export function handleProblem(rt: Runtime, kind: ShareableKind, id: unknown, generation: unknown): string | undefined {
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= rt.objectCount()) return `bad object id ${String(id)}`;
  if (typeof generation !== "number" || !Number.isInteger(generation)) return `bad generation ${String(generation)}`;
  if (rt.objectKind(id) !== kind.kind && rt.objectKind(id) !== 0) return `object ${id} is not a ${kind.name} of this runtime`;
  if (!isLiveObject(rt, id, generation)) {
    return `the ${kind.name} it names no longer exists (it was reclaimed once no thread held it; a message received a second time does not keep it alive)`;
  }
  return undefined;
}

/**
 * Revives the object a (checked) handle names in this thread: the same object as before if this thread still
 * has it, otherwise a new one that counts this thread as a holder. Drops the message's pin.
 * @throws TypeError when the object is gone or the kind's parts do not fit.
 */
export function reviveHandle(rt: Runtime, kind: ShareableKind, id: number, generation: number, pin: unknown, parts: Record<string, unknown>): SharedObject {
  kind.checkParts(rt, id, parts);
  // The message's pin (its count) goes to the first arrival; any other arrival takes a count of its own, if the
  // object is still alive. Either way this thread then holds one count while it revives the object.
  const counted = takePin(rt, id, pin) || tryRetain(rt, id, generation);
  if (!counted) throw new TypeError(handleProblem(rt, kind, id, generation) ?? "the object no longer exists");
  const shown = shownObject(id);
  const core = shownCore(id);
  if (shown || core) releaseRetained(rt, id); // this thread counts it already
  if (shown) return shown as SharedObject;
  let revived: SharedObject;
  if (core) {
    // This thread still has the object's core (a guard, a pending wait): wrap it again rather than count twice.
    revived = kind.wrap(core);
  } else {
    try {
      revived = kind.fromHandle(rt, id, parts, true);
    } catch (error) {
      releaseRetained(rt, id);
      throw error;
    }
  }
  rememberShown(id, revived, kind.coreOf(revived));
  return revived;
}

/** Drops the pins of the handles in a message that will never be received (it failed to send, or was dropped). */
export function dropPins(rt: Runtime, handles: ReadonlyArray<{ readonly id: number; readonly pin: unknown }>): void {
  for (const { id, pin } of handles) unpinInFlight(rt, id, pin);
}

