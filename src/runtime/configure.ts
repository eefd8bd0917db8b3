/** `configure()`: the program-wide settings, validated and shared with threads started afterwards. */

import { locationBase, setThreadFilesBase } from "../platform/index.js";
import { applySettings, storeSettings, type LockOrderMode, type Report, type StackMode } from "./config.js";
import { currentRuntime } from "./current.js";
import { MAX_LOCKS_LIMIT, sizing } from "./runtime.js";

/** Options of `configure`. Every field is optional; omitted ones keep their value. */
export interface ConfigureOptions {
  /**
   * Lock-order checking: record "held A while blocking on B" and report the first inversion (B then A elsewhere),
   * even in a run that did not deadlock. "warn" reports through `onReport`; "throw" throws `LockOrderError`
   * before blocking. Default "off" (it costs a set lookup per held lock on every acquisition).
   */
  readonly lockOrder?: LockOrderMode;
  /**
   * When to capture stacks for reports (3–15 µs each): "off" (default); "blocking": where each thread is blocked,
   * captured when it starts to wait (and the site of a lock it then acquires), so a deadlock report shows where
   * every thread of the cycle waits; "all": also where every lock is acquired, on every acquisition (slow: for
   * debugging).
   */
  readonly stacks?: StackMode;
  /** A wait longer than this many ms is reported once through `onReport` (default 30 000; 0 turns it off). */
  readonly stallWarnMs?: number;
  /** Receives reports (lock-order inversions in "warn" mode, stalls). Default: `console.warn`. Per thread. */
  readonly onReport?: (report: Report) => void;
  /**
   * How many locks the program can create (default 65 536). Fixed when the runtime is created, so it must be set
   * before the first lock or thread.
   */
  readonly maxLocks?: number;
  /**
   * Where threadsafe's thread files (`worker.js`, `supervisor.js` and the `chunk-*.js` they import, from the
   * package's `dist/browser/`, or `dist/` outside browsers) are served, as a folder URL; a relative one is read
   * against the page. Needed only by bundles that do not place them next to the library's code (see the README's
   * "Browsers"). Applies to this thread's spawns; `null` goes back to the default.
   *
   * @example
   * configure({ workerFiles: "/vendor/threadsafe/" }); // serves node_modules/threadsafe/dist/browser/ there
   */
  readonly workerFiles?: string | URL | null;
}

/**
 * Changes program-wide settings. Shareable settings apply to this thread and to threads started after the call.
 *
 * @example
 * configure({ lockOrder: "throw", stacks: "blocking" }); // in tests: fail on any lock-order inversion
 */
export function configure(options: ConfigureOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`threadsafe: configure(options): expected an object like { lockOrder: "warn" }, got ${String(options)}`);
  }
  const { maxLocks, workerFiles } = options;
  const filesBase = workerFiles === undefined || workerFiles === null ? undefined : workerFilesUrl(workerFiles);
  if (maxLocks !== undefined) {
    if (typeof maxLocks !== "number" || !Number.isInteger(maxLocks) || maxLocks < 1 || maxLocks > MAX_LOCKS_LIMIT) {
      throw new RangeError(`threadsafe: configure({ maxLocks }): expected a whole number from 1 to ${MAX_LOCKS_LIMIT}, got ${String(maxLocks)}`);
    }
    const rt = currentRuntime();
    if (rt && rt.maxObjects !== maxLocks) {
      throw new Error(
        `threadsafe: configure({ maxLocks }) must be called before the first lock or thread is created (the runtime already exists with maxLocks ${rt.maxObjects})`,
      );
    }
  }
  applySettings(options);
  if (workerFiles !== undefined) setThreadFilesBase(filesBase);
  if (maxLocks !== undefined) sizing.maxLocks = maxLocks;
  const rt = currentRuntime();
  if (rt) storeSettings(rt);
}

/** The folder URL of `workerFiles`, validated; it ends with "/" so that file names resolve inside it. */
function workerFilesUrl(value: unknown): URL {
  if (typeof value !== "string" && !(value instanceof URL)) {
    throw new TypeError(`threadsafe: configure({ workerFiles }): expected a folder URL (a string or URL) like "/vendor/threadsafe/", or null, got ${String(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value, locationBase());
  } catch {
    throw new TypeError(
      `threadsafe: configure({ workerFiles }): ${String(value)} is not a URL (outside a page it must be absolute, like "file:///srv/threadsafe/dist/")`,
    );
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}
