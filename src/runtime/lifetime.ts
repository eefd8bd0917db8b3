/**
 * Lifetime of shared objects, as Rust's `Arc` gives it: an object's record (and with it its name, and in the end its
 * data buffer) is reclaimed once no thread can reach it, and comes back under a new generation, so a stale handle
 * fails loudly instead of aliasing the new object.
 *
 * ## Who counts
 *
 * The strong count (objects.ts, O_REFS) counts *holders*, not JS objects: each thread that has the object counts
 * once, and so does each message in flight that carries it (`share`, `spawn` arguments). Each count is an entry of
 * the reference table, so that whoever reaps a dead thread can drop that thread's counts without its help.
 *
 * An entry is REF_WORDS Int32 words: `[holder, object id + 1, holds]`. `holder` is a thread id (slot and generation,
 * so a late reaper of a slot's previous thread matches nothing of its next one) or, negative, a message in flight;
 * EMPTY or TOMBSTONE when unused, CLAIMING while its words are being written (scans skip it). `holds` is what the holder holds of the
 * object beyond what the object's own words record (read holds, permits: see the primitive's protocol); a Mutex
 * names its owner in its word and leaves it 0.
 *
 * Entries are found by their index (kept by whoever made them), never by key: the only searches are the scans of
 * a dead thread's entries, on the slow path of reaping, which the thread's count of entries (threads.ts,
 * T_REF_ENTRIES) cuts short.
 *
 * ## When a thread stops counting
 *
 * A thread's count goes when the object's per-thread core (what its guards and its public object share) is
 * garbage-collected, reported by a FinalizationRegistry between tasks; or when the thread ends (reap.ts drops every
 * entry of its slot). Held and awaited objects keep their core reachable (a guard, a pending wait), so they are
 * never reclaimed under their users.
 */

import { freeString } from "./strings.js";
import {
  AUX_WORDS,
  NO_LEVEL,
  O_AUX,
  O_GENERATION,
  O_KIND,
  O_LEVEL,
  O_NAME,
  O_NEXT_FREE,
  O_POISON_BY,
  O_POISON_CAUSE,
  O_POISON_NAME,
  O_POISON_TIME,
  O_REFS,
  O_STATE,
  KIND_BITS,
  KIND_MASK,
} from "./objects.js";
import { ANY_WAIT, protocolOf } from "./kinds.js";
import { MAX_THREADS, T_REF_ENTRIES, T_STATE, ThreadStatus, slotOf, stateGeneration, statusOf, threadIdOf } from "./threads.js";
import { H_FREE_OBJECTS_I64, H_OBJECT_COUNT, H_TRANSIT_TICKETS, REF_WORDS, type Runtime } from "./runtime.js";


const R_HOLDER = 0;
const R_OBJECT = 1;
/** Word of an entry that records holds (see the module comment). */
export const R_HOLDS = 2;
const EMPTY = 0;
const TOMBSTONE = -1;
/** An entry being claimed or dropped: its other words are not meaningful yet (or any more). */
const CLAIMING = -2;
/** Holders from here down are messages in flight, not threads. */
const IN_FLIGHT_BASE = -3;
const IN_FLIGHT_SPAN = 0x3fffffff;

function isThreadHolder(holder: number): boolean {
  return holder > 0;
}
function isInFlightHolder(holder: number): boolean {
  return holder <= IN_FLIGHT_BASE;
}

// ## Object records

/**
 * Takes an object record (a freed one first) and returns its id, with a strong count of 1 that the caller must
 * give to a holder (`countNew`).
 * @throws RangeError when `maxLocks` objects are alive.
 */
