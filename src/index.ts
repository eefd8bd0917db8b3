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
export { RwLock, RwLockReadGuard, RwLockWriteGuard, type RwLockOptions } from "./sync/rwlock.js";
export { Arc, Weak, type ArcOptions } from "./sync/arc.js";
export { Condvar, type CondvarOptions, type CondvarWaitOptions, type CondvarWaitAsyncOptions } from "./sync/condvar.js";
export { Semaphore, Permit, type SemaphoreOptions, type SemaphoreWithOptions, type SemaphoreWithAsyncOptions } from "./sync/semaphore.js";
export { Barrier, type BarrierOptions, type BarrierWaitResult } from "./sync/barrier.js";
export { AtomicBool, type AtomicOptions } from "./sync/atomic.js";
export { AtomicI8, AtomicU8, AtomicI16, AtomicU16, AtomicI32, AtomicU32, AtomicI64, AtomicU64 } from "./sync/atomic-int.js";
export { Once, type OnceState } from "./sync/once.js";
export { OnceLock } from "./sync/once-lock.js";
export { LazyLock } from "./sync/lazy-lock.js";
export type { OnceOptions, OnceWaitOptions, OnceWaitAsyncOptions } from "./sync/once-common.js";
export {
  channel,
  syncChannel,
  Sender,
  Receiver,
  select,
  selectAsync,
  type Selected,
  type ChannelOptions,
  type ChannelAsyncOptions,
  type ChannelCreateOptions,
  type SyncChannelOptions,
} from "./sync/channel.js";
export type { SharedObject } from "./sync/shareable.js";
export type { LockOptions, LockAsyncOptions } from "./sync/options.js";
export {
  PoisonError,
  TimeoutError,
  LockTimeoutError,
  DeadlockError,
  LockOrderError,
  ThreadError,
  RecvError,
  SendError,
  type ThreadRef,
  type LockRef,
  type CycleEntry,
  type DeadlockKind,
  type ThreadEnd,
} from "./errors.js";
export { spawn, JoinHandle, type SpawnOptions } from "./thread/spawn.js";
export { share, receive, type SharedMessage } from "./thread/share.js";
export { watch } from "./thread/watch.js";
export { currentThread } from "./thread/current-thread.js";
export { lockAll, lockAllAsync, type GuardsOf } from "./sync/lock-all.js";
export { transaction, type Transaction, type TransactionOptions } from "./sync/transaction.js";
export { configure, type ConfigureOptions } from "./runtime/configure.js";
export type { Report, LockOrderMode, StackMode } from "./runtime/config.js";
export { dumpLocks, type LockDump, type LockState, type LockWaiter, type ThreadState } from "./deadlock/dump.js";
export {
  bool,
  i8,
  u8,
  i16,
  u16,
  i32,
  u32,
  f32,
  f64,
  i64,
  u64,
  string,
  bytes,
  json,
  struct,
  array,
  snapshot,
  type Assignable,
  type Snapshot,
  type Layout,
  type Infer,
  type ArrayView,
  type JsonValue,
  type PrimitiveKind,
  type LayoutDescriptor,
} from "./layout/index.js";
