/**
 * The view classes behind struct and array reads.
 *
 * Each struct or array layout builds one class, once, when the layout is created:
 *
 *     view ──► View.prototype ──► tail ──► Object.prototype
 *              (layout, methods,   (a Proxy, per layout)
 *               field accessors)
 *
 * A read allocates one small ordinary object (no closures, no Proxy). Properties the prototype defines (struct
 * fields, `get`/`set`/`length`/`toJSON`…) are found before the tail, at full speed. Only what the prototype
 * lacks reaches the tail Proxy: array indices (`view[3]`, answered by `view.get(3)`), and assignments to
 * properties that do not exist (`view.typo = 1`), which it refuses with a `TypeError` instead of silently
 * adding a property that no other thread will ever see. Reads of unknown properties fall through to
 * `Object.prototype` as usual (so `then`, `constructor`, `hasOwnProperty` probes behave normally).
 */

import type { DataViews, Liveness } from "./layout.js";
import { KEY, LAYOUT, LIVENESS, OFFSET, PARENT, VIEWS, type Key, type ViewState } from "./internal.js";

/** Constructs a view of one layout. */
export type ViewConstructor = new (
  views: DataViews,
  offset: number,
  liveness: Liveness,
  parent: ViewState | undefined,
  key: Key | undefined,
) => ViewState;

/** Returned by {@link TailHooks.get} to let a lookup fall through to `Object.prototype`. */
export const MISSING: unique symbol = Symbol("threadsafe.layout.missing");

/** What a tail answers for the keys the view's prototype does not define. */
export interface TailHooks {
  /** A string key the prototype lacks: return {@link MISSING} to fall through to `Object.prototype`. */
  get?(view: ViewState, key: string): unknown;
  /** Assignment to a string key the prototype lacks. Must throw or handle it (return true). */
  set(view: ViewState, key: string, value: unknown): true;
  /** `key in view` for a string key the prototype lacks (no view is available: answer from the layout). */
  has?(key: string): boolean | undefined;
}

function tail(hooks: TailHooks): object {
  return new Proxy(Object.prototype, {
    get(target, key, receiver) {
      if (typeof key === "string" && hooks.get !== undefined && isView(receiver)) {
        const found = hooks.get(receiver, key);
        if (found !== MISSING) return found;
      }
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (typeof key === "string" && isView(receiver)) return hooks.set(receiver, key, value);
      // Symbols (and anything set on the prototype itself) behave as on an ordinary object.
      if (typeof receiver !== "object" || receiver === null) return false;
      return Reflect.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true });
    },
    has(target, key) {
      if (typeof key === "string" && hooks.has !== undefined) {
        const answer = hooks.has(key);
        if (answer !== undefined) return answer;
      }
      return Reflect.has(target, key);
    },
  });
}

function isView(value: unknown): value is ViewState {
  return typeof value === "object" && value !== null && Object.hasOwn(value, LIVENESS);
}

/**
 * Builds the view class of one layout: instance fields for the view state, `methods` (the own members of a
 * prototype object, except `constructor`) and `layout` on its prototype, and a tail answering `hooks`.
 * Returns the class; define more accessors (struct fields) on its `prototype`.
 */
export function viewClass(name: string, layout: object, methods: object, hooks: TailHooks): ViewConstructor & { prototype: object } {
  const View = class implements ViewState {
    [VIEWS]: DataViews;
    [OFFSET]: number;
    [LIVENESS]: Liveness;
    [PARENT]: ViewState | undefined;
    [KEY]: Key | undefined;
    constructor(views: DataViews, offset: number, liveness: Liveness, parent: ViewState | undefined, key: Key | undefined) {
      this[VIEWS] = views;
      this[OFFSET] = offset;
      this[LIVENESS] = liveness;
      this[PARENT] = parent;
      this[KEY] = key;
    }
  };
  Object.defineProperty(View, "name", { value: name });
  const proto = View.prototype;
  for (const key of Reflect.ownKeys(methods)) {
    if (key !== "constructor") Object.defineProperty(proto, key, Object.getOwnPropertyDescriptor(methods, key)!);
  }
  Object.defineProperty(proto, LAYOUT, { value: layout });
  Object.setPrototypeOf(proto, tail(hooks));
  return View;
}
