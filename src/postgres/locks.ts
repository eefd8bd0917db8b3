/**
 * Distributed locks: one row per lock (its value, its layout, and a holder marker), one session-level advisory
 * lock per row, taken and waited for on the participant's one connection.
 *
 * A lock's life on the server, in two round trips:
 * - acquire (one batch, one implicit transaction): take the advisory lock, then (a new statement, so a new
 *   snapshot: it sees what the previous holder committed before releasing) write the holder marker and read the
 *   value and the previous marker. A marker that is still set when the lock is granted was left by a holder whose
 *   session ended without releasing: `previousHolderDied`. The marker's commit is asynchronous (it only has to be
 *   visible, which an asynchronous commit is at once; after a server crash at worst one death goes unreported).
 * - release (one batch): `BEGIN; UPDATE value, clear marker; COMMIT;` then unlock. The unlock comes after the
 *   commit, so the next holder reads the new value; a holder killed before it leaves the last released one.
 */

import type { LockRef, LockTimeoutError, ThreadRef } from "../errors.js";
import type { DataViews, Layout, Liveness } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { dataBufferSize, freshDataViews } from "../layout/data-views.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions } from "../sync/options.js";
import { hexBytes, literal, onHelper, type Rows, type ServerError, type Session } from "./session.js";
import { KEY_SPACE, keyOf } from "./keys.js";
import { deadlockError, lockTimeoutError } from "./reports.js";

/** What a lock needs from the participant that takes it (the `Database`). */
export interface Participant {
  readonly session: Session;
  /** The lock table, as a quoted SQL identifier. */
  readonly table: string;
  readonly me: ThreadRef;
  /** Throws when the participant was closed (`method` names the call). */
  checkOpen(method: string): void;
}

/** Which kind of distributed lock a name is (one name is one lock, of one kind, in a database). */
export type LockKind = "mutex" | "rwlock";

interface LocalWaiter {
  readonly write: boolean;
  readonly wake: () => void;
}

/**
 * One lock as one participant knows it: created by the first `db.mutex(name, …)`/`db.rwlock(name, …)` and shared
 * by every handle of that name on that participant, so its tasks queue here (a session's advisory locks are
 * re-entrant: two tasks of one connection must never both go to the server for the same lock).
 */
export class LockState<T = unknown> {
  readonly db: Participant;
  readonly name: string;
  readonly kind: LockKind;
  readonly layout: Layout<T>;
  readonly initial: Uint8Array;
  /** The row id, once the row is known (first use). */
  id = 0;
  #ready: Promise<void> | undefined;
  /** -1: a task of this participant writes (or is taking the lock to write); n > 0: n reading tasks; 0: free here. */
  #mode = 0;
  readonly #queue: LocalWaiter[] = [];

  constructor(db: Participant, name: string, kind: LockKind, layout: Layout<T>, initial: Uint8Array) {
    this.db = db;
    this.name = name;
    this.kind = kind;
    this.layout = layout;
    this.initial = initial;
  }

  get ref(): LockRef {
    return { id: this.id, name: this.name };
  }

  /** Tasks of this participant queued here for the lock. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Creates the row on first use (with the initial value; an existing row keeps its value) and checks its layout. */
  ready(): Promise<void> {
    return (this.#ready ??= this.#ensure().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    }));
  }

  async #ensure(): Promise<void> {
    const { session, table } = this.db;
    const name = literal(session.client, this.name);
    const layout = literal(session.client, JSON.stringify(this.layout.describe()));
    const results = await session.run(
      `INSERT INTO ${table} (name, kind, layout, value) VALUES (${name}, '${this.kind}', ${layout}, ${hexBytes(this.initial)}) ` +
        `ON CONFLICT (name) DO NOTHING; SELECT id, kind, layout FROM ${table} WHERE name = ${name}`,
    );
    const row = results[1]!.rows[0]!;
    if (row.kind !== this.kind) {
      throw new TypeError(
        `threadsafe: db.${this.kind}("${this.name}", …): "${this.name}" is already a distributed ${row.kind} in this database; ` +
          `use db.${String(row.kind)}("${this.name}", …) or another name`,
      );
    }
    const wanted = JSON.stringify(this.layout.describe());
    if (row.layout !== wanted) {
      throw new TypeError(
        `threadsafe: db.${this.kind}("${this.name}", layout, …): the lock is stored with layout ${String(row.layout)}, not ` +
          `${wanted}; every participant must give the same layout (or use another name)`,
      );
    }
    this.id = Number(row.id);
  }

