/**
 * `spawn`: runs a function (or a module's default export) in a new thread, like `std::thread::spawn`, with shared
 * objects in its arguments arriving as working objects. `JoinHandle.join()` gives back what it returned.
 */

import { ThreadError, type ThreadEnd, type ThreadRef } from "../errors.js";
import { fileUrlOf, startWorker, terminateStopsAtOnce, threadFileUrl, type PlatformWorker } from "../platform/index.js";
import { runtime } from "../runtime/current.js";
import { PoisonCause } from "../runtime/objects.js";
import { poisonedByDeathOf } from "../runtime/poison.js";
import { reapThread } from "../runtime/reap.js";
import type { Runtime } from "../runtime/runtime.js";
import { T_STATE, ThreadStatus, generationOf, slotOf, stateWord } from "../runtime/threads.js";
import { requestTermination } from "../runtime/termination.js";
import { describe } from "../sync/options.js";
import { checkFunctionSource } from "../sync/compile.js";
import { makeLifeline } from "./lifeline.js";
import { discard, receive, share, type SharedMessage } from "./share.js";

/** Options of `spawn`. */
export interface SpawnOptions {
  /** The thread's name in errors and reports (at most 256 UTF-8 bytes). Default: `thread-<id>`. */
  readonly name?: string;
}

/** What a spawned thread starts with (see worker.ts). */
export interface SpawnInit {
  readonly runtime: SharedArrayBuffer;
  readonly threadId: number;
  readonly source?: string;
  readonly module?: string;
  readonly args: SharedMessage;
  /** Absent where MessagePort `close` never fires (platform's `portCloseFires`): no supervisor runs there. */
  readonly lifeline?: MessagePort;
  readonly supervisor?: MessagePort;
}

/** What a spawned thread reports when its function settles (see worker.ts). */
export type ThreadOutcome =
  | { readonly kind: "threadsafe:returned"; readonly value: SharedMessage; readonly heldLocks: readonly string[] }
  | { readonly kind: "threadsafe:threw"; readonly error: SharedMessage; readonly heldLocks: readonly string[] };

/** The threads this thread started whose workers have not exited yet (see `childrenEnded`). */
const liveChildren = new Set<Promise<void>>();

/** The handles of the threads this thread started whose workers have not exited yet. */
const runningHandles = new Set<JoinHandle<unknown>>();

/**
 * How long `terminate()` lets a thread obey its request (it does at its next library call) before stopping it where
 * the runtime can (PlatformWorker.stopAndReport): a stop that lands mid-release leaves the release to the reaper.
 */
const STOP_AFTER_MS = 200;

/** The message that asks a spawned thread to terminate (see JoinHandle.terminate and worker.ts). */
export const TERMINATE_MESSAGE = "threadsafe:terminate";
/** What a thread that obeys a request to terminate posts last: `{ kind, heldLocks }` (worker.ts). */
export const TERMINATED_MESSAGE = "threadsafe:terminated";

/**
 * Asks every thread this thread started that still runs to terminate, without waiting: this thread is ending, and
 * where its children do not end with it (Deno; and alike in browsers) they must not outlive it. Each obeys as
 * `terminate()` describes, releasing what it holds itself.
 */
export function requestChildrenEnd(): void {
  const rt = runtime();
  for (const handle of runningHandles) requestEndOf(handle, rt);
}

/** JoinHandle's request to terminate, reached through its static block (not part of its public shape). */
let requestEndOf: (handle: JoinHandle<unknown>, rt: Runtime) => void;

/** Whether a thread this thread started is still running (its worker has not exited). */
export function hasLiveChildren(): boolean {
  return liveChildren.size > 0;
}

/**
 * Resolves once every thread this thread started has ended, including threads started while waiting. A spawned
 * thread waits for this before it ends (worker.ts): its children's workers live inside its own worker and would be
 * killed with it, their `join()` handles (which only this thread holds) never reporting.
 */
export async function childrenEnded(): Promise<void> {
  while (liveChildren.size > 0) await Promise.all(liveChildren);
}

/**
 * A running thread. `join()` waits for it to end and gives its result.
 *
 * @example
 * const handle = spawn((a, b) => a + b, [2, 3], { name: "adder" });
 * console.log(await handle.join()); // 5
 */