export function allocateObject(rt: Runtime, kind: number, name: string | undefined, level: number | undefined, dataTag: number): number {
  const nameRef = name === undefined ? 0 : rt.storeName(name);
  let id = popFreeObject(rt);
  if (id < 0) {
    id = Atomics.add(rt.words, H_OBJECT_COUNT, 1);
    if (id >= rt.maxObjects) {
      Atomics.sub(rt.words, H_OBJECT_COUNT, 1);
      if (nameRef !== 0) freeString(rt.arena, nameRef);
      throw new RangeError(
        `threadsafe: too many shared objects alive (${rt.maxObjects}). An object is reclaimed once no thread can reach ` +
          `it: when the thread ends, or when its last handle in each thread has been garbage-collected, which takes ` +
          `a full collection and then a turn of the event loop (a loop that never yields holds on to everything it ` +
          `dropped, and one that creates and drops objects faster than the engine runs full collections can get ` +
          `here too). Keep and reuse long-lived objects instead of creating one per task, or call ` +
          `configure({ maxLocks }) with a larger number before creating the first one`,
      );
    }
  }
  const base = rt.objectBase(id);
  const words = rt.words;
  Atomics.store(words, base + O_STATE, 0);
  Atomics.store(words, base + O_NAME, nameRef);
  Atomics.store(words, base + O_LEVEL, level ?? NO_LEVEL);
  Atomics.store(words, base + O_POISON_CAUSE, 0);
  for (let k = 0; k < AUX_WORDS; k++) Atomics.store(words, base + O_AUX + k, 0);
  Atomics.store(words, base + O_REFS, 1);
  Atomics.store(words, base + O_KIND, kind | (dataTag << KIND_BITS)); // last: a record with a kind is complete
  return id;
}

/** The generation of object `id`'s record (a handle carries it: see `sameGeneration`). */
export function generationOfObject(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.objectBase(id) + O_GENERATION);
}

/** Whether object `id` is in use under generation `generation` (a handle's object is still the one it named). */
export function isLiveObject(rt: Runtime, id: number, generation: number): boolean {
  const base = rt.objectBase(id);
  return Atomics.load(rt.words, base + O_KIND) !== 0 && Atomics.load(rt.words, base + O_GENERATION) === generation;
}

function popFreeObject(rt: Runtime): number {
  for (;;) {
    const head = Atomics.load(rt.wide, H_FREE_OBJECTS_I64);
    const first = Number(head & 0xffffffffn) - 1;
    if (first < 0) return -1;
    const next = Atomics.load(rt.words, rt.objectBase(first) + O_NEXT_FREE);
    const tagged = (((head >> 32n) + 1n) << 32n) | BigInt(next);
    if (Atomics.compareExchange(rt.wide, H_FREE_OBJECTS_I64, head, tagged) === head) return first;
  }
}

/** Puts a record whose count reached 0 back on the free list, under a new generation. */
function reclaim(rt: Runtime, id: number): void {
  const base = rt.objectBase(id);
  const words = rt.words;
  protocolOf(Atomics.load(words, base + O_KIND) & KIND_MASK)?.reclaimed?.(rt, id);
  Atomics.store(words, base + O_KIND, 0);
  Atomics.add(words, base + O_GENERATION, 1);
  const nameRef = Atomics.exchange(words, base + O_NAME, 0);
  if (nameRef !== 0) freeString(rt.arena, nameRef);
  const poisonName = Atomics.exchange(words, base + O_POISON_NAME, 0);
  if (poisonName !== 0) freeString(rt.arena, poisonName);
  Atomics.store(words, base + O_POISON_BY, 0);
  Atomics.store(words, base + O_POISON_TIME, 0);
  for (;;) {
    const head = Atomics.load(rt.wide, H_FREE_OBJECTS_I64);
    Atomics.store(words, base + O_NEXT_FREE, Number(head & 0xffffffffn));
    const tagged = (((head >> 32n) + 1n) << 32n) | BigInt(id + 1);
    if (Atomics.compareExchange(rt.wide, H_FREE_OBJECTS_I64, head, tagged) === head) return;
  }
}

/** How many holders count object `id` (threads that have it, messages in flight that carry it). */
export function strongCount(rt: Runtime, id: number): number {
  return Atomics.load(rt.words, rt.objectBase(id) + O_REFS);
}

