/**
 * PostgreSQL's verdicts in the library's words: a deadlock it found (error 40P01) becomes a `DeadlockError` whose
 * cycle names participants (their `connect` names) and locks (their names), with the fix advice of in-process
 * reports; a `lock_timeout` becomes a `LockTimeoutError` naming the holder.
 */

import { DeadlockError, LockTimeoutError, type CycleEntry, type LockRef, type ThreadRef } from "../errors.js";
import { KEY_SPACE } from "./keys.js";
import type { LockState } from "./locks.js";
import type { ServerError } from "./session.js";

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function kindName(state: LockState): string {
  return state.kind === "mutex" ? "Mutex" : "RwLock";
}

/** The `LockTimeoutError` of a wait for `state` that gave up after `waitedMs`; `owner` holds the lock. */
export function lockTimeoutError(state: LockState, owner: ThreadRef | undefined, waitedMs: number, method: string): LockTimeoutError {
  const me = state.db.me;
  const holder =
    owner === undefined
      ? "no holder was found when the wait gave up (it was released just then: try again)"
      : owner.id === me.id
        ? `it is held by another task of this participant "${me.name}" (tasks of one db take turns)`
        : `it is held by participant "${owner.name}" (PostgreSQL backend ${owner.id})`;
  return new LockTimeoutError(
    `threadsafe: ${method}() on distributed ${kindName(state)} "${state.name}" timed out after ${formatMs(waitedMs)}: ${holder}. ` +
      `Raise the timeout, or find out why the holder keeps it so long (db.dumpLocks() lists holders and waiters).`,
    state.ref,
    owner,
    waitedMs,
  );
}

interface Edge {
  readonly pid: number;
  readonly lock: string;
  readonly blockedBy: number;
}

/** Parses the client detail of 40P01: "Process 1 waits for ExclusiveLock on advisory lock [5,…,2,1]; blocked by process 2." */
function edgesOf(detail: string): Edge[] {
  return [...detail.matchAll(/Process (\d+) waits for \w+ on (.+?); blocked by \w+ (\d+)\./g)].map((m) => ({
    pid: Number(m[1]),
    lock: m[2]!,
    blockedBy: Number(m[3]),
  }));
}

/** The row id of one of this library's advisory locks, from its tag in a deadlock detail; undefined for others. */
function lockIdOf(tag: string): number | undefined {
  const m = /^advisory lock \[\d+,(\d+),(\d+),1\]$/.exec(tag);
  return m && Number(m[1]) === KEY_SPACE ? Number(m[2]) : undefined;
}

/**
 * Builds the `DeadlockError` for the wait on `state` that PostgreSQL chose as the victim of a cycle. The other
 * participants are still waiting, so their names and holds can be read now.
 */
export async function deadlockError(state: LockState, error: ServerError): Promise<DeadlockError> {
  const { session, table, me } = state.db;
  const edges = edgesOf(error.detail ?? "");
  // Wait order, starting here: each member waits for a lock held by the next.
  const ordered: Edge[] = [];
  const byPid = new Map(edges.map((e) => [e.pid, e]));
  for (let e = byPid.get(me.id); e !== undefined && !ordered.includes(e); e = byPid.get(e.blockedBy)) ordered.push(e);
  const cycle = ordered.length > 0 ? ordered : edges;
  const pids = [...new Set(cycle.flatMap((e) => [e.pid, e.blockedBy]))];
  const names = new Map<number, string>([[me.id, me.name]]);
  const holds = new Map<number, LockRef[]>();
  const lockNames = new Map<number, string>([[state.id, state.name]]);
  if (pids.length > 0) {
    try {
      const list = pids.join(", ");
      const [who, held] = await session.run(
        `SELECT pid, application_name FROM pg_stat_activity WHERE pid IN (${list}); ` +
          `SELECT l.pid, t.id, t.name FROM pg_locks l JOIN ${table} t ON t.id = l.objid::bigint WHERE l.locktype = 'advisory' ` +
          `AND l.granted AND l.classid = ${KEY_SPACE} AND l.objsubid = 1 AND l.pid IN (${list}) ORDER BY t.name`,
      );
      for (const row of who!.rows) names.set(Number(row.pid), String(row.application_name ?? ""));
      for (const row of held!.rows) {
        const ref = { id: Number(row.id), name: String(row.name) };
        lockNames.set(ref.id, ref.name);
        const list = holds.get(Number(row.pid)) ?? [];
        if (!list.some((l) => l.id === ref.id)) list.push(ref);
        holds.set(Number(row.pid), list);
      }
    } catch {
      // The report loses names, not the error: the pids and lock tags from PostgreSQL's detail remain.
    }
  }
  const participant = (pid: number): ThreadRef => ({ id: pid, name: names.get(pid) ?? `backend ${pid}` });
  const lockRef = (tag: string): LockRef => {
    const id = lockIdOf(tag);
    return id === undefined ? { id: 0, name: tag } : { id, name: lockNames.get(id) ?? `lock #${id}` };
  };
  const entries: CycleEntry[] = cycle.map((e) => ({ thread: participant(e.pid), waitsFor: lockRef(e.lock), holds: holds.get(e.pid) ?? [] }));
  const n = entries.length;
  const lines = [
    `locking distributed ${kindName(state)} "${state.name}" would deadlock: ${n} participants are waiting for each other in a cycle ` +
      `(PostgreSQL found it: error 40P01)`,
    `  (detected in participant "${me.name}", whose wait PostgreSQL chose to end; the other participants are still waiting ` +
      `and go on once this one releases its locks)`,
    "",
  ];
  entries.forEach((entry, i) => {
    const holder = participant(cycle[i]!.blockedBy);
    lines.push(`  participant "${entry.thread.name}" (PostgreSQL backend ${entry.thread.id})${entry.thread.id === me.id ? "  ◀ this participant" : ""}`);
    lines.push(`      wants  "${entry.waitsFor.name}", held by participant "${holder.name}"`);
    for (const held of entry.holds) lines.push(`      holds  "${held.name}"`);
  });
  lines.push("", "  Summary:");
  for (const entry of entries) {
    lines.push(`    ${entry.thread.name}: holds ${entry.holds.map((l) => l.name).join(", ") || "nothing"}; wants ${entry.waitsFor.name}`);
  }
  const order = entries.map((entry) => `"${entry.waitsFor.name}"`).reverse();
  lines.push(
    "",
    `  Fix: take these locks in one order everywhere (for example always ${order.join(" before ")}), ` +
      `or take them together with db.lockAll([...]), which takes a set without holding one while waiting for another.`,
  );
  return new DeadlockError(lines.join("\n"), "cycle", entries);
}