  /** Waits until this participant's tasks let this one in (`write`: alone; else with other readers). */
  enter(write: boolean, signal: AbortSignal): Promise<void> {
    if (this.#canEnter(write)) {
      this.#mode = write ? -1 : this.#mode + 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: LocalWaiter = {
        write,
        wake: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        this.#dispatch(); // a writer that leaves the queue may let readers behind it in
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** The counterpart of `enter`: lets the next queued tasks in. */
  leave(write: boolean): void {
    this.#mode = write ? 0 : this.#mode - 1;
    this.#dispatch();
  }

  #canEnter(write: boolean): boolean {
    if (write) return this.#mode === 0 && this.#queue.length === 0;
    return this.#mode >= 0 && !this.#queue.some((w) => w.write); // a queued writer holds back new readers
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (next.write ? this.#mode !== 0 : this.#mode < 0) return;
      this.#queue.shift();
      this.#mode = next.write ? -1 : this.#mode + 1;
      next.wake();
      if (next.write) return;
    }
  }
}

/** What a granted acquisition read. */
interface Granted {
  readonly bytes: Uint8Array;
  readonly previousHolderDied: boolean;
}

const now = () => performance.now();

/** The largest `lock_timeout` PostgreSQL takes (ms); a longer timeout waits without one. */
const MAX_LOCK_TIMEOUT = 2 ** 31 - 1;

/** Runs `sql` again when a cancel meant for an earlier wait hits it instead (57014); the session makes that rare. */
async function runPastLateCancel(session: Session, sql: string): Promise<Rows[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await session.run(sql);
    } catch (error) {
      // A batch that failed inside its BEGIN … COMMIT leaves the session in a failed transaction block.
      if (sql.startsWith("BEGIN")) await session.run("ROLLBACK").catch(() => {});
      if ((error as ServerError).code !== "57014" || attempt >= 3) throw error;
    }
  }
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal !== undefined && signal.aborted && error === signal.reason;
}

/**
 * Takes `state` for one task: in-process first (behind this participant's other tasks), then on the server.
 * Resolves once the lock is held here and on the server, with the value read.
 */