export class JoinHandle<R> {
  /** The thread's name. */
  readonly name: string;
  /** The library's id for the thread (as `currentThread().id` reports inside it). */
  readonly threadId: number;
  readonly #worker: PlatformWorker;
  readonly #result: Promise<R>;
  readonly #exited: Promise<void>;
  #hasExited = false;
  #terminating = false;

  static {
    requestEndOf = (handle, rt) => handle.#requestEnd(rt);
  }

  /** @internal Threads come from `spawn()`. */
  constructor(name: string, threadId: number, worker: PlatformWorker) {
    this.name = name;
    this.threadId = threadId;
    this.#worker = worker;
    let outcome: ThreadOutcome | undefined;
    const exited = new Promise<void>((resolve) => worker.onExit(() => resolve()));
    this.#exited = exited;
    liveChildren.add(exited);
    runningHandles.add(this);
    void exited.then(() => {
      this.#hasExited = true;
      liveChildren.delete(exited);
      runningHandles.delete(this);
    });
    let heldAtTermination: readonly string[] = [];
    worker.onMessage((message) => {
      const kind = (message as ThreadOutcome | undefined)?.kind;
      if (kind === "threadsafe:returned" || kind === "threadsafe:threw") outcome = message as ThreadOutcome;
      else if (kind === TERMINATED_MESSAGE) heldAtTermination = (message as { heldLocks: readonly string[] }).heldLocks;
    });
    this.#result = new Promise<R>((resolve, reject) => {
      worker.onExit(async (exitCode, error) => {
        const rt = runtime();
        const cause = outcome
          ? outcome.kind === "threadsafe:threw" ? PoisonCause.Threw : PoisonCause.Returned
          : this.#terminating ? PoisonCause.Terminated : error !== undefined ? PoisonCause.Threw : PoisonCause.Exited;
        // Another reaper (the supervisor, the thread's own exit hook) may be releasing its holds right now: join()
        // settles once that reaper has freed the slot, so that what the thread held is released when it does.
        if (reapThread(rt, threadId, cause) === undefined) await reapFinished(rt, threadId);
        // Whoever reaped it (its own exit hook, the supervisor, or this call), the poison records name its locks.
        const left = outcome ? [] : [...new Set([...heldAtTermination, ...locksLeftBy(threadId)])];
        const settled = this.#settle(outcome, exitCode, error, left);
        if (settled.ok) resolve(settled.value as R);
        else reject(settled.error);
      });
    });
    this.#result.catch(() => {}); // a thread nobody joins must not crash the program with an unhandled rejection
  }

  #settle(
    outcome: ThreadOutcome | undefined,
    exitCode: number,
    error: unknown,
    reapedLocks: readonly string[],
  ): { ok: true; value: unknown } | { ok: false; error: ThreadError } {
    const thread: ThreadRef = { id: this.threadId, name: this.name };
    const fail = (how: ThreadEnd, text: string, cause?: unknown, code?: number) => ({
      ok: false as const,
      error: new ThreadError(`threadsafe: thread "${this.name}" (id ${this.threadId}) ${text}`, thread, how, cause, code),
    });
    const heldLocks = [...(outcome?.heldLocks ?? []), ...reapedLocks];
    const locksText = heldLocks.length === 0 ? "" : `; it still held ${heldLocks.join(", ")}, now poisoned and released`;
    if (outcome?.kind === "threadsafe:threw") {
      let thrown: unknown;
      try {
        thrown = receive(outcome.error);
      } catch (decodeError) {
        thrown = decodeError;
      }
      const detail = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : describe(thrown);
      const hint =
        thrown instanceof ReferenceError
          ? " (a spawned function cannot use variables of the scope it was written in: pass them in args)"
          : "";
      const stack = thrown instanceof Error && thrown.stack ? `\n${thrown.stack}` : "";
      return fail("threw", `threw ${detail}${hint}${locksText}${stack}`, thrown);
    }
    if (outcome?.kind === "threadsafe:returned") {
      if (heldLocks.length > 0) {
        discard(outcome.value); // not received: its objects must not stay pinned
        return fail("held-locks", `returned while still holding locks${locksText}. Release every guard before returning (use "using" or with())`);
      }
      try {
        return { ok: true, value: receive(outcome.value) };
      } catch (decodeError) {
        return fail("threw", `returned a value that could not be received: ${(decodeError as Error).message}`, decodeError);
      }
    }
    if (this.#terminating) return fail("terminated", `was terminated before it finished${locksText}`, undefined, exitCode);
    if (error !== undefined) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : describe(error);
      return fail("crashed", `crashed with an uncaught error: ${detail}${locksText}`, error, exitCode);
    }
    return fail("exited", `exited (exit code ${exitCode}) before its function finished${locksText}`, undefined, exitCode);
  }

  /**
   * Waits for the thread to end. Resolves with what its function returned; rejects with `ThreadError` if it threw,
   * exited early, was terminated, or ended while holding locks (which are then poisoned and released).
   */
  join(): Promise<R> {
    return this.#result;
  }

  /**
   * Stops the thread; resolves once it has stopped. Locks it held are poisoned and released; `join()` rejects with
   * `ThreadError` (unless the thread finished first).
   *
   * On Node and Bun the thread stops at once, wherever it is. On Deno and in browsers, where a terminated worker
   * runs on for a while, this is a request the thread obeys at the next point where the library runs in it: any
   * blocking or async wait of the library (at once, even if it already sleeps there), taking or releasing a `Mutex`,
   * or its event loop (between tasks, or while it awaits). It then releases what it holds (poisoned) and never runs
   * again. A thread busy in code of its own that never gets there (an endless loop, its own `Atomics.wait`): in
   * browsers it is stopped by the browser (its worker's own `terminate()`, 200 ms after the request), and reaped once
   * it can no longer run (a Web Lock it held for its life is released); on Deno it is not stopped and keeps its locks,
   * as a live thread would. This promise resolves once the thread has stopped.
   */
  async terminate(): Promise<void> {
    this.#terminating = true;
    if (terminateStopsAtOnce) {
      await this.#worker.terminate();
      return;
    }
    const rt = runtime();
    // Repeated until the worker has exited: a wake-up that lands just before the thread goes to sleep is lost, and a
    // message may arrive before the thread listens. A thread that has not obeyed after a while is busy in its own
    // code: where the runtime can stop it and tell when it has (browsers), it is stopped, and reaped then.
    let waitedMs = 0;
    for (let pauseMs = 5; !this.#hasExited; pauseMs = Math.min(pauseMs * 2, 100)) {
      this.#requestEnd(rt);
      if (waitedMs < STOP_AFTER_MS && (waitedMs += pauseMs) >= STOP_AFTER_MS) this.#worker.stopAndReport?.();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, pauseMs)))]);
      clearTimeout(timer);
    }
  }

  /** Asks the thread to terminate (terminate() where it does not stop at once: see worker.ts). */
  #requestEnd(rt: Runtime): void {
    this.#terminating = true;
    requestTermination(rt, this.threadId);
    try {
      this.#worker.postMessage({ kind: TERMINATE_MESSAGE });
    } catch {
      // The worker is gone already: its exit settles everything.
    }
  }
}

