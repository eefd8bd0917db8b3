/**
 * `threadsafe/postgres`: the library's locks beyond one process, on PostgreSQL. A `db` from `connect()` is one
 * participant (what a thread is in shared memory); `db.mutex(name, layout, initial)` and `db.rwlock(…)` are locks
 * that every participant naming them shares, with typed values, timeouts, `AbortSignal`, a `DeadlockError` that
 * names who waits for whom, and `previousHolderDied` after a holder's process died.
 *
 * Needs the `pg` package (an optional peer dependency: the core `threadsafe` entry never loads it).
 *
 * @example
 * import { i32 } from "threadsafe";
 * import { connect } from "threadsafe/postgres";
 * const db = await connect({ connectionString: process.env.DATABASE_URL, name: "worker-3" });
 * const counter = db.mutex("counter", i32, 0);
 * await counter.withAsync((g) => { g.value += 1; }, { timeout: 1000 });
 * await db.close();
 */

export {
  connect,
  Database,
  type ConnectOptions,
  type DistributedGuardsOf,
  type DistributedHolder,
  type DistributedLockDump,
  type DistributedLockState,
} from "./database.js";
export { DistributedGuard, DistributedMutex, DistributedRwLock, type DistributedReadGuard, type LockKind } from "./locks.js";