export async function acquire(state: LockState, write: boolean, options: LockAsyncOptions | undefined, method: string): Promise<Granted> {
  const timeout = timeoutOf(options, method);
  const signal = signalOf(options, method);
  state.db.checkOpen(method);
  if (signal?.aborted) throw signal.reason;
  const start = now();
  // One signal for every wait before the server's own: the caller's abort, or the timeout running out here.
  const local = new AbortController();
  const timedOut = new Error("timed out");
  const onAbort = () => local.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = timeout === Infinity ? undefined : setTimeout(() => local.abort(timedOut), timeout);
  const timeoutError = (owner: ThreadRef | undefined) => lockTimeoutError(state, owner, now() - start, method);
  try {
    try {
      await state.ready();
      await state.enter(write, local.signal);
    } catch (error) {
      if (local.signal.reason === timedOut && error === timedOut) throw timeoutError(state.db.me); // another task of this db holds it
      throw error;
    }
    try {
      return await serverAcquire(state, write, start, timeout, local.signal, signal, timedOut, timeoutError);
    } catch (error) {
      state.leave(write);
      throw error;
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

async function serverAcquire(
  state: LockState,
  write: boolean,
  start: number,
  timeout: number,
  local: AbortSignal,
  user: AbortSignal | undefined,
  timedOut: Error,
  timeoutError: (owner: ThreadRef | undefined) => LockTimeoutError,
): Promise<Granted> {
  const { session, table } = state.db;
  const key = keyOf(state.id);
  const sql = () => {
    // Computed when the batch is sent: time spent queued behind other batches counts.
    const left = timeout === Infinity || timeout > MAX_LOCK_TIMEOUT ? 0 : Math.max(1, Math.ceil(timeout - (now() - start)));
    const limit = `SET LOCAL lock_timeout = ${left}; `;
    return write
      ? `${limit}SET LOCAL synchronous_commit = off; SELECT pg_advisory_lock(${key}); ` +
          `UPDATE ${table} AS t SET holder_pid = pg_backend_pid(), holder_name = current_setting('application_name') ` +
          `FROM ${table} AS old WHERE t.id = ${state.id} AND old.id = ${state.id} RETURNING t.value, old.holder_pid AS prev`
      : `${limit}SELECT pg_advisory_lock_shared(${key}); SELECT value, holder_pid AS prev FROM ${table} WHERE id = ${state.id}`;
  };
  let results: Rows[];
  try {
    // Once sent, the server's lock_timeout ends the wait in time: only an abort cancels a running batch.
    results = await session.run(sql, local, (reason) => reason !== timedOut);
  } catch (error) {
    const code = (error as ServerError).code;
    if (code === "40P01") throw await deadlockError(state, error as ServerError);
    // 55P03: the server's lock_timeout, and this connection is free to ask who holds it. timedOut: the batch never
    // left this process (queued behind another task's batch), so ask on a helper connection.
    if (code === "55P03" || error === timedOut) throw timeoutError(await holderOf(state, error === timedOut).catch(() => undefined));
    if (isAbort(error, local)) throw error; // never sent
    await forget(state, write); // cancelled mid-batch, or another failure: make sure nothing stays held
    if (local.aborted) throw local.reason;
    throw error;
  }
  const row = results[results.length - 1]!.rows[0];
  if (row === undefined) {
    await forget(state, write);
    throw new Error(`threadsafe: distributed lock "${state.name}": its row was deleted from ${table} while in use; it cannot be locked`);
  }
  const granted: Granted = { bytes: row.value as Uint8Array, previousHolderDied: row.prev !== null };
  if (user?.aborted) {
    // The cancel arrived after the grant: give the lock back as it was, and take nothing.
    await serverRelease(state, write, undefined);
    throw user.reason;
  }
  return granted;
}

/** Releases the lock on the server if this session holds it (after a failed or cancelled acquisition batch). */
async function forget(state: LockState, write: boolean): Promise<void> {
  const mode = write ? "ExclusiveLock" : "ShareLock";
  const unlock = write ? "pg_advisory_unlock" : "pg_advisory_unlock_shared";
  const sql =
    `SELECT ${unlock}(${keyOf(state.id)}) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted ` +
    `AND classid = ${KEY_SPACE} AND objid = ${state.id} AND objsubid = 1 AND mode = '${mode}'`;
  await runPastLateCancel(state.db.session, sql);
}

/** Who holds the lock on the server now (for a timeout's message). */
async function holderOf(state: LockState, onHelperConnection: boolean): Promise<ThreadRef | undefined> {
  const { session, me } = state.db;
  const sql =
    `SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid ` +
    `WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ${KEY_SPACE} AND l.objid = ${state.id} AND l.objsubid = 1 ` +
    `AND l.pid <> ${me.id} ORDER BY l.mode DESC LIMIT 1`;
  const row = onHelperConnection ? (await onHelper(session.config, `${me.name} (timeout)`, sql))[0] : (await session.run(sql))[0]!.rows[0];
  return row === undefined ? undefined : { id: Number(row.pid), name: String(row.application_name ?? "") };
}

/**
 * Writes `bytes` (when given: a write guard's value) and clears the holder marker in one transaction, then
 * releases the advisory lock. A read hold only releases.
 */
async function serverRelease(state: LockState, write: boolean, bytes: Uint8Array | undefined): Promise<void> {
  const { session, table } = state.db;
  const key = keyOf(state.id);
  if (!write) {
    await runPastLateCancel(session, `SELECT pg_advisory_unlock_shared(${key})`);
    return;
  }
  const value = bytes === undefined ? "" : `value = ${hexBytes(bytes)}, `;
  await runPastLateCancel(
    session,
    `BEGIN; UPDATE ${table} SET ${value}holder_pid = NULL, holder_name = NULL WHERE id = ${state.id}; COMMIT; SELECT pg_advisory_unlock(${key})`,
  );
}

/** Makes guards: not exported from the package, so only the library can make one. */
const guardToken: unique symbol = Symbol("threadsafe.postgres.guard");

/** Releases a guard without writing its value (a `withAsync` callback that threw, `lockAll` giving back). */
export let releaseUnwritten: (guard: DistributedGuard<unknown>) => Promise<void>;
/** For `database.ts` (set by the classes' static blocks; not re-exported from the package). */
export let makeMutex: <T>(state: LockState<T>) => DistributedMutex<T>;
export let makeRwLock: <T>(state: LockState<T>) => DistributedRwLock<T>;
export let stateOfMutex: <T>(mutex: DistributedMutex<T>) => LockState<T>;
export let stateOfRwLock: <T>(lock: DistributedRwLock<T>) => LockState<T>;
export let lockState: <T>(state: LockState<T>, write: boolean, options: LockAsyncOptions | undefined, method: string) => Promise<DistributedGuard<T>>;

/**
 * Access to the value of a held distributed lock (`DistributedMutex`, or an `RwLock`'s write side).
 *
 * `value` reads and writes a copy held by this process; the copy is written to PostgreSQL, in one transaction,
 * by `unlock()` (or `await using`'s dispose). Nothing is written before: a holder that dies leaves the last
 * released value. Assignments are checked against the layout when made (a bad value throws and changes nothing).
 *
 * @example
 * const g = await stock.lockAsync();
 * g.value.count -= 1;
 * await g.unlock();          // writes and releases
 */
export class DistributedGuard<T> implements Liveness, AsyncDisposable {
  readonly #state: LockState<T>;
  readonly #views: DataViews;
  readonly #write: boolean;
  #held = true;
  /**
   * True when the holder before this one ended (process killed, connection lost) while holding the lock: the
   * value is the last one released, and whatever that holder was doing was not written.
   */
  readonly previousHolderDied: boolean;

  /** @internal Guards come from `lockAsync()` and its siblings. */
  constructor(token: typeof guardToken, state: LockState<T>, write: boolean, granted: Granted) {
    if (token !== guardToken) throw new TypeError("threadsafe: a distributed guard comes from lockAsync(); it cannot be constructed");
    this.#state = state;
    this.#write = write;
    const buffer = new SharedArrayBuffer(dataBufferSize(state.layout));
    this.#views = freshDataViews(buffer);
    this.#views.u8.set(granted.bytes.subarray(0, state.layout.size));
    this.previousHolderDied = granted.previousHolderDied;
  }

  /** True for a read guard: writes through it (or its views) throw `TypeError`. */
  get readOnly(): boolean {
    return !this.#write;
  }

  /** The value (a view for `struct` and `array` layouts, whose fields read and write this guard's copy). */
  get value(): T {
    this.assertLive();
    return this.#state.layout.read(this.#views, 0, this);
  }

  set value(value: Assignable<T>) {
    this.assertLive();
    if (!this.#write) throw new TypeError(`threadsafe: distributed RwLock "${this.#state.name}": a read guard's value is read-only; use writeAsync()`);
    this.#state.layout.write(this.#views, 0, value as T);
  }

  /** The name of the lock this guard holds. */
  get lockName(): string {
    return this.#state.name;
  }

  /** Whether this guard still holds its lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Throws once the guard was released: views of `struct`/`array` values call it on every access. */
  assertLive(): void {
    if (!this.#held) throw new Error(`threadsafe: this guard of distributed lock "${this.#state.name}" was released; take the lock again to use its value`);
  }

  /**
   * Writes the value (write guards) in one transaction, then releases the lock. Calling it a second time is an
   * error; `await using`'s dispose after it is harmless.
   * @throws Error when the connection was lost: the server then released the lock itself, and the value is the
   *   last one released before (nothing of this guard's was written).
   */
  async unlock(): Promise<void> {
    if (!this.#held) throw new Error(`threadsafe: unlock() called twice on a guard of distributed lock "${this.#state.name}"; it was already released`);
    await this.#release(true);
  }

  /** Releases (writing the value) if still held; what `await using` calls at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#held) await this.#release(true);
  }

  static {
    releaseUnwritten = (guard) => (guard.#held ? guard.#release(false) : Promise.resolve());
  }

  async #release(writeValue: boolean): Promise<void> {
    this.#held = false;
    const state = this.#state;
    try {
      state.db.checkOpen("unlock");
      await serverRelease(state, this.#write, this.#write && writeValue ? this.#views.u8.slice(0, state.layout.size) : undefined);
    } catch (error) {
      throw new Error(
        `threadsafe: unlock() of distributed lock "${state.name}" failed, so this guard's value was not written ` +
          `(${error instanceof Error ? error.message : String(error)}). If the connection is gone, the server released the lock ` +
          `and the value is the last one released before; connect again to go on.`,
        { cause: error },
      );
    } finally {
      state.leave(this.#write);
    }
  }
}

/** A read guard of a distributed `RwLock`: `value` is read-only. */
export type DistributedReadGuard<T> = Omit<DistributedGuard<T>, "value"> & { readonly value: T };

async function lockGuard<T>(state: LockState<T>, write: boolean, options: LockAsyncOptions | undefined, method: string): Promise<DistributedGuard<T>> {
  const granted = await acquire(state, write, options, method);
  return new DistributedGuard(guardToken, state, write, granted);
}

async function runWith<T, R>(guard: DistributedGuard<T>, fn: (guard: DistributedGuard<T>) => R | PromiseLike<R>): Promise<R> {
  let result: R;
  try {
    result = await fn(guard);
  } catch (error) {
    await releaseUnwritten(guard as DistributedGuard<unknown>).catch(() => {});
    throw error;
  }
  if (guard.held) await guard.unlock();
  return result;
}

function checkFn(fn: unknown, method: string): void {
  if (typeof fn !== "function") throw new TypeError(`threadsafe: ${method}(fn): fn must be a function, got ${describe(fn)}`);
}

/**
 * A `Mutex<T>` shared by processes and hosts through PostgreSQL (made by `db.mutex(name, layout, initial)`).
 * Every participant that names the same lock gets the same lock and the same value.
 *
 * @example
 * const counter = db.mutex("counter", i32, 0);
 * await counter.withAsync((g) => { g.value += 1; }, { timeout: 1000 });
 */
export class DistributedMutex<T> {
  readonly #state: LockState<T>;

  /** @internal Made by `db.mutex()`. */
  constructor(token: typeof guardToken, state: LockState<T>) {
    if (token !== guardToken) throw new TypeError("threadsafe: a DistributedMutex comes from db.mutex(name, layout, initial)");
    this.#state = state;
  }

  /** The lock's name (the same on every participant). */
  get name(): string {
    return this.#state.name;
  }

  /**
   * Takes the lock (waiting behind this participant's other tasks, then on the server) and reads its value.
   * Rejects with `LockTimeoutError` (naming the holder), `DeadlockError` (PostgreSQL found a cycle and chose this
   * wait), or the signal's reason when aborted (the wait then takes nothing).
   */
  lockAsync(options?: LockAsyncOptions): Promise<DistributedGuard<T>> {
    return lockGuard(this.#state, true, options, "lockAsync");
  }

  /**
   * Locks, runs `fn`, writes the value and unlocks. If `fn` throws, nothing it assigned is written (the lock is
   * released with the value it had) and the error propagates: unlike an in-memory `Mutex`, no one could ever see
   * a half-done update, so there is nothing to poison.
   */
  async withAsync<R>(fn: (guard: DistributedGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    checkFn(fn, "withAsync");
    return runWith(await this.lockAsync(options), fn);
  }

  static {
    makeMutex = (state) => new DistributedMutex(guardToken, state);
    stateOfMutex = (mutex) => mutex.#state;
    lockState = lockGuard;
  }
}

/**
 * An `RwLock<T>` shared by processes and hosts through PostgreSQL (made by `db.rwlock(name, layout, initial)`):
 * readers share a session-level shared advisory lock, a writer takes it exclusively. Within one participant a
 * queued writer holds back new readers.
 */
export class DistributedRwLock<T> {
  readonly #state: LockState<T>;

  /** @internal Made by `db.rwlock()`. */
  constructor(token: typeof guardToken, state: LockState<T>) {
    if (token !== guardToken) throw new TypeError("threadsafe: a DistributedRwLock comes from db.rwlock(name, layout, initial)");
    this.#state = state;
  }

  /** The lock's name (the same on every participant). */
  get name(): string {
    return this.#state.name;
  }

  /** Takes a shared (read) hold; rejects like `DistributedMutex.lockAsync`. */
  readAsync(options?: LockAsyncOptions): Promise<DistributedReadGuard<T>> {
    return lockGuard(this.#state, false, options, "readAsync");
  }

  /** Takes the exclusive (write) hold; `unlock()` writes the value. */
  writeAsync(options?: LockAsyncOptions): Promise<DistributedGuard<T>> {
    return lockGuard(this.#state, true, options, "writeAsync");
  }

  /** Reads under a shared hold and releases it. */
  async withReadAsync<R>(fn: (guard: DistributedReadGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    checkFn(fn, "withReadAsync");
    return runWith(await lockGuard(this.#state, false, options, "withReadAsync"), fn);
  }

  /** Writes under the exclusive hold; like `DistributedMutex.withAsync`, a throwing `fn` writes nothing. */
  async withWriteAsync<R>(fn: (guard: DistributedGuard<T>) => R | PromiseLike<R>, options?: LockAsyncOptions): Promise<R> {
    checkFn(fn, "withWriteAsync");
    return runWith(await lockGuard(this.#state, true, options, "withWriteAsync"), fn);
  }

  static {
    makeRwLock = (state) => new DistributedRwLock(guardToken, state);
    stateOfRwLock = (lock) => lock.#state;
  }
}

