/**
 * Rebuilding a function from its source text in another thread: `spawn`'s functions, and `LazyLock`'s `init`
 * (which every thread that may run it receives as text). It lives in `sync/` so that both the thread room and the
 * primitives can use it.
 *
 * A function crosses threads as text, so it cannot see its old scope. That includes the helpers compilers put at
 * the top of a module when they down-level `using` (TypeScript: `__addDisposableResource`/`__disposeResources`;
 * esbuild, and so tsx: `__using`/`__callDispose`, plus `__name` for kept names). This module provides its own
 * implementations of those helpers in the function's scope, so `using` works inside spawned functions compiled for
 * Node 20, which does not parse `using` natively.
 */

import { SPAWNED_SOURCE_URL } from "../deadlock/stacks.js";

type Disposer = (this: unknown) => unknown;

function disposerOf(value: unknown, isAsync: boolean): Disposer {
  if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
  const target = value as Record<symbol, unknown>;
  let dispose = isAsync ? target[Symbol.asyncDispose] : undefined;
  if (dispose === undefined) dispose = target[Symbol.dispose];
  if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
  return dispose as Disposer;
}

function suppressed(error: unknown, suppressedError: unknown): Error {
  const Suppressed = (globalThis as { SuppressedError?: new (e: unknown, s: unknown, m: string) => Error }).SuppressedError;
  if (Suppressed) return new Suppressed(error, suppressedError, "An error was suppressed during disposal.");
  const wrapped = new Error("An error was suppressed during disposal.") as Error & { error?: unknown; suppressed?: unknown };
  wrapped.name = "SuppressedError";
  wrapped.error = error;
  wrapped.suppressed = suppressedError;
  return wrapped;
}

interface Resource {
  readonly value: unknown;
  readonly dispose: Disposer | undefined;
  readonly isAsync: boolean;
}

/** Disposes `stack` last-in first-out; returns a promise when any resource is async, else throws or returns. */
function disposeAll(stack: Resource[], error: unknown, hasError: boolean): Promise<void> | undefined {
  let pendingAsync = false;
  const fail = (e: unknown) => {
    error = hasError ? suppressed(e, error) : e;
    hasError = true;
  };
  const next = (): Promise<void> | undefined => {
    for (let resource = stack.pop(); resource; resource = stack.pop()) {
      try {
        const result = resource.dispose?.call(resource.value);
        if (resource.isAsync) {
          pendingAsync = true;
          return Promise.resolve(result).then(next, (e: unknown) => {
            fail(e);
            return next();
          });
        }
      } catch (e) {
        fail(e);
      }
    }
    if (hasError) {
      if (pendingAsync) return Promise.reject(error);
      throw error;
    }
    return pendingAsync ? Promise.resolve() : undefined;
  };
  return next();
}

/** TypeScript's `__addDisposableResource(env, value, async)`. */
function addDisposableResource(env: { stack: Resource[] }, value: unknown, isAsync: boolean): unknown {
  if (value !== null && value !== undefined) env.stack.push({ value, dispose: disposerOf(value, isAsync), isAsync });
  else if (isAsync) env.stack.push({ value, dispose: undefined, isAsync });
  return value;
}

/** TypeScript's `__disposeResources(env)`. */
function disposeResources(env: { stack: Resource[]; error: unknown; hasError: boolean }): Promise<void> | undefined {
  return disposeAll(env.stack, env.error, env.hasError);
}

/** esbuild's `__using(stack, value, async)`; esbuild keeps `[async, dispose, value]` triples. */
function using(stack: unknown[], value: unknown, isAsync: boolean): unknown {
  addDisposableResource({ stack: stack as Resource[] }, value, isAsync);
  return value;
}

/** esbuild's `__callDispose(stack, error, hasError)`. */
function callDispose(stack: unknown[], error: unknown, hasError: boolean): Promise<void> | undefined {
  return disposeAll(stack as Resource[], error, hasError);
}