/** Drops one count of object `id`; the last one reclaims it. */
function release(rt: Runtime, id: number): void {
  if (Atomics.sub(rt.words, rt.objectBase(id) + O_REFS, 1) === 1) reclaim(rt, id);
}

/**
 * Adds a count to object `id` if it is still alive under `generation` (a `Weak` upgrading). Returns whether it did.
 */
export function tryRetain(rt: Runtime, id: number, generation: number): boolean {
  const index = rt.objectBase(id) + O_REFS;
  for (;;) {
    const count = Atomics.load(rt.words, index);
    if (count <= 0 || !isLiveObject(rt, id, generation)) return false;
    if (Atomics.compareExchange(rt.words, index, count, count + 1) !== count) continue;
    if (isLiveObject(rt, id, generation)) return true;
    release(rt, id); // the record was reclaimed and reused in between: that count was not ours to take
    return false;
  }
}

/** Gives back a count `tryRetain` added, for an object that was then not counted to anyone. */
export function releaseRetained(rt: Runtime, id: number): void {
  release(rt, id);
}

// ## Reference entries

function entryIndex(rt: Runtime, entry: number): number {
  return rt.refsBase + entry * REF_WORDS;
}

/** Int32 index of the count of entries thread `holder` has (T_REF_ENTRIES). */
function entryCountIndex(rt: Runtime, holder: number): number {
  return rt.threadBase(slotOf(holder)) + T_REF_ENTRIES;
}

/** Claims an entry for `(holder, id)` and returns its number. The caller has already added the count it stands for. */
function claimEntry(rt: Runtime, holder: number, id: number): number {
  const mask = rt.refSlots - 1;
  if (isThreadHolder(holder)) Atomics.add(rt.words, entryCountIndex(rt, holder), 1);
  let entry = firstProbe(holder, id, mask);
  for (let probe = 0; probe < rt.refSlots; probe++, entry = (entry + 1) & mask) {
    const index = entryIndex(rt, entry);
    const seen = Atomics.load(rt.words, index + R_HOLDER);
    if (seen !== EMPTY && seen !== TOMBSTONE) continue;
    if (Atomics.compareExchange(rt.words, index + R_HOLDER, seen, CLAIMING) !== seen) continue;
    Atomics.store(rt.words, index + R_HOLDS, 0);
    Atomics.store(rt.words, index + R_OBJECT, id + 1);
    Atomics.store(rt.words, index + R_HOLDER, holder); // last: an entry with a holder is whole
    return entry;
  }
  if (isThreadHolder(holder)) Atomics.sub(rt.words, entryCountIndex(rt, holder), 1);
  release(rt, id);
  throw new RangeError(
    `threadsafe: the runtime's reference table is full (${rt.refSlots} pairs of a holder and an object it has). ` +
      `It is sized from configure({ maxLocks }): raise that before the first shared object is created`,
  );
}

/**
 * Takes entry `entry` away from `(holder, id)`: afterwards no scan sees it. Returns whether it still stood for them
 * (then the caller owns the count it stood for).
 */
function takeEntry(rt: Runtime, entry: number, holder: number, id: number): boolean {
  const index = entryIndex(rt, entry);
  if (Atomics.load(rt.words, index + R_OBJECT) !== id + 1) return false;
  if (Atomics.compareExchange(rt.words, index + R_HOLDER, holder, CLAIMING) !== holder) return false;
  if (Atomics.load(rt.words, index + R_OBJECT) !== id + 1) {
    Atomics.store(rt.words, index + R_HOLDER, holder); // not ours after all: the holder reused it for another object
    return false;
  }
  Atomics.store(rt.words, index + R_OBJECT, 0);
  Atomics.store(rt.words, index + R_HOLDS, 0);
  Atomics.store(rt.words, index + R_HOLDER, TOMBSTONE);
  if (isThreadHolder(holder)) Atomics.sub(rt.words, entryCountIndex(rt, holder), 1);
  return true;
}

