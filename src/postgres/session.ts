/**
 * One PostgreSQL connection that runs one statement batch at a time, in the order asked.
 *
 * Why not `pg`'s own queue: a batch that has not been sent yet must be removable when its caller gives up (an
 * abort, a timeout spent waiting behind another task's batch), and the one that is running must be cancellable on
 * the server. Batches go as simple-protocol text (several statements, one round trip); every value in them is a
 * literal made by `literal()`/`hexBytes()` below, never user text pasted in.
 */

import pg from "pg";

/** The rows of one statement of a batch. */
export interface Rows {
  readonly command: string;
  readonly rows: ReadonlyArray<Record<string, unknown>>;
}

/** The fields of a server error that the library reads. */
export interface ServerError extends Error {
  readonly code?: string;
  readonly detail?: string;
}

interface Pending {
  readonly sql: string | (() => string);
  readonly cancels: (reason: unknown) => boolean;
  readonly resolve: (rows: Rows[]) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** How to reach the server, for the short-lived helper connection that cancels a running wait. */
export type ClientConfig = pg.ClientConfig;

/** The participant's one connection and the queue of batches waiting for it (see the top of this file). */
export class Session {
  readonly client: pg.Client;
  /** How this connection was made (the helper connections reuse it). */
  readonly config: ClientConfig;
  readonly #queue: Pending[] = [];
  #active: Pending | undefined;
  /**
   * A cancel request on its way: the next batch waits for it (its connection closes once the server has signalled
   * this backend), so a cancel meant for a wait that ended in the meantime cannot hit the next batch instead.
   */
  #cancelling: Promise<void> | undefined;
  /** Why the connection can no longer be used (closed, or lost), once it cannot. */
  #broken: Error | undefined;
  /** The server process id of this connection: PostgreSQL names participants by it. */
  pid = 0;

  /** Wraps a `pg` client; `config` is what made it. */
  constructor(client: pg.Client, config: ClientConfig) {
    this.client = client;
    this.config = config;
  }

  /** Marks the connection unusable: every batch not yet sent rejects with `error`. */
  break(error: Error): void {
    this.#broken ??= error;
    for (const pending of this.#queue.splice(0)) {
      pending.signal?.removeEventListener("abort", pending.onAbort!);
      pending.reject(this.#broken);
    }
  }

  /** Why the connection can no longer be used, or undefined while it can. */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /**
   * Runs a batch once every batch asked before it has finished. Aborting `signal` before the batch is sent
   * rejects with the signal's reason and sends nothing; aborting it while the batch runs asks the server to
   * cancel it when `cancels(reason)` says so (the batch then settles with its real outcome, which the caller
   * inspects). A function `sql` is called when the batch is sent.
   */
  run(sql: string | (() => string), signal?: AbortSignal, cancels: (reason: unknown) => boolean = () => true): Promise<Rows[]> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Rows[]>((resolve, reject) => {
      const pending: Pending = { sql, cancels, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        pending.onAbort = () => {
          const at = this.#queue.indexOf(pending);
          if (at >= 0) {
            this.#queue.splice(at, 1);
            reject(signal.reason);
          } else if (this.#active === pending && cancels(signal.reason)) {
            this.#cancelRunning();
          }
        };
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      this.#queue.push(pending);
      if (this.#active === undefined) this.#next();
    });
  }

  #next(): void {
    if (this.#cancelling !== undefined) {
      const cancelling = this.#cancelling;
      void cancelling.then(() => {
        if (this.#cancelling === cancelling) this.#cancelling = undefined;
        this.#next();
      });
      return;
    }
    const pending = this.#queue.shift();
    this.#active = pending;
    if (pending === undefined) return;
    const done = () => {
      if (pending.onAbort) pending.signal!.removeEventListener("abort", pending.onAbort);
      this.#next();
    };
    this.client.query(typeof pending.sql === "string" ? pending.sql : pending.sql()).then(
      (result) => {
        const list = (Array.isArray(result) ? result : [result]) as pg.QueryResult[];
        done();
        pending.resolve(list.map((r) => ({ command: r.command, rows: r.rows as Record<string, unknown>[] })));
      },
      (error: unknown) => {
        done();
        pending.reject(error);
      },
    );
  }

  /**
   * Cancels whatever this connection's server process is running.
   *
   * A cancel instead of a loop of short `lock_timeout`s: a wait retried every few milliseconds leaves and re-enters
   * the lock's queue (losing its place) and never stays long enough for PostgreSQL's deadlock check
   * (`deadlock_timeout`, 1 s by default) to run, so deadlocks would go unreported. A cancel keeps one wait.
   * It is the protocol's CancelRequest (what psql sends on Ctrl-C): the postmaster handles it without starting a
   * backend or authenticating, so it lands in milliseconds; `pg_cancel_backend()` from a second login (a new
   * backend and a password exchange) is the fallback should `pg` stop exposing the cancel key. Either may arrive
   * after the wait was granted; callers then release what they got (see `locks.ts`).
   */
  #cancelRunning(): void {
    const key = this.client as unknown as { processID?: number; secretKey?: number };
    const helper = new pg.Client({ ...this.config, application_name: "threadsafe cancel" });
    helper.on("error", () => {});
    const wire = (helper as unknown as { connection?: CancelConnection }).connection;
    let sent: Promise<unknown>;
    if (typeof key.processID === "number" && typeof key.secretKey === "number" && wire && typeof wire.cancel === "function") {
      sent = new Promise<void>((resolve) => {
        wire.on("error", () => resolve());
        wire.on("end", () => resolve());
        wire.on("connect", () => wire.cancel(key.processID!, key.secretKey!));
        if (helper.host.startsWith("/")) wire.connect(`${helper.host}/.s.PGSQL.${helper.port}`);
        else wire.connect(helper.port, helper.host);
      });
    } else {
      const pid = this.pid;
      sent = helper
        .connect()
        .then(() => helper.query(`SELECT pg_cancel_backend(${pid})`))
        .catch(() => {}) // the wait then ends by itself (timeout, grant or connection loss): nothing to report here
        .finally(() => void helper.end().catch(() => {}));
    }
    // Bounded: a cancel that cannot get through must not stall this connection's next batches.
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.#cancelling = Promise.race([sent, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]).then(() => clearTimeout(timer));
  }
}

/** The part of `pg`'s wire connection that sends a CancelRequest (what `pg`'s own `Client#cancel` uses). */
interface CancelConnection {
  connect(port: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Runs one query on a short-lived second connection: for diagnostics that must answer while this participant's own
 * connection waits for a lock.
 */
export async function onHelper(config: ClientConfig, name: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const helper = new pg.Client({ ...config, application_name: name.slice(0, 63) });
  helper.on("error", () => {});
  try {
    await helper.connect();
    return (await helper.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await helper.end().catch(() => {});
  }
}

/** A SQL string literal for `text` (safe whatever `text` holds: pg's own escaping). */
export function literal(client: pg.Client, text: string): string {
  return client.escapeLiteral(text);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A `bytea` literal that does not depend on `standard_conforming_strings`. */
export function hexBytes(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]!];
  return `decode('${hex}', 'hex')`;
}
