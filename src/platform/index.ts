/**
 * The only module that knows which JavaScript runtime it runs on (Node, Deno, Bun, or a browser).
 * Everything else in the library asks this module for threads, blocking, clocks and keep-alive handles.
 *
 * Node, Deno and Bun all provide `node:worker_threads`, so they share one path; browsers use Web Workers.
 */

import { workerThreadsModule } from "./worker-threads.js";

/** Which family of runtime this is. */
export type RuntimeKind = "node" | "deno" | "bun" | "browser";

interface NodeWorker {
  readonly threadId: number;
  postMessage(value: unknown, transfer?: readonly unknown[]): void;
  on(event: "message", listener: (value: unknown) => void): void;
  on(event: "error", listener: (error: unknown) => void): void;
  on(event: "exit", listener: (code: number) => void): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

interface WorkerThreadsModule {
  readonly isMainThread: boolean;
  readonly threadId: number;
  readonly workerData: unknown;
  readonly parentPort: { postMessage(value: unknown, transfer?: readonly unknown[]): void } | null;
  readonly Worker: new (
    url: URL | string,
    options: { workerData?: unknown; transferList?: readonly unknown[]; name?: string; execArgv?: string[] },
  ) => NodeWorker;
}

interface ProcessLike {
  readonly versions?: { readonly node?: string; readonly bun?: string };
  getBuiltinModule?(id: string): unknown;
  on?(event: "exit", listener: (code: number) => void): void;
}

const globals = globalThis as unknown as {
  readonly process?: ProcessLike;
  readonly Deno?: unknown;
  readonly Bun?: unknown;
  readonly Worker?: new (url: URL | string, options?: { type?: string; name?: string }) => WebWorker;
  readonly navigator?: { readonly locks?: WebLocks };
};

/** The Web Locks API (`navigator.locks`), as far as the library uses it. */
interface WebLocks {
  request(name: string, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
}

/**
 * Web Locks, where a worker's locks are released by the browser when the worker's context is destroyed (the spec's
 * "release the locks of a terminated agent"): a lock the worker holds for its whole life, requested by its starter,
 * is granted exactly when the worker can no longer run. Browsers only: Deno and Bun start workers through
 * worker_threads here and have exit events of their own.
 */
const webLocks: WebLocks | undefined = globals.navigator?.locks;

interface WebWorker {
  postMessage(value: unknown, transfer?: readonly unknown[]): void;
  addEventListener(type: "message" | "error", listener: (event: { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}

/** Which runtime this is. */
export const runtimeKind: RuntimeKind =
  globals.Deno !== undefined ? "deno" : globals.Bun !== undefined ? "bun" : globals.process?.versions?.node ? "node" : "browser";

const workerThreads: WorkerThreadsModule | undefined =
  runtimeKind === "browser" ? undefined : (workerThreadsModule as WorkerThreadsModule | undefined);

/**
 * Whether `terminate()` stops a worker at once (Node, Bun). Deno's reports the worker's exit at once but runs its
 * JavaScript on until it returns to its event loop; a browser's runs on for a grace period (about 2 s in Chromium).
 * Where it does not stop at once, the library turns termination into a request the thread obeys (thread/spawn.ts).
 */
export const terminateStopsAtOnce: boolean = runtimeKind === "node" || runtimeKind === "bun";

/**
 * Whether a MessagePort fires `close` when the thread holding its other end ends (Node, Bun). Deno never fires it;
 * browsers have no such event.
 */
export const portCloseFires: boolean = runtimeKind === "node" || runtimeKind === "bun";

/**
 * Whether stack frames count columns as V8 does (Node, Deno, Chromium). JSC's (Bun, Safari) point elsewhere in the
 * expression, so reports give only the line there.
 */
export const stackColumnsExact: boolean =
  runtimeKind === "node" ||
  runtimeKind === "deno" ||
  (runtimeKind === "browser" && /\bChrom(e|ium)\//.test((globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? ""));

/** Spin-wait hint; a no-op where `Atomics.pause` does not exist yet. */
export const pause: () => void =
  typeof (Atomics as { pause?: () => void }).pause === "function"
    ? (Atomics as unknown as { pause: () => void }).pause
    : () => {};

/** Milliseconds from a monotonic clock. */
export function now(): number {
  return performance.now();
}

/** Milliseconds since the Unix epoch (wall clock, for reports). */
export function wallClock(): number {
  return Date.now();
}

let blockingAllowed: boolean | undefined;

/** Whether this thread may block in `Atomics.wait` (a browser's main thread may not). */
export function canBlock(): boolean {
  if (blockingAllowed === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blockingAllowed = true;
    } catch {
      blockingAllowed = false;
    }
  }
  return blockingAllowed;
}

/** True on the thread that started the program (Node's main thread, a browser's window). */
export function isMainThread(): boolean {
  if (workerThreads) return workerThreads.isMainThread;
  return typeof (globalThis as { document?: unknown }).document !== "undefined";
}

/** The runtime's own id for this thread (Node's `threadId`), or 0 where there is none. */
export function platformThreadId(): number {
  return watchToken || (workerThreads?.threadId ?? 0);
}

let keepAliveCount = 0;
let keepAliveTimer: ReturnType<typeof setInterval> | undefined;

/**
 * Keeps this thread's event loop alive until the returned function is called. `Atomics.waitAsync` does not
 * do this by itself (nodejs/node#61941), so a thread awaiting a lock would otherwise just exit.
 */
export function keepAlive(): () => void {
  if (keepAliveCount++ === 0 && runtimeKind !== "browser") {
    keepAliveTimer = setInterval(() => {}, 0x7fffffff);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--keepAliveCount === 0 && keepAliveTimer !== undefined) {
      clearInterval(keepAliveTimer);
      keepAliveTimer = undefined;
    }
  };
}

/** A worker thread, seen from the thread that started it. */
export interface PlatformWorker {
  /** The runtime's id for the worker (Node's `threadId`), or 0 where there is none. */
  readonly platformId: number;
  postMessage(value: unknown, transfer?: readonly Transferable[]): void;
  onMessage(listener: (value: unknown) => void): void;
  /** Called once when the worker has ended, however it ended; `error` is set when it died of an error. */
  onExit(listener: (exitCode: number, error: unknown) => void): void;
  terminate(): Promise<void>;
  /**
   * Where the runtime stops a busy worker only some time after `terminate()` and reports nothing when it has
   * (browsers: ~2 s in Chromium): stops it, and `onExit` fires once it can no longer run (a Web Lock the worker holds
   * is released). Undefined where such an end cannot be known.
   */
  readonly stopAndReport?: () => void;
  /** Whether this worker keeps the process alive. */
  setKeepsAlive(keep: boolean): void;
}

/** Starts a worker running the module at `url`; `data` (with `transfer`) arrives as `workerInitData()`. */
export function startWorker(url: URL, data: unknown, transfer: readonly Transferable[], name: string): PlatformWorker {
  if (workerThreads) {
    const worker = new workerThreads.Worker(url, { workerData: data, transferList: transfer, name });
    let error: unknown;
    worker.on("error", (e) => {
      error = e;
    });
    return {
      platformId: worker.threadId,
      postMessage: (value, list) => worker.postMessage(value, list),
      onMessage: (listener) => worker.on("message", listener),
      onExit: (listener) => worker.on("exit", (code) => listener(code, error)),
      terminate: async () => {
        await worker.terminate();
      },
      setKeepsAlive: (keep) => (keep ? worker.ref() : worker.unref()),
    };
  }
  const WorkerClass = globals.Worker;
  if (!WorkerClass) throw new Error("threadsafe: this runtime has no Worker to start threads with");
  const worker = new WorkerClass(url, { type: "module", name });
  // The worker holds a Web Lock of this name for as long as it can run (workerInitData), and says when it holds it;
  // this side then asks for the same lock, which is granted once the worker is gone, however it went (terminated
  // while busy in its own code, crashed, out of memory): its end, when it could not post one itself.
  const lifeLock = webLocks ? `threadsafe-thread-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}` : undefined;
  worker.postMessage({ threadsafeInit: data, threadsafeLifeLock: lifeLock }, transfer);
  let lifeLockHeld = false;
  /** Stops the worker; its end is reported once it can no longer run (see lifeLock). */
  const stopAndReport = (): void => {
    worker.terminate();
    if (lifeLockHeld) return; // the request made when it said it holds the lock reports its end
    // It has not said it holds its lock yet, and it runs no code of the thread before it does (workerInitData). If
    // the lock is free, this side takes it for good: the stopped worker can never get it, so never runs. If not, it
    // took it just now: its end is reported when the lock is released, as usual.
    void webLocks!.request(lifeLock!, { ifAvailable: true }, (lock) => {
      if (lock === null) {
        void webLocks!.request(lifeLock!, () => end(1, undefined));
        return;
      }
      end(1, undefined);
      return new Promise(() => {});
    });
  };
  const exitListeners: Array<(code: number, error: unknown) => void> = [];
  let ended = false;
  const end = (code: number, error: unknown) => {
    if (ended) return;
    ended = true;
    for (const listener of exitListeners) listener(code, error);
  };
  // A worker that fails before the library runs in it (a module that cannot load) ends here. Later uncaught errors
  // are the worker's own to handle: it ends itself (onUncaughtError) and says so with `threadsafeEnded`, without an
  // `error` event reaching this side. A browser worker survives its uncaught errors, so it is terminated first:
  // nothing it holds may be released while it can still run.
  worker.addEventListener("error", (event) => {
    worker.terminate();
    end(1, workerEventError(event, url));
  });
  const messageListeners: Array<(value: unknown) => void> = [];
  worker.addEventListener("message", (event) => {
    if (lifeLock !== undefined && (event.data as { threadsafeHoldsLifeLock?: unknown } | null)?.threadsafeHoldsLifeLock === lifeLock) {
      lifeLockHeld = true;
      void webLocks!.request(lifeLock, () => end(1, undefined));
      return;
    }
    const ended = (event.data as { threadsafeEnded?: unknown } | null)?.threadsafeEnded;
    if (typeof ended === "number") {
      // The worker posts this as its last act and then never runs again (endThisThread): now it can be stopped.
      const crash = (event.data as { threadsafeError?: { name?: unknown; message?: unknown } }).threadsafeError;
      worker.terminate();
      let error: Error | undefined;
      if (crash !== undefined) {
        error = new Error(String(crash.message));
        error.name = String(crash.name);
      }
      end(ended, error);
      return;
    }
    for (const listener of messageListeners) listener(event.data);
  });
  return {
    platformId: 0,
    postMessage: (value, list) => worker.postMessage(value, list),
    onMessage: (listener) => messageListeners.push(listener),
    onExit: (listener) => exitListeners.push(listener),
    terminate: async () => {
      worker.terminate();
      end(1, undefined);
    },
    stopAndReport: lifeLock === undefined ? undefined : stopAndReport,
    setKeepsAlive: () => {},
  };
}

/** Whether this thread was started by `startWorker` (it asked for its init data): its starter follows its end. */
let startedByStartWorker = false;
/** A browser worker's own `close()`, once workerInitData has put endThisThread in its place. */
let closeWorker: (() => void) | undefined;

/** In a worker started by `startWorker`, the data it was started with. */
export async function workerInitData(): Promise<unknown> {
  startedByStartWorker = true;
  if (workerThreads) return workerThreads.workerData;
  // A browser worker that calls close() itself ends after its current task with no event its starter could hear:
  // it ends as endThisThread says instead (its exit hooks run, its end is posted), as process.exit(0) would on Node.
  const scope = globalThis as unknown as { close?: () => void };
  if (typeof scope.close === "function") {
    closeWorker = scope.close.bind(globalThis);
    scope.close = () => endThisThread(0);
  }
  return new Promise((resolve) => {
    const scope = globalThis as unknown as {
      addEventListener(type: "message", listener: (event: { data: unknown }) => void, options?: { once: boolean }): void;
    };
    scope.addEventListener(
      "message",
      (event) => {
        const { threadsafeInit, threadsafeLifeLock } = event.data as { threadsafeInit?: unknown; threadsafeLifeLock?: unknown };
        if (typeof threadsafeLifeLock !== "string" || !webLocks) return resolve(threadsafeInit);
        // Held until this worker's context is destroyed (startWorker): granted before the thread runs any code.
        void webLocks.request(threadsafeLifeLock, () => {
          postToParent({ threadsafeHoldsLifeLock: threadsafeLifeLock });
          resolve(threadsafeInit);
          return new Promise(() => {});
        });
      },
      { once: true },
    );
  });
}

/** Posts a message to the thread that started this worker. */
export function postToParent(value: unknown): void {
  if (workerThreads) {
    workerThreads.parentPort?.postMessage(value);
    return;
  }
  (globalThis as unknown as { postMessage(value: unknown): void }).postMessage(value);
}

/**
 * Runs `listener` when this thread is about to end on its own (it returned, threw, or called `process.exit`).
 * It does not run when another thread terminates this one: lifeline ports cover that case.
 */
export function onThreadExit(listener: (exitCode: number) => void): void {
  if (workerThreads) globals.process?.on?.("exit", listener);
  else threadExitHooks.push(listener);
}

/** A browser thread's exit hooks: it has no `process`, so endThisThread (also on an uncaught error) runs them. */
const threadExitHooks: Array<(exitCode: number) => void> = [];

/**
 * Listens for messages from the thread that started this worker. Used only where termination is a request
 * (`terminateStopsAtOnce` false): a Node port listening here would keep the thread alive.
 */
export function onParentMessage(listener: (value: unknown) => void): void {
  if (workerThreads) {
    (workerThreads.parentPort as unknown as NodePort | null)?.on("message", listener);
    return;
  }
  const scope = globalThis as unknown as { addEventListener(type: "message", listener: (event: { data: unknown }) => void): void };
  scope.addEventListener("message", (event) => listener(event.data));
}

/** Hands a port's keep-alive behaviour to the caller: Node ports keep a thread alive while they listen. */
export function setPortKeepsAlive(port: MessagePort, keep: boolean): void {
  const nodePort = port as MessagePort & { ref?: () => void; unref?: () => void };
  if (keep) nodePort.ref?.();
  else nodePort.unref?.();
}

interface NodePort {
  on(event: "message", listener: (value: unknown) => void): void;
  on(event: "close", listener: () => void): void;
}

/** Listens for messages on a port. */
export function onPortMessage(port: MessagePort, listener: (value: unknown) => void): void {
  if (workerThreads) (port as unknown as NodePort).on("message", listener);
  else {
    port.addEventListener("message", (event) => listener(event.data));
    port.start();
  }
}

/**
 * Calls `listener` when the other side of `port` is gone: closed, or its thread ended in any way, including
 * `terminate()`. Returns false where the runtime cannot tell (browsers have no such event).
 */
export function onPortClose(port: MessagePort, listener: () => void): boolean {
  if (!portCloseFires) return false;
  (port as unknown as NodePort).on("close", listener);
  return true;
}

/**
 * A file URL for an absolute file path, or undefined for anything else. In a browser, where there are no files, an
 * absolute path is a path on the page's server.
 */
export function fileUrlOf(path: string): URL | undefined {
  const page = runtimeKind === "browser" ? locationBase() : undefined;
  if (page !== undefined) return path.startsWith("/") ? new URL(path, page) : undefined;
  if (path.startsWith("/")) return new URL(`file://${encodeURI(path)}`);
  if (/^[A-Za-z]:[\\/]/.test(path)) return new URL(`file:///${encodeURI(path.replaceAll("\\", "/"))}`);
  return undefined;
}

/** Calls `listener` when this thread is about to die of an uncaught error (without handling it). */
export function onUncaughtError(listener: () => void): void {
  if (workerThreads) {
    (globals.process as { on?(event: "uncaughtExceptionMonitor", listener: () => void): void } | undefined)?.on?.(
      "uncaughtExceptionMonitor",
      listener,
    );
    return;
  }
  // A page does not die of an uncaught error, and neither does a Web Worker the user started (which then `receive`d):
  // nobody would hear that it ended. Only a thread started by `startWorker` ends itself, and its starter hears it.
  if (!startedByStartWorker) return;
  // A browser worker survives an uncaught error; a thread of this library dies of it, as on Node, so that what it
  // holds is released only once it can no longer run: it ends itself here (endThisThread never returns).
  const scope = globalThis as unknown as {
    addEventListener(type: "error", listener: (event: { message?: string; error?: unknown; preventDefault(): void }) => void): void;
  };
  scope.addEventListener("error", (event) => {
    event.preventDefault(); // the starting thread hears of it from threadsafeEnded, not from an error event
    listener();
    const error = event.error as { name?: unknown; message?: unknown } | undefined;
    const text = typeof error?.message === "string" ? error.message : (event.message ?? "uncaught error").replace(/^Uncaught /, "");
    endThisThread(1, { name: typeof error?.name === "string" ? error.name : "Error", message: text });
  });
}

/** A `node:worker_threads` Worker (Node, Deno, Bun). */
interface NodeStyleWorker {
  readonly threadId: number;
  once(event: "exit", listener: (exitCode: number) => void): unknown;
}

/** A Web Worker (browsers; the global `Worker` of Deno and Bun). */
interface WebStyleWorker {
  readonly threadId?: number; // Bun's
  postMessage(value: unknown): void;
  terminate(): unknown;
  addEventListener(type: string, listener: (event: { code?: number }) => void): void;
}

/** A worker created by user code, as `watch` accepts it: a `node:worker_threads` Worker or a Web Worker. */
export type WatchableWorker = NodeStyleWorker | WebStyleWorker;

/** Whether `value` is a worker `watch` can follow. */
export function isWatchableWorker(value: unknown): value is WatchableWorker {
  if (typeof value !== "object" || value === null) return false;
  const node = value as Partial<NodeStyleWorker>;
  if (typeof node.threadId === "number" && typeof node.once === "function") return true;
  const web = value as Partial<WebStyleWorker>;
  return typeof web.postMessage === "function" && typeof web.terminate === "function" && typeof web.addEventListener === "function";
}

/** The marker of the message by which `watch` gives a Web Worker its platform id. */
const WATCH_TOKEN = "__threadsafe_watch__";

/**
 * Calls `listener` with the worker's platform thread id once it has ended: however it ended for a
 * `node:worker_threads` Worker and for Bun's Web Worker (its `close` event); for other Web Workers (browsers, Deno),
 * which report no end at all, when `terminate()` is called on it. Such a worker learns its platform id from a
 * message (`WATCH_TOKEN`), which the library in it takes before any listener of the user's sees it.
 */
export function onWorkerExit(worker: WatchableWorker, listener: (platformId: number, exitCode: number) => void): void {
  if ("once" in worker && typeof worker.once === "function") {
    const platformId = worker.threadId; // read now: Node reports -1 once the worker is gone
    worker.once("exit", (exitCode) => listener(platformId, exitCode));
    return;
  }
  const web = worker as WebStyleWorker;
  if (runtimeKind === "bun" && typeof web.threadId === "number") {
    const platformId = web.threadId;
    web.addEventListener("close", (event) => listener(platformId, event.code ?? 0));
    return;
  }
  // Above every id Node or Deno gives a thread (they count up from 1), below 2^31.
  const token = 0x40000000 + Math.floor(Math.random() * 0x3fffffff);
  web.postMessage({ [WATCH_TOKEN]: token });
  const terminate = web.terminate;
  let ended = false;
  Object.defineProperty(web, "terminate", {
    configurable: true,
    writable: true,
    value: function (this: WebStyleWorker, ...rest: unknown[]): unknown {
      const result = (terminate as (...a: unknown[]) => unknown).apply(this, rest);
      if (!ended) {
        ended = true;
        listener(token, 1);
      }
      return result;
    },
  });
}

/** The platform id `watch` gave this Web Worker, if it did. */
let watchToken = 0;

// In a Web Worker (no document, a global postMessage, no worker_threads parent: browsers, Deno), take watch()'s
// message before user code can see it: the library is imported before the worker's own code runs, so this listener
// comes first. Not in worker_threads workers, which watch() follows by their threadId (and where a global message
// listener could keep a worker alive that would otherwise end). Not on Bun: its main thread has a global postMessage
// too, and a global message listener there keeps the process alive forever (a program that imported the library
// never exited); Bun's Web Workers have a parentPort and watch() follows them by their threadId.
if (runtimeKind !== "bun" && !workerThreads?.parentPort) {
  const scope = globalThis as unknown as {
    document?: unknown;
    postMessage?: unknown;
    addEventListener?(type: "message", listener: (event: { data: unknown; stopImmediatePropagation(): void }) => void): void;
  };
  if (scope.document === undefined && typeof scope.postMessage === "function" && typeof scope.addEventListener === "function") {
    scope.addEventListener("message", (event) => {
      const token = (event.data as Record<string, unknown> | null)?.[WATCH_TOKEN];
      if (typeof token !== "number") return;
      event.stopImmediatePropagation();
      watchToken = token;
    });
  }
}

/**
 * Ends this worker thread now: no more of its JavaScript runs, and this call never returns. Node, Deno and Bun:
 * `process.exit` inside a worker ends only that worker at once (measured on each: no `finally` runs; messages
 * already posted are still delivered, 50 of 50 on Node). A browser worker's `close()` lets the running task go on,
 * and no event tells the starting thread it ended: the worker runs its exit hooks, posts `{ threadsafeEnded }`
 * (with `crash`, the text of the uncaught error that ends it), closes, and sleeps in `Atomics.wait` on memory nobody
 * else has until the starting thread, hearing `threadsafeEnded`, terminates it (startWorker).
 */
export function endThisThread(exitCode: number, crash?: { readonly name: string; readonly message: string }): never {
  if (workerThreads && !workerThreads.isMainThread) {
    (globals.process as { exit(code: number): never } | undefined)?.exit(exitCode);
  }
  for (const hook of threadExitHooks.splice(0)) hook(exitCode);
  const scope = globalThis as unknown as { postMessage(value: unknown): void; close?: () => void };
  scope.postMessage(crash === undefined ? { threadsafeEnded: exitCode } : { threadsafeEnded: exitCode, threadsafeError: crash });
  (closeWorker ?? scope.close)?.();
  const never = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(never, 0, 0);
}

/**
 * Throws an error that says what to do when this thread has no `SharedArrayBuffer`: browsers give it only to pages
 * that are cross-origin isolated. Without this, the first lock would fail with "SharedArrayBuffer is not defined".
 */
export function requireSharedMemory(): void {
  if (typeof SharedArrayBuffer === "function") return;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  throw new Error(
    "threadsafe: SharedArrayBuffer is not available here" +
      (isolated === false ? " because this page is not cross-origin isolated" : "") +
      ". Browsers give shared memory only to cross-origin isolated pages: serve the page (and the scripts of its " +
      'workers) with the headers "Cross-Origin-Opener-Policy: same-origin" and ' +
      '"Cross-Origin-Embedder-Policy: require-corp" (self.crossOriginIsolated is then true)',
  );
}

/** The files `spawn` starts threads from; they sit side by side in the package's dist/ (and dist/browser/). */
export type ThreadFile = "worker.js" | "supervisor.js";

let threadFilesBase: URL | undefined;

/**
 * Where the thread files are served (`configure({ workerFiles })`), for builds that did not put them next to the
 * library's code. Undefined goes back to looking next to the library's code.
 */
export function setThreadFilesBase(base: URL | undefined): void {
  threadFilesBase = base;
}

/** The base against which a relative `workerFiles` setting is read: the page (or worker script) in a browser. */
export function locationBase(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}

/**
 * The URL of a thread file: in the configured folder, else `beside()`, the file next to the library's code. Callers
 * pass `() => new URL("./worker.js", import.meta.url)` written out, the form bundlers recognise. It is called lazily:
 * bundles without `import.meta.url` (an IIFE or CommonJS bundle) make it throw, and the error then says what to do.
 */
export function threadFileUrl(file: ThreadFile, beside: () => URL): URL {
  if (threadFilesBase) return new URL(file, threadFilesBase);
  try {
    return beside();
  } catch (error) {
    throw new Error(
      `threadsafe: cannot tell where threadsafe's ${file} is served: this build has no import.meta.url (an IIFE or ` +
        `CommonJS bundle?). Serve the files of threadsafe's dist/browser/ folder (worker.js, supervisor.js and their ` +
        `chunk-*.js) and call configure({ workerFiles: "/their/folder/" }) before the first spawn, or bundle as ` +
        `ES modules (${(error as Error).message})`,
    );
  }
}

/**
 * The error a Web Worker's `error` event stands for. An event without a message is a load failure (the script or
 * one of its imports could not be fetched or parsed): that one names the URL and what to do.
 */
function workerEventError(event: { message?: string }, url: URL): Error {
  if (event.message !== undefined) return new Error(event.message);
  return new Error(
    `threadsafe: the thread's code could not be loaded from ${url.href} (not found, not served as JavaScript, or ` +
      `blocked by Cross-Origin-Embedder-Policy). Serve the files of threadsafe's dist/browser/ folder (worker.js, ` +
      `supervisor.js and their chunk-*.js) together, and if that is not next to the library's code in your bundle, ` +
      `call configure({ workerFiles: "/their/folder/" }) before the first spawn`,
  );
}