/** Drops entry `entry` if it still stands for `(holder, id)`, and its count. Returns whether it did. */
function dropEntry(rt: Runtime, entry: number, holder: number, id: number): boolean {
  if (!takeEntry(rt, entry, holder, id)) return false;
  release(rt, id);
  return true;
}

/** Int32 index of the `holds` word of entry `entry` (a primitive records holds there: see R_HOLDS). */
export function holdsIndex(rt: Runtime, entry: number): number {
  return entryIndex(rt, entry) + R_HOLDS;
}

/**
 * The entries of thread `threadId`: a scan of the table that stops once it has found as many as the thread counts
 * (none at all for a thread that counted nothing). Slow path: reaping and reports.
 */
function entriesOf(rt: Runtime, threadId: number): number[] {
  const words = rt.words;
  const found: number[] = [];
  const expected = Atomics.load(words, entryCountIndex(rt, threadId));
  for (let entry = 0; entry < rt.refSlots && found.length < expected; entry++) {
    if (words[entryIndex(rt, entry) + R_HOLDER] === threadId) found.push(entry);
  }
  return found;
}

/** Calls `visit(objectId, holds)` for every entry of thread `threadId` (slow: a scan of the table). */
export function visitEntriesOf(rt: Runtime, threadId: number, visit: (id: number, holds: number) => void): void {
  const words = rt.words;
  for (const entry of entriesOf(rt, threadId)) {
    const index = entryIndex(rt, entry);
    const id = Atomics.load(words, index + R_OBJECT) - 1;
    if (id >= 0 && Atomics.load(words, index + R_HOLDER) === threadId) visit(id, Atomics.load(words, index + R_HOLDS));
  }
}

/**
 * For every entry of thread `threadId`, which is no longer alive: takes what it records as held (each hold is
 * given to exactly one caller, however many reapers run) and calls `release(objectId, holds)`, then drops the
 * entries. `release` releases before the counts go, so nothing is reclaimed while still held.
 */
export function dropEntriesOf(rt: Runtime, threadId: number, release: (id: number, holds: number) => void): void {
  const words = rt.words;
  const found = entriesOf(rt, threadId);
  for (const entry of found) {
    const index = entryIndex(rt, entry);
    const id = Atomics.load(words, index + R_OBJECT) - 1;
    if (id < 0 || Atomics.load(words, index + R_HOLDER) !== threadId) continue;
    release(id, Atomics.exchange(words, index + R_HOLDS, 0));
  }
  for (const entry of found) {
    const id = Atomics.load(words, entryIndex(rt, entry) + R_OBJECT) - 1;
    if (id >= 0) dropEntry(rt, entry, threadId, id);
  }
}

/**
 * Calls `visit(threadId, holds)` for every thread whose entry for object `id` records holds (read holds, permits):
 * the holders a primitive's protocol reports beyond what its own words name. Slow path only (deadlock walks,
 * reports, waiters' checks after a sleep), but it runs on every wait that lasts: it looks up each thread's entry by
 * its hash (a few probes per thread) instead of scanning the whole table. A thread being reaped still counts until its
 * reaper has taken its holds.
 */
export function visitHolds(rt: Runtime, id: number, visit: (threadId: number, holds: number) => void): void {
  const words = rt.words;
  for (let slot = 1; slot < MAX_THREADS; slot++) {
    const state = Atomics.load(words, rt.threadBase(slot) + T_STATE);
    if (statusOf(state) === ThreadStatus.Free) continue;
    const threadId = threadIdOf(slot, stateGeneration(state));
    const entry = findEntry(rt, threadId, id);
    if (entry < 0) continue;
    const holds = Atomics.load(words, entryIndex(rt, entry) + R_HOLDS);
    if (holds !== 0) visit(threadId, holds);
  }
}

