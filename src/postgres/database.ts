/**
 * `connect()` and the participant it gives: one connection, one name, the locks it takes.
 */

import pg from "pg";
import type { ThreadRef } from "../errors.js";
import type { Layout } from "../layout/layout.js";
import type { Assignable } from "../layout/types.js";
import { dataBufferSize, freshDataViews } from "../layout/data-views.js";
import { checkLayout, describe, signalOf, timeoutOf, type LockAsyncOptions } from "../sync/options.js";
import { KEY_SPACE, keyOf } from "./keys.js";
import {
  LockState,
  lockState,
  makeMutex,
  makeRwLock,
  releaseUnwritten,
  stateOfMutex,
  type DistributedGuard,
  type DistributedMutex,
  type DistributedRwLock,
  type LockKind,
  type Participant,
} from "./locks.js";
import { onHelper, Session } from "./session.js";

/** Options of `connect()`. */
export interface ConnectOptions {
  /** A PostgreSQL connection URI (`postgres://user:password@host:port/database`); or give `host`, `port`, … */
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** TLS, as `pg` takes it (`true`, or `tls.connect` options). */
  readonly ssl?: boolean | object;
  /**
   * This participant's name in every report (`DeadlockError`, `LockTimeoutError`, `dumpLocks()`): PostgreSQL's
   * `application_name`, so 1 to 63 printable ASCII characters. Default `"threadsafe"`.
   */
  readonly name?: string;
  /** The table that keeps the locks' values (created if missing). Default `"threadsafe_locks"`. */
  readonly table?: string;
  /** Milliseconds to wait for the server to answer when connecting; default 10,000. */
  readonly connectTimeout?: number;
}

/** A participant as `dumpLocks()` lists it: `id` is its PostgreSQL backend pid, `name` its `connect` name. */
export interface DistributedHolder extends ThreadRef {
  readonly mode: "exclusive" | "shared";
}

/** One distributed lock in `dumpLocks()`. */
export interface DistributedLockState {
  readonly id: number;
  readonly name: string;
  readonly kind: LockKind;
  readonly holders: readonly DistributedHolder[];
  /** Participants waiting for it on the server, in no particular order. */
  readonly waiters: readonly DistributedHolder[];
  /** Tasks of this participant waiting in-process behind another of its tasks (the server cannot see them). */
  readonly queuedHere: number;
}

/** What `db.dumpLocks()` gives: every distributed lock of the database that is held or awaited. */
export interface DistributedLockDump {
  /** The participant that asked. */
  readonly participant: ThreadRef;
  readonly locks: readonly DistributedLockState[];
}

/** The guards `db.lockAll()` gives, in the order of the mutexes given. */
export type DistributedGuardsOf<M extends readonly DistributedMutex<unknown>[]> = {
  -readonly [K in keyof M]: M[K] extends DistributedMutex<infer T> ? DistributedGuard<T> : never;
};

const NAME = /^[\x20-\x7e]{1,63}$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

function quoteTable(table: string): string {
  return table
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}

function checkConnectOptions(options: unknown): ConnectOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`threadsafe: connect(options): options must be an object like { connectionString, name: "worker-1" }, got ${describe(options)}`);
  }
  const o = options as ConnectOptions;
  if (o.name !== undefined && (typeof o.name !== "string" || !NAME.test(o.name))) {
    throw new (typeof o.name === "string" ? RangeError : TypeError)(
      `threadsafe: connect({ name }): name must be 1 to 63 printable ASCII characters (PostgreSQL's application_name), got ${describe(o.name)}`,
    );
  }
  if (o.table !== undefined && (typeof o.table !== "string" || !TABLE.test(o.table))) {
    throw new TypeError(`threadsafe: connect({ table }): table must be a SQL name like "threadsafe_locks" or "app.locks", got ${describe(o.table)}`);
  }
  if (o.connectionString !== undefined && typeof o.connectionString !== "string") {
    throw new TypeError(`threadsafe: connect({ connectionString }): must be a string like "postgres://user:pw@host:5432/db", got ${describe(o.connectionString)}`);
  }
  if (o.connectTimeout !== undefined && (typeof o.connectTimeout !== "number" || !(o.connectTimeout > 0))) {
    throw new RangeError(`threadsafe: connect({ connectTimeout }): must be a number of milliseconds above 0, got ${describe(o.connectTimeout)}`);
  }
  return o;
}

/**
 * Connects one participant to PostgreSQL: one connection that holds its locks and waits for them, so PostgreSQL's
 * deadlock detector sees every wait. Creates the lock table if it is missing.
 *
 * @example
 * import { connect } from "threadsafe/postgres";
 * import { i32 } from "threadsafe";
 * const db = await connect({ connectionString: process.env.DATABASE_URL, name: "worker-3" });
 * const counter = db.mutex("counter", i32, 0);
 * await counter.withAsync((g) => { g.value += 1; });
 * await db.close();
 * @throws Error naming the server and the cause when it cannot be reached (no hang: `connectTimeout`).
 */
