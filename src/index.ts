/**
 * threadsafe: Rust's shared-state concurrency for JavaScript threads.
 *
 * @example
 * import { Mutex, spawn, i32 } from "threadsafe";
 * const counter = new Mutex(i32, 0);
 * const handles = [];
 * for (let i = 0; i < 10; i++) {
 *   handles.push(spawn((counter) => counter.with((num) => { num.value += 1; }), [counter]));
 * }
 * for (const h of handles) await h.join();
 * console.log(`Result: ${counter.with((num) => num.value)}`); // Result: 10
 */

export { Mutex, type MutexOptions } from "./sync/mutex.js";
export { MutexGuard } from "./sync/guard.js";
export type { LockOptions, LockAsyncOptions } from "./sync/options.js";
export {
  PoisonError,
  LockTimeoutError,
  DeadlockError,
  LockOrderError,
  ThreadError,
  type ThreadRef,
  type LockRef,
  type CycleEntry,
  type DeadlockKind,
  type ThreadEnd,
} from "./errors.js";
export { spawn, JoinHandle, type SpawnOptions } from "./thread/spawn.js";
export { share, receive, type SharedMessage } from "./thread/share.js";
export { currentThread } from "./thread/current-thread.js";
export * from "./layout/index.js";