/**
 * The entry of `(holder, id)`, or -1: probes from the pair's hash as `claimEntry` did. Entries never go back to
 * EMPTY (a dropped one is a TOMBSTONE), so the first EMPTY on the way ends the search.
 */
function findEntry(rt: Runtime, holder: number, id: number): number {
  const mask = rt.refSlots - 1;
  const words = rt.words;
  let entry = firstProbe(holder, id, mask);
  for (let probe = 0; probe < rt.refSlots; probe++, entry = (entry + 1) & mask) {
    const index = entryIndex(rt, entry);
    const seen = Atomics.load(words, index + R_HOLDER);
    if (seen === EMPTY) return -1;
    if (seen === holder && Atomics.load(words, index + R_OBJECT) === id + 1) return entry;
  }
  return -1;
}

function firstProbe(holder: number, id: number, mask: number): number {
  return (Math.imul(holder ^ Math.imul(id + 1, 0x9e3779b1), 0x85ebca77) >>> 0) & mask;
}

/** Whether a message in flight (made by `share` and not received yet) holds a count of some object. */
export function anyInFlight(rt: Runtime): boolean {
  const words = rt.words;
  for (let entry = 0; entry < rt.refSlots; entry++) if (isInFlightHolder(words[entryIndex(rt, entry) + R_HOLDER]!)) return true;
  return false;
}

// ## This thread's counts

/**
 * This thread's count of one object: its entry, and the core whose collection ends it. The record is also what the
 * core is registered with: only the registration of the record `counted` holds may end the count (a core revived
 * later gets a new record), and no other object is made per registration.
 */
interface Counted {
  readonly id: number;
  readonly entry: number;
  core: WeakRef<object> | undefined;
  /** The public object last handed out for this object in this thread, so the same object is handed out again. */
  shown: WeakRef<object> | undefined;
}

/** What this thread counts, by object id (one runtime per thread). */
const counted = new Map<number, Counted>();
let countingRuntime: Runtime | undefined;
let countingThread = 0;

const collected = new FinalizationRegistry<Counted>((registered) => {
  const id = registered.id;
  const mine = counted.get(id);
  const rt = countingRuntime;
  if (mine !== registered || !rt) return;
  if (stillHeld(rt, id, mine.entry)) {
    // A guard was dropped without being released (Rust's mem::forget): the object stays counted, and findable
    // through this thread's entry, until the thread ends and its reaper releases the hold.
    mine.core = undefined;
    return;
  }
  counted.delete(id);
  dropEntry(rt, mine.entry, countingThread, id);
});

/** Whether this thread still holds object `id` (its word names it, or its entry records holds). */
function stillHeld(rt: Runtime, id: number, entry: number): boolean {
  if (Atomics.load(rt.words, entryIndex(rt, entry) + R_HOLDS) !== 0) return true;
  const holders: number[] = [];
  protocolOf(Atomics.load(rt.words, rt.objectBase(id) + O_KIND) & KIND_MASK)?.holders(rt, id, ANY_WAIT, holders);
  return holders.includes(countingThread);
}

function startCounting(rt: Runtime, threadId: number): void {
  countingRuntime = rt;
  countingThread = threadId;
}

/**
 * Gives the count a fresh object was allocated with (`allocateObject`) to this thread, tied to `core`'s lifetime.
 * Returns the entry, whose `holds` word the primitive may use.
 */
export function countNew(rt: Runtime, threadId: number, id: number, core: object): number {
  startCounting(rt, threadId);
  const entry = claimEntry(rt, threadId, id);
  const mine: Counted = { id, entry, core: undefined, shown: undefined };
  counted.set(id, mine);
  collected.register(core, mine);
  return entry;
}

/**
 * Counts this thread as a holder of object `id` (arriving from another thread, or upgraded from a `Weak`), tied to
 * `core`'s lifetime. The caller must hold a count already (an in-flight ticket, or one `tryRetain` added: pass
 * `retained`), so the object cannot be reclaimed meanwhile. Returns the entry.
 */