export async function connect(options: ConnectOptions): Promise<Database> {
  const o = checkConnectOptions(options);
  const name = o.name ?? "threadsafe";
  const config: pg.ClientConfig = {
    connectionString: o.connectionString,
    host: o.host,
    port: o.port,
    user: o.user,
    password: o.password,
    database: o.database,
    ssl: o.ssl as pg.ClientConfig["ssl"],
    application_name: name,
    connectionTimeoutMillis: o.connectTimeout ?? 10_000,
    keepAlive: true, // a host that vanishes without closing its socket is noticed, and its locks freed
  };
  const client = new pg.Client(config);
  const session = new Session(client, config);
  client.on("error", (error: Error) => session.break(error));
  client.on("end", () => session.break(new Error("the connection to PostgreSQL was closed")));
  const where = o.connectionString !== undefined ? o.connectionString.replace(/\/\/[^@/]*@/, "//…@") : `${o.host ?? "localhost"}:${o.port ?? 5432}`;
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const why = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
    throw new Error(`threadsafe: connect(): could not connect to PostgreSQL at ${where} (${why}); check that the server is running and the connection settings are right`, {
      cause: error,
    });
  }
  const table = quoteTable(o.table ?? "threadsafe_locks");
  try {
    const results = await session.run(
      // Several participants may create the table at once: CREATE TABLE IF NOT EXISTS alone can then fail.
      `BEGIN; SELECT pg_advisory_xact_lock(${keyOf(0)}); CREATE TABLE IF NOT EXISTS ${table} (` +
        `id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE, kind text NOT NULL, ` +
        `layout text NOT NULL, value bytea NOT NULL, holder_pid integer, holder_name text); COMMIT; SELECT pg_backend_pid() AS pid`,
    );
    session.pid = Number(results[results.length - 1]!.rows[0]!.pid);
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(`threadsafe: connect(): could not prepare the lock table ${table} at ${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return makeDatabase(session, name, table);
}

let makeDatabase: (session: Session, name: string, table: string) => Database;

/**
 * One participant: what a thread is in shared memory. Its locks are held, and waited for, on its one connection;
 * its async tasks share its holds (a task that wants a lock another of its tasks holds waits for it here, never
 * re-entering). For independent parallel waits, connect several.
 */
export class Database {
  readonly #session: Session;
  readonly #participant: Participant;
  readonly #locks = new Map<string, LockState>();
  #closed = false;

  /** @internal Made by `connect()`. */
  private constructor(session: Session, name: string, table: string) {
    this.#session = session;
    const me = { id: session.pid, name };
    this.#participant = {
      session,
      table,
      me,
      checkOpen: (method) => {
        if (this.#closed) throw new Error(`threadsafe: ${method}(): this db was closed; connect() again`);
        const broken = session.broken;
        if (broken) throw new Error(`threadsafe: ${method}(): the connection to PostgreSQL is lost (${broken.message}); connect() again`);
      },
    };
  }

  static {
    makeDatabase = (session, name, table) => new Database(session, name, table);
  }

  /** This participant's name (`connect`'s `name`). */
  get name(): string {
    return this.#participant.me.name;
  }

  /** This participant's PostgreSQL backend pid: the `id` reports give it. */
  get pid(): number {
    return this.#participant.me.id;
  }

  #state<T>(kind: LockKind, name: unknown, layout: Layout<T>, initial: unknown): LockState<T> {
    const call = `db.${kind}(name, layout, initial)`;
    if (typeof name !== "string" || name.length === 0 || name.length > 1000) {
      throw new TypeError(`threadsafe: ${call}: name must be a non-empty string of at most 1000 characters, got ${describe(name)}`);
    }
    checkLayout(layout, call);
    layout.check(initial, "initial");
    this.#participant.checkOpen(`db.${kind}`);
    const existing = this.#locks.get(name);
    const descriptor = JSON.stringify(layout.describe());
    if (existing !== undefined) {
      if (existing.kind !== kind || JSON.stringify(existing.layout.describe()) !== descriptor) {
        throw new TypeError(
          `threadsafe: ${call}: this db already has a distributed ${existing.kind} "${name}" with layout ${JSON.stringify(existing.layout.describe())}; ` +
            `one name is one lock: give the same kind and layout, or another name`,
        );
      }
      return existing as LockState<T>;
    }
    const views = freshDataViews(new SharedArrayBuffer(dataBufferSize(layout)));
    layout.write(views, 0, initial as T);
    const state = new LockState<T>(this.#participant, name, kind, layout, views.u8.slice(0, layout.size));
    this.#locks.set(name, state as LockState);
    return state;
  }

  /**
   * The distributed mutex called `name`: the same lock, and the same value, for every participant of the
   * database that names it. `initial` is stored only if the lock is new (its row is created on first use).
   * @throws TypeError/RangeError for a bad name, layout or initial value (nothing is written).
   */
  mutex<T>(name: string, layout: Layout<T>, initial: Assignable<T>): DistributedMutex<T> {
    return makeMutex(this.#state("mutex", name, layout, initial));
  }

  /** The distributed RwLock called `name` (see `mutex`). */
  rwlock<T>(name: string, layout: Layout<T>, initial: Assignable<T>): DistributedRwLock<T> {
    return makeRwLock(this.#state("rwlock", name, layout, initial));
  }

  /**
   * Takes every mutex of the set without holding one while waiting for another participant's in a different
   * order: they are taken in one canonical order (by name) on every participant, so no two `lockAll`s deadlock.
   * Resolves to the guards in the order given. On a failure (timeout, abort, deadlock with other code) the locks
   * already taken are released, unwritten, and the error propagates.
   */
  async lockAll<const M extends readonly DistributedMutex<unknown>[]>(mutexes: M, options?: LockAsyncOptions): Promise<DistributedGuardsOf<M>> {
    if (!Array.isArray(mutexes)) throw new TypeError(`threadsafe: db.lockAll(mutexes): expected an array of distributed mutexes, got ${describe(mutexes)}`);
    const timeout = timeoutOf(options, "db.lockAll");
    const signal = signalOf(options, "db.lockAll");
    const states = mutexes.map((m, i) => {
      let state: LockState | undefined;
      try {
        state = stateOfMutex(m);
      } catch {
        state = undefined;
      }
      if (state === undefined) throw new TypeError(`threadsafe: db.lockAll(mutexes): mutexes[${i}] is not a distributed mutex, got ${describe(m)}`);
      if (state.db !== this.#participant) throw new TypeError(`threadsafe: db.lockAll(mutexes): mutexes[${i}] ("${state.name}") belongs to another db`);
      if (mutexes.indexOf(m) !== i) throw new TypeError(`threadsafe: db.lockAll(mutexes): "${state.name}" is given twice`);
      return state;
    });
    const start = performance.now();
    const order = [...states.keys()].sort((a, b) => (states[a]!.name < states[b]!.name ? -1 : states[a]!.name > states[b]!.name ? 1 : 0));
    const guards: DistributedGuard<unknown>[] = new Array(states.length);
    try {
      for (const i of order) {
        const left = timeout === Infinity ? Infinity : Math.max(0, timeout - (performance.now() - start));
        guards[i] = await lockState(states[i]!, true, { timeout: left, signal }, "db.lockAll");
      }
    } catch (error) {
      for (const g of guards) if (g !== undefined) await releaseUnwritten(g).catch(() => {});
      throw error;
    }
    return guards as unknown as DistributedGuardsOf<M>;
  }

  /**
   * Every distributed lock of the database that is held or awaited, with holders and waiters by name. Runs on a
   * short-lived second connection, so it answers even while this participant waits for a lock.
   */
  async dumpLocks(): Promise<DistributedLockDump> {
    this.#participant.checkOpen("db.dumpLocks");
    const { table, me } = this.#participant;
    const rows = await onHelper(
      this.#session.config,
      `${me.name} (dumpLocks)`,
      `SELECT t.id, t.name, t.kind, l.pid, a.application_name, l.mode, l.granted FROM pg_locks l ` +
        `JOIN ${table} t ON t.id = l.objid::bigint LEFT JOIN pg_stat_activity a ON a.pid = l.pid ` +
        `WHERE l.locktype = 'advisory' AND l.classid = ${KEY_SPACE} AND l.objsubid = 1 ` +
        `AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY t.name, l.pid`,
    );
    const locks = new Map<string, { id: number; name: string; kind: LockKind; holders: DistributedHolder[]; waiters: DistributedHolder[]; queuedHere: number }>();
    for (const row of rows) {
      const name = String(row.name);
      let entry = locks.get(name);
      if (entry === undefined) {
        entry = { id: Number(row.id), name, kind: row.kind as LockKind, holders: [], waiters: [], queuedHere: this.#locks.get(name)?.queued ?? 0 };
        locks.set(name, entry);
      }
      const who: DistributedHolder = { id: Number(row.pid), name: String(row.application_name ?? ""), mode: row.mode === "ShareLock" ? "shared" : "exclusive" };
      (row.granted ? entry.holders : entry.waiters).push(who);
    }
    for (const state of this.#locks.values()) {
      if (state.queued > 0 && !locks.has(state.name)) {
        locks.set(state.name, { id: state.id, name: state.name, kind: state.kind, holders: [], waiters: [], queuedHere: state.queued });
      }
    }
    return { participant: { ...me }, locks: [...locks.values()] };
  }

  /**
   * Ends the connection: the server releases every lock this participant still holds (their guards' values are
   * not written). Waits for nothing: pending waits reject.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.break(new Error("this db was closed"));
    await this.#session.client.end().catch(() => {});
  }

  /** `await using db = await connect(…)` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
