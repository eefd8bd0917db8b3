/**
 * Lock-order checking, lockdep-style (docs/deadlock-detection.md §5). When a thread blocks on lock B
 * while holding A, the edge A → B ("A is taken before B") is recorded program-wide. An edge that closes a cycle
 * with edges seen before (B ⇝ A) is an inversion: two code paths take the same locks in opposite orders, which can
 * deadlock on some other run even if this one did not. It is reported on its first occurrence.
 *
 * Nodes are lock instances (reported by name): distinct locks that share a name are not confused with each other,
 * so taking two "account" locks in id order is not an inversion. A node is an object id with the low bits of its
 * record's generation (`nodeOf`), so the edges of a reclaimed lock do not attach to the next object in its record.
 *
 * Cost: a warm nested acquisition is one lookup in this thread's set of known edges per held lock. Only a new edge
 * touches shared memory (an insert into the edge table and a search for the reverse path).
 */

import { LockOrderError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { EDGE_INFO_WORDS, EDGE_SLOTS, REPORTED_SLOTS } from "../runtime/runtime.js";
import { generationOfObject } from "../runtime/lifetime.js";

/** Edges this thread already knows are in the table: from-node → to-nodes. */
const knownEdges = new Map<number, Set<number>>();

const ID_BITS = 24;
const ID_MASK = (1 << ID_BITS) - 1;

/** The graph node of object `id`: its id and the low 7 bits of its record's generation. */
function nodeOf(rt: Runtime, id: number): number {
  return id | ((generationOfObject(rt, id) & 0x7f) << ID_BITS);
}

/** The object id of a graph node. */
function idOf(node: number): number {
  return node & ID_MASK;
}

function edgeKey(from: number, to: number): bigint {
  return (BigInt(from + 1) << 32n) | BigInt(to + 1);
}

// Words of an edge-info entry (EDGE_INFO_WORDS of them, see runtime.ts).
const EI_THREAD = 0;
const EI_THREAD_NAME = 1;
const EI_STACK = 2;

function slotFor(from: number, to: number): number {
  let h = Math.imul(from + 1, 0x9e3779b1) ^ Math.imul(to + 1, 0x85ebca77);
  h ^= h >>> 15;
  return (h >>> 0) % EDGE_SLOTS;
}

/** What the caller wants done about an inversion. */
export interface Inversion {
  /** The new edge `from → to` that closed the cycle. */
  readonly from: number;
  readonly to: number;
  /** The earlier path `to ⇝ from`, as lock ids (starting with `to`, ending with `from`). */
  readonly path: readonly number[];
  /** For each edge of `path`, the first thread seen taking it, and its stack if one was captured. */
  readonly firstSeen: ReadonlyArray<{ threadId: number; threadName: string; stack: string | undefined }>;
}

/**
 * Inserts edge `from → to` if new. Returns "known" (already there), "inserted", or "full" (table full: checking
 * degrades, and says so once).
 */
function insertEdge(rt: Runtime, from: number, to: number, threadId: number, stackRef: number): "known" | "inserted" | "full" {
  const key = edgeKey(from, to);
  let slot = slotFor(from, to);
  for (let probe = 0; probe < EDGE_SLOTS; probe++) {
    const index = rt.edgeKeysBase64 + slot;
    const seen = Atomics.compareExchange(rt.wide, index, 0n, key);
    if (seen === 0n) {
      const info = rt.edgeInfoBase + slot * EDGE_INFO_WORDS;
      Atomics.store(rt.words, info + EI_THREAD, threadId);
      // The name itself is read when a report needs it: a stored copy per edge would never be freed.
      Atomics.store(rt.words, info + EI_THREAD_NAME, 0);
      Atomics.store(rt.words, info + EI_STACK, stackRef);
      return "inserted";
    }
    if (seen === key) return "known";
    slot = (slot + 1) % EDGE_SLOTS;
  }
  return "full";
}

/** Removes edge `from → to` (in 'throw' mode an edge that was refused is not kept). */
function removeEdge(rt: Runtime, from: number, to: number): void {
  // Open addressing cannot simply clear a slot; mark it with a key no lookup matches (lock ids never reach 2^32 - 2).
  const key = edgeKey(from, to);
  let slot = slotFor(from, to);
  for (let probe = 0; probe < EDGE_SLOTS; probe++) {
    const index = rt.edgeKeysBase64 + slot;
    const seen = Atomics.load(rt.wide, index);
    if (seen === 0n) return;
    if (seen === key) {
      Atomics.compareExchange(rt.wide, index, key, -1n);
      return;
    }
    slot = (slot + 1) % EDGE_SLOTS;
  }
}

/** The shortest recorded path from `start` to `goal`, as lock ids, with the slot of each edge. */
function shortestPath(rt: Runtime, start: number, goal: number): { locks: number[]; slots: number[] } | undefined {
  const adjacency = new Map<number, Array<{ to: number; slot: number }>>();
  for (let slot = 0; slot < EDGE_SLOTS; slot++) {
    const key = Atomics.load(rt.wide, rt.edgeKeysBase64 + slot);
    if (key <= 0n) continue;
    const from = Number(key >> 32n) - 1;
    const to = Number(key & 0xffffffffn) - 1;
    let list = adjacency.get(from);
    if (!list) adjacency.set(from, (list = []));
    list.push({ to, slot });
  }
  const parent = new Map<number, { from: number; slot: number }>();
  const queue = [start];
  parent.set(start, { from: -1, slot: -1 });
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (node === goal) {
      const locks: number[] = [];
      const slots: number[] = [];
      for (let at = goal; at !== -1; ) {
        const p = parent.get(at)!;
        locks.unshift(at);
        if (p.slot >= 0) slots.unshift(p.slot);
        at = p.from;
      }
      return { locks, slots };
    }
    for (const edge of adjacency.get(node) ?? []) {
      if (parent.has(edge.to)) continue;
      parent.set(edge.to, { from: node, slot: edge.slot });
      queue.push(edge.to);
    }
  }
  return undefined;
}