export function countArrived(rt: Runtime, threadId: number, id: number, core: object, retained: boolean): number {
  startCounting(rt, threadId);
  const mine = counted.get(id);
  if (mine) {
    // Already counted (its old core was collected, and its finalizer has not run yet): the new core takes over.
    if (retained) release(rt, id);
    const fresh: Counted = { id, entry: mine.entry, core: undefined, shown: undefined };
    counted.set(id, fresh);
    collected.register(core, fresh);
    return mine.entry;
  }
  if (!retained) Atomics.add(rt.words, rt.objectBase(id) + O_REFS, 1);
  const entry = claimEntry(rt, threadId, id);
  const fresh: Counted = { id, entry, core: undefined, shown: undefined };
  counted.set(id, fresh);
  collected.register(core, fresh);
  return entry;
}

/** The public object this thread last handed out for object `id`, if it is still reachable. */
export function shownObject(id: number): object | undefined {
  return counted.get(id)?.shown?.deref();
}

/** The core this thread counts object `id` with, if it is known and still reachable. */
export function shownCore(id: number): object | undefined {
  return counted.get(id)?.core?.deref();
}

/**
 * Remembers `shown` as this thread's public object for object `id`, and `core` as its core. Weak references are
 * made only here, for objects that are shared: a weak reference keeps its target alive until the current task
 * ends, which a loop creating and dropping objects must not pay.
 */
export function rememberShown(id: number, shown: object, core: object): void {
  const mine = counted.get(id);
  if (!mine) return;
  if (mine.shown?.deref() !== shown) mine.shown = new WeakRef(shown);
  if (mine.core?.deref() !== core) mine.core = new WeakRef(core);
}

/**
 * Ends this thread's count of object `id` now, as if its core had been collected (a channel side's `close()`).
 * Returns whether this thread counted it. The core must not be used for the object afterwards.
 */
export function uncount(rt: Runtime, id: number): boolean {
  const mine = counted.get(id);
  if (!mine) return false;
  counted.delete(id);
  return dropEntry(rt, mine.entry, countingThread, id);
}

/** Forgets this thread's counts without dropping them (its reaper drops them: the thread is ending). */
export function forgetCounts(): void {
  counted.clear();
}

// ## Messages in flight

/** A count held by a message in flight: `[entry, holder]`. */
export type InFlight = readonly [number, number];

/** Adds a count to object `id` for a message about to leave this thread (which counts the object itself). */
export function pinInFlight(rt: Runtime, id: number): InFlight {
  Atomics.add(rt.words, rt.objectBase(id) + O_REFS, 1);
  const holder = IN_FLIGHT_BASE - ((Atomics.add(rt.words, H_TRANSIT_TICKETS, 1) >>> 0) % IN_FLIGHT_SPAN);
  return [claimEntry(rt, holder, id), holder];
}

function validPin(rt: Runtime, pin: unknown): pin is InFlight {
  if (!Array.isArray(pin) || pin.length !== 2) return false;
  const [entry, holder] = pin as [unknown, unknown];
  return (
    typeof entry === "number" && Number.isInteger(entry) && entry >= 0 && entry < rt.refSlots &&
    typeof holder === "number" && Number.isInteger(holder) && isInFlightHolder(holder)
  );
}

/**
 * Takes over the count a message in flight holds of object `id` (the message arrived). Exactly one arrival of a
 * message gets it; returns whether this one did (then the caller owns that count).
 */
export function takePin(rt: Runtime, id: number, pin: unknown): boolean {
  return validPin(rt, pin) && takeEntry(rt, pin[0], pin[1], id);
}

/** Drops the count of a message in flight that will never arrive (it could not be sent, or was not received). */
export function unpinInFlight(rt: Runtime, id: number, pin: unknown): void {
  if (validPin(rt, pin)) dropEntry(rt, pin[0], pin[1], id);
}