/** How long join() waits for another thread's reap of a thread to finish (a reaper that died mid-way never does). */
const REAP_WAIT_MS = 1_000;

/** Resolves once thread `threadId`'s slot has been freed by whoever reaps it, or after REAP_WAIT_MS. */
async function reapFinished(rt: Runtime, threadId: number): Promise<void> {
  const state = rt.threadBase(slotOf(threadId)) + T_STATE;
  const dead = stateWord(generationOf(threadId), ThreadStatus.Dead);
  const deadline = Date.now() + REAP_WAIT_MS;
  while (Atomics.load(rt.words, state) === dead && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * The locks a thread left when it died without reporting its outcome, as their poison records tell: its reaper
 * (whoever that was: its own exit hook, the supervisor, or the JoinHandle) has released them already.
 */
function locksLeftBy(threadId: number): string[] {
  const rt = runtime();
  const left: string[] = [];
  for (let id = 0; id < rt.objectCount(); id++) {
    if (rt.objectKind(id) !== 0 && poisonedByDeathOf(rt, id, threadId)) left.push(rt.describeObject(id));
  }
  return left;
}

/** Resolves the module a `spawn(moduleUrl)` runs. */
function moduleUrlOf(target: string | URL): string {
  if (target instanceof URL) return target.href;
  if (/^(file|data|https?|blob):/.test(target)) return target;
  const url = fileUrlOf(target);
  if (url) return url.href;
  throw new TypeError(
    `threadsafe: spawn(module): a module must be given as a URL or an absolute path, got ${describe(target)}; ` +
      `for a file next to yours use spawn(new URL("./job.js", import.meta.url))`,
  );
}

/**
 * Runs `fn(...args)` in a new thread and returns its handle. `fn` is sent as source text, so it must not use
 * variables of the scope it is written in: pass what it needs in `args`. Shared objects in `args` (such as a
 * `Mutex`) arrive as working objects; everything else is structured-cloned. `fn` may be async. Inside it,
 * `await import("threadsafe")` gives the library.
 *
 * A spawned thread that starts threads of its own and does not join them does not end before they do: once its
 * function settles it waits (event loop only, still holding what it holds) until they have ended, then ends, so
 * their work is never cut off and its own `join()` also waits for them. (A Rust thread's detached children outlive
 * it; a worker's child workers cannot outlive the worker.) `terminate()` on it stops them too.
 *
 * @example
 * const counter = new Mutex(i32, 0);
 * const handles = [];
 * for (let i = 0; i < 10; i++) {
 *   handles.push(spawn((counter) => counter.with((num) => { num.value += 1; }), [counter]));
 * }
 * for (const h of handles) await h.join();
 */
export function spawn<A extends unknown[], R>(fn: (...args: A) => R, args?: A, options?: SpawnOptions): JoinHandle<Awaited<R>>;
/** Runs the default export of the module at `moduleUrl` with `args` in a new thread. */
export function spawn<R = unknown>(moduleUrl: string | URL, args?: unknown[], options?: SpawnOptions): JoinHandle<R>;
export function spawn(target: ((...args: unknown[]) => unknown) | string | URL, args: unknown[] = [], options?: SpawnOptions): JoinHandle<unknown> {
  let source: string | undefined;
  let module: string | undefined;
  if (typeof target === "function") {
    source = Function.prototype.toString.call(target);
    checkFunctionSource(source);
  } else if (typeof target === "string" || target instanceof URL) {
    module = moduleUrlOf(target);
  } else {
    throw new TypeError(`threadsafe: spawn(fn): fn must be a function or a module URL, got ${describe(target)}`);
  }
  if (!Array.isArray(args)) throw new TypeError(`threadsafe: spawn(fn, args): args must be an array, got ${describe(args)}`);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`threadsafe: spawn(fn, args, options): options must be an object like { name: "worker-1" }, got ${describe(options)}`);
  }
  const name = options?.name;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: spawn(..., { name }): name must be a string, got ${describe(name)}`);
  }
  const message = share(args);
  const rt = runtime();
  let threadId: number;
  try {
    threadId = rt.allocateThread(name);
  } catch (error) {
    discard(message);
    throw error;
  }
  const threadName = rt.threadName(threadId);
  let worker: PlatformWorker;
  let ports: { lifeline: MessagePort; supervisor: MessagePort } | undefined;
  try {
    ports = makeLifeline(rt, threadId);
    const init: SpawnInit = { runtime: rt.buffer, threadId, source, module, args: message, ...ports };
    worker = startWorker(threadFileUrl("worker.js", () => new URL("./worker.js", import.meta.url)), init, ports ? [ports.lifeline, ports.supervisor] : [], threadName);
  } catch (error) {
    discard(message);
    reapThread(rt, threadId, PoisonCause.Exited);
    // The worker never started: close the ends it would have kept, or the supervisor would serve them for ever.
    ports?.lifeline.close();
    ports?.supervisor.close();
    if ((error as Error)?.name === "DataCloneError") {
      throw new TypeError(
        `threadsafe: spawn(fn, args): an argument cannot be sent to another thread (${(error as Error).message}). ` +
          "Arguments must be structured-cloneable (no functions, no class instances with private state) or shared objects.",
      );
    }
    throw error;
  }
  return new JoinHandle(threadName, threadId, worker);
}