/** Marks a cycle reported; false if it already was (by any thread). */
function markReported(rt: Runtime, cycle: readonly number[]): boolean {
  const sorted = [...cycle].sort((a, b) => a - b);
  let h = 0x811c9dc5;
  for (const id of sorted) h = Math.imul(h ^ (id + 1), 0x01000193);
  h = h | 1; // never 0, the empty marker
  let slot = (h >>> 0) % REPORTED_SLOTS;
  for (let probe = 0; probe < REPORTED_SLOTS; probe++) {
    const index = rt.reportedBase + slot;
    const seen = Atomics.compareExchange(rt.words, index, 0, h);
    if (seen === 0) return true;
    if (seen === h) return false;
    slot = (slot + 1) % REPORTED_SLOTS;
  }
  return true; // table full: report again rather than go silent
}

let warnedFull = false;

/**
 * Records "held `heldIds` while blocking on `lockId`" and returns the inversion it closes, if any (and if not
 * reported before). In 'throw' mode a refused edge is removed, so the same inversion throws every time.
 */
export function recordOrder(
  rt: Runtime,
  threadId: number,
  heldIds: readonly number[],
  lockId: number,
  mode: "warn" | "throw",
  stackRef: () => number,
): Inversion | undefined {
  const to = nodeOf(rt, lockId);
  for (const heldId of heldIds) {
    if (heldId === lockId) continue;
    const from = nodeOf(rt, heldId);
    let known = knownEdges.get(from);
    if (known?.has(to)) continue;
    const result = insertEdge(rt, from, to, threadId, stackRef());
    if (result === "full") {
      if (!warnedFull) {
        warnedFull = true;
        console.warn(`threadsafe: the lock-order table is full (${EDGE_SLOTS} edges); new lock orders are no longer checked`);
      }
      continue;
    }
    if (!known) knownEdges.set(from, (known = new Set()));
    known.add(to);
    if (result === "known") continue;
    const reverse = shortestPath(rt, to, from);
    if (!reverse) continue;
    if (mode === "throw") {
      removeEdge(rt, from, to);
      known.delete(to);
    } else if (!markReported(rt, reverse.locks)) {
      continue;
    }
    const firstSeen = reverse.slots.map((slot) => {
      const info = rt.edgeInfoBase + slot * EDGE_INFO_WORDS;
      const threadId = Atomics.load(rt.words, info + EI_THREAD);
      return {
        threadId,
        // Named while its slot has not been reused (`thread-<id>` after that).
        threadName: rt.threadName(threadId),
        stack: rt.loadText(Atomics.load(rt.words, info + EI_STACK)),
      };
    });
    return { from: heldId, to: lockId, path: reverse.locks.map(idOf), firstSeen };
  }
  return undefined;
}

/** Builds the message for an inversion found by thread `threadId`. */
export function describeInversion(rt: Runtime, threadId: number, inversion: Inversion, stack: string | undefined): string {
  const name = (id: number) => `"${rt.objectName(id)}"`;
  const thread = (id: number) => `"${rt.threadName(id)}" (id ${id})`;
  const { from, to, path, firstSeen } = inversion;
  const lines = [
    `threadsafe: lock-order inversion: thread ${thread(threadId)} locks ${rt.describeObject(to)} while holding ${rt.describeObject(from)},`,
    `  but the opposite order was seen before: ${path.map(name).join(" → ")}.`,
    `  Run together, these two orders can deadlock, even though this run did not.`,
    "",
    `  now:     ${name(from)} → ${name(to)}   in thread ${thread(threadId)}`,
  ];
  if (stack) lines.push(indent(stack, "           "));
  path.slice(0, -1).forEach((lock, i) => {
    const seen = firstSeen[i];
    const by = seen ? `"${seen.threadName}" (id ${seen.threadId})` : "?";
    lines.push(`  before:  ${name(lock)} → ${name(path[i + 1]!)}   first in thread ${by}`);
    if (seen?.stack) lines.push(indent(seen.stack, "           "));
  });
  lines.push(
    "",
    `  Fix: pick one order for these locks and use it everywhere (the order seen first was ${path.map(name).join(" before ")}), ` +
      `take them together with lockAll([...]), or give them levels.`,
  );
  return lines.join("\n");
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((line) => prefix + line.trim())
    .join("\n");
}

/** Throws the LockOrderError for an inversion ('throw' mode). */
export function lockOrderError(message: string): LockOrderError {
  return new LockOrderError(message);
}
