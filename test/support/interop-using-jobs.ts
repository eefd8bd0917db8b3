// Spawned functions that use `using` and `await using` (interop.test.ts). This one source is compiled three ways:
// by tsx (esbuild) when the test imports it, and, from its text, by TypeScript's transpileModule and by esbuild's
// transformSync (target node20). On Node 20, which cannot parse `using`, every compiler down-levels it into calls
// to helpers declared at the top of the module (`__using`/`__callDispose`, `__addDisposableResource`/
// `__disposeResources`), which a spawned function cannot see: the library must supply them.
//
// Every named export is a standalone function (it uses nothing from this module's scope), so it can be spawned.
// The default export dispatches by name, for spawn(moduleUrl): there the module's own helpers run.
import type { Mutex, MutexGuard } from "threadsafe";

/** `n` non-atomic increments, each under a `using` guard. */
export function usingIncrement(m: Mutex<number>, n: number): number {
  for (let i = 0; i < n; i++) {
    using g = m.lock();
    g.value = g.value + 1;
  }
  return n;
}

/**
 * Disposal is last-in first-out: `b` (declared after the guard) is disposed while the lock is still held, `a`
 * (declared before it) after the lock was released. Returns the log.
 */
export function usingOrder(m: Mutex<number>): string[] {
  const log: string[] = [];
  let guard: MutexGuard<number> | undefined;
  const resource = (name: string) => ({
    [Symbol.dispose]() {
      log.push(`${name}:${guard?.held ? "held" : "free"}`);
    },
  });
  {
    using a = resource("a");
    using g = m.lock();
    guard = g;
    using b = resource("b");
    g.value = g.value + 1;
    log.push(`body:${a !== b}`);
  }
  log.push("after");
  return log;
}

/** The body throws a custom error with the lock held: disposal still releases it (without poisoning). */
export function usingThrows(m: Mutex<number>, value: number): number {
  class MyError extends Error {
    override name = "MyError";
    code = "E_USING";
  }
  using g = m.lock();
  g.value = value;
  if (value !== -12345) throw new MyError(`body failed while holding the lock (value ${value})`);
  return value;
}

/** A disposer throws while the body's error propagates: the thread throws a SuppressedError of both. */
export function usingSuppressed(m: Mutex<number>, value: number): number {
  using g = m.lock();
  using bad = {
    [Symbol.dispose]() {
      throw new RangeError("disposer failed");
    },
  };
  g.value = value;
  if (bad && value !== -12345) throw new TypeError("body failed");
  return value;
}

/** `await using` with an async disposer, a sync disposer and a guard from lockAsync: LIFO, across awaits. */
export async function awaitUsingOrder(m: Mutex<number>): Promise<string[]> {
  const log: string[] = [];
  let guard: MutexGuard<number> | undefined;
  {
    await using a = {
      async [Symbol.asyncDispose]() {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`a:${guard?.held ? "held" : "free"}`);
      },
    };
    await using g = await m.lockAsync();
    guard = g;
    using b = {
      [Symbol.dispose]() {
        log.push(`b:${guard?.held ? "held" : "free"}`);
      },
    };
    await new Promise((resolve) => setTimeout(resolve, 1));
    g.value = g.value + 1;
    log.push(`body:${a !== undefined && b !== undefined}`);
  }
  log.push("after");
  return log;
}

/** `await using`: the body throws and an async disposer rejects: a SuppressedError; the guard is released. */
export async function awaitUsingSuppressed(m: Mutex<number>, value: number): Promise<number> {
  await using g = await m.lockAsync();
  await using bad = {
    async [Symbol.asyncDispose]() {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new RangeError("async disposer failed");
    },
  };
  g.value = value;
  await new Promise((resolve) => setTimeout(resolve, 1));
  if (bad && value !== -12345) throw new TypeError("async body failed");
  return value;
}

const jobs: Record<string, (...args: never[]) => unknown> = {
  usingIncrement,
  usingOrder,
  usingThrows,
  usingSuppressed,
  awaitUsingOrder,
  awaitUsingSuppressed,
};

/** For spawn(moduleUrl, [name, ...args]): runs the named job with this module's own compiled helpers. */
export default function run(name: string, ...args: unknown[]): unknown {
  const job = jobs[name];
  if (!job) throw new Error(`unknown job ${name}`);
  return (job as (...a: unknown[]) => unknown)(...args);
}