/** esbuild's `__name(fn, name)` (keepNames). */
function setName<F>(target: F, value: string): F {
  return Object.defineProperty(target, "name", { value, configurable: true });
}

/** The library as a spawned thread's entry loaded it (see `provideLibrary`). */
let library: object | undefined;

/** What `import("threadsafe")` becomes in a function compiled here: this thread's own library. */
function importLibrary(): Promise<object> {
  if (library === undefined) return Promise.reject(new Error("threadsafe: the library is not available in this thread"));
  return Promise.resolve(library);
}

const LIBRARY_HELPER = "__threadsafe_lib__";

const helpers: Record<string, unknown> = {
  __addDisposableResource: addDisposableResource,
  __disposeResources: disposeResources,
  __using: using,
  __callDispose: callDispose,
  __name: setName,
  [LIBRARY_HELPER]: importLibrary,
};

/**
 * Gives functions compiled in this thread the library for `import("threadsafe")` (the spawned thread's entry calls
 * it with its own module namespace). Why not let the import resolve: a browser worker does not see the page's
 * import map, so the bare name cannot resolve there; and wherever it can, it must give the same module instances
 * that revived the function's arguments, which this namespace is by construction.
 */
export function provideLibrary(namespace: object): void {
  library = namespace;
}

/**
 * `import("threadsafe")` (either quote, spaces inside the parentheses) as an expression of its own, not a method
 * named `import`. Only on one line: the replacement keeps every line and column in place for stack traces.
 */
const LIBRARY_IMPORT = /(?<![\w$.])import[ \t]*\([ \t]*(["'`])threadsafe\1[ \t]*\)/g;

/** `source` with each `import("threadsafe")` calling the helper instead, padded to the same length. */
function withLibraryImports(source: string): string {
  if (library === undefined || !source.includes("threadsafe")) return source;
  return source.replace(LIBRARY_IMPORT, (match) => `${LIBRARY_HELPER}()`.padEnd(match.length, " "));
}

/**
 * Checks that `source` compiles as a standalone function expression (in the sending thread, for an early error).
 * `what` names the argument in messages: `spawn(fn): fn` (the default), `new LazyLock(layout, init): init`.
 * @throws TypeError explaining what a function sent to another thread may be.
 */
export function checkFunctionSource(source: string, what = "spawn(fn): fn"): void {
  if (/^class\b/.test(source)) {
    throw new TypeError(`threadsafe: ${what} is a class; pass a function or an arrow function that creates and uses it`);
  }
  try {
    new Function(...Object.keys(helpers), `"use strict"; return (${source}\n);`);
  } catch (error) {
    throw new TypeError(
      `threadsafe: ${what} must be a standalone function or arrow function, written inline ` +
        "(a method, a bound function or a native function cannot be sent to another thread). Its source did not " +
        `compile on its own: ${(error as Error).message}`,
    );
  }
}

/**
 * Rebuilds the function from its source, with the compiler helpers in scope (it sees nothing else of any scope);
 * `import("threadsafe")` in it gives this thread's library (see `provideLibrary`). Its script is named
 * SPAWNED_SOURCE_URL, so that stack frames name it on every engine (V8, JSC) and deadlock reports recognise it as
 * user code (deadlock/stacks.ts). Without the name, V8 names such frames after `eval` in the compiling library file,
 * and JSC after the library file itself, where they look like the library's.
 */
export function compileFunction(source: string): (...args: unknown[]) => unknown {
  const factory = new Function(...Object.keys(helpers), `"use strict"; return (${withLibraryImports(source)}\n);\n//# sourceURL=${SPAWNED_SOURCE_URL}`);
  const fn: unknown = factory(...Object.values(helpers));
  if (typeof fn !== "function") throw new TypeError("threadsafe: the source sent to this thread is not a function");
  return fn as (...args: unknown[]) => unknown;
}
