/**
 * The channel word protocol, apart from any typed data: a bounded multi-producer multi-consumer ring (Dmitry
 * Vyukov's bounded MPMC queue) in the channel's data buffer, and the futex words its waiters sleep on in the
 * channel's object record, where any thread can read them (dumps, "all threads asleep").
 *
 * ## Three records per channel
 *
 * A channel is one `Channel` record (the words below; waits are published on it) and two side records,
 * `ChannelSender` and `ChannelReceiver`. Every thread that has a `Sender` counts once on the sender record, as every
 * thread that has any shared object counts once on it (runtime/lifetime.ts), and so does every message in flight
 * that carries one: the sender record's strong count *is* Rust's sender count, kept by the same machinery that
 * reclaims every object (a thread's count ends when its Sender is closed or collected, or when the thread ends,
 * however it ends). When it reaches 0 the record is reclaimed, and its kind's `reclaimed` hook marks the channel
 * "senders gone" and wakes every waiter. Each side record keeps a count of the channel record, which goes once both
 * sides are gone.
 *
 * ## The channel record (objects.ts: O_STATE and the O_AUX words)
 *
 * | word | meaning |
 * |---|---|
 * | C_RSEQ (O_STATE) | receivers sleep on it: bumped when a message is published (and someone may sleep) or the senders go |
 * | C_SSEQ | senders sleep on it: bumped when a slot is freed (and someone may sleep) or the receivers go |
 * | C_RWAIT | receivers registered as (maybe) sleeping on C_RSEQ: a sender notifies only when it is not 0 |
 * | C_SWAIT | senders registered as (maybe) sleeping on C_SSEQ |
 * | C_FLAGS | SENDERS_GONE, RECEIVERS_GONE (set once, never cleared) |
 * | C_SELECT | `select` waits registered on the channel: a publisher then also bumps the runtime's H_SELECT_SEQ |
 *
 * A side record keeps `channel id + 1` in S_CHANNEL and the channel record's generation in S_CHANNEL_GENERATION.
 *
 * ## The data buffer
 *
 * ```
 * [ u32 tag ][ u32 layout hash ][ capacity ][ bound ][ modulus ][ slot bytes ] … [ tail @64 ] … [ head @128 ] …
 * [ slot 0 @192: i32 seq, i32 0, payload ][ slot 1 ] …
 * ```
 *
 * except for a ring of one slot (a rendezvous, `syncChannel(…, 1)`), which keeps its tail and head right after the
 * header and its slot right after them (`ringPlaces`):
 *
 * ```
 * [ u32 tag ][ u32 layout hash ][ capacity ][ bound ][ modulus ][ slot bytes ][ tail ][ head ][ slot 0 @32 ]
 * ```
 *
 * and an unbounded channel's chain of rings (bound GROWING), whose header also has the first ring's capacity and
 * whose epoch table has a line of its own:
 *
 * ```
 * [ tag ][ hash ][ capacity ][ GROWING ][ modulus ][ slot bytes ][ first ] … [ tail @64 ] … [ head @128 ] …
 * [ epoch table @192: 16 × (first position + 1) ][ ring 0 @256 ][ ring 1 ] … [ ring last ]
 * ```
 *
 * Positions run modulo `modulus` (a multiple of the capacity, below 2^29; 2^26 in a chain, whose ring number takes
 * the bits above: see "An unbounded channel's rings"), so that the ring works for any capacity, 1 included, and
 * never overflows an Int32. With `lap = pos - pos % capacity`, a slot's `seq` is
 * `2·lap` when it is free for the message of position `pos`, `2·lap + 1` once that message is published, and
 * `2·(lap + capacity)` once it is taken (all modulo `2·modulus`): Vyukov's sequence, doubled so that a ring of one
 * slot works, and less the slot's index so that a zeroed buffer is an empty ring. A sender claims position `tail` with one compare-and-swap, writes the payload, then publishes `seq`;
 * a receiver claims `head` the same way, reads, then frees the slot. A message is therefore visible whole or not
 * at all, and each is taken once. Capacity 0 (a rendezvous) is a ring of one slot whose sender also waits until its
 * message is taken (and takes it back itself on timeout or when the receivers go).
 *
 * Waiting is the usual "register, read the sequence word, check, sleep on the value read" (Drepper): a waiter adds
 * itself to C_RWAIT before reading C_RSEQ and the ring; a sender publishes before reading C_RWAIT. Either the
 * sender sees the waiter (and bumps C_RSEQ, so the waiter's sleep ends or never starts) or the waiter sees the
 * message. The fast path (no waiter) calls no `Atomics.notify`.
 *
 * ## An unbounded channel's rings
 *
 * A ring visits its slots in turn, so a single ring of `maxBytes` ends up touching all of it however small the
 * backlog (docs/memory-layout.md). An unbounded channel (D_BOUND = GROWING) is instead a chain of rings in its data
 * buffer, all reserved up front: ring `e` holds `first`·2^e slots (powers of two, the first at most
 * FIRST_RING_BYTES), and as many rings as fit `maxBytes` follow one another (at most MAX_EPOCHS). Its memory then
 * follows its backlog: a ring is touched only once the ones before it were full at the same time (or a sender waited
 * out a spin for a slot a receiver was still reading, below).
 *
 * Every position carries its ring (epoch) in the bits above POSITION_BITS: the tail and head words, the
 * announcements, what the waits return. Positions count on across rings (modulo `modulus`, a multiple of every
 * ring's capacity); a slot's seq is relative to its ring's first position, kept in the epoch table (word
 * `EPOCH_TABLE + e` = first position + 1), so that a ring's fresh memory is a ring of free slots.
 *
 * - A sender that finds the slot of position `t` of ring `e` holding an unreceived message, while a larger ring
 *   follows, switches: one compare-and-swap of the tail from `(e, t)` to `(e + 1, t)`. Position `t` and the ones
 *   after it go to ring `e + 1`; a sender that saw ring `e` can no longer claim in it (its compare-and-swap expects
 *   the old word). A slot whose message was taken but is still being read is not a reason to switch (a receiver
 *   descheduled in its take would grow the chain for good): the sender waits for it as in a bounded ring, and only a
 *   sender that spun and still finds it so, or a `trySend` (which may not wait), switches (`claimSendReclaiming`,
 *   after trying `reclaimDeadTake`).
 * - A thread learns a ring's first position from the table before it claims there or switches past it
 *   (`learnBase`); the first to find it missing writes it (compare-and-swap from 0): until it is written nobody has
 *   claimed in that ring, so the tail's position is still the ring's first. A thread killed anywhere in a switch
 *   leaves nothing half-done: the switch is one compare-and-swap, and the table is written by whoever needs it.
 * - A receiver whose head `(e, h)` finds nothing to take, with the table giving `h` as ring `e + 1`'s first position,
 *   moves the head to `(e + 1, h)` (`atRingEnd`): every position of ring `e` was taken. Skipping a dead sender's
 *   claim looks for this first: a position claimed in the next ring is not a dead claim in this one.
 * - A slot of an earlier ring that a dead receiver took is never needed again; in the last ring, `reclaimDeadTake`
 *   frees it as in a bounded ring (it looks at the previous lap in the same ring only).
 * - Senders wait for room only in the last ring (and for a slot still being read): `send` waits once the last ring
 *   is full; with nothing received, that is every ring. Positions of a chain run modulo 2^26 (a bounded ring's modulo
 *   about 2^29, without ring bits).
 *
 * ## A sender that dies between claiming a slot and publishing it
 *
 * A terminated worker can stop anywhere, including after its claim of `tail` and before its publication: its slot
 * would stay unpublished at the head forever, and every message behind it with it. So a sender announces each claim
 * in its own thread record (runtime/threads.ts: T_CHANNEL_CLAIM = channel + 1, T_CHANNEL_POS = position + 1), with
 * plain stores before the claiming compare-and-swap (which orders them), and clears the announcement with a plain
 * store once the message is published (see "Publication and freeing are compare-and-swaps" for why no thread can see
 * it cleared before the publication). The claimer of an unpublished, claimed
 * position is therefore always a thread that announces it, for as long as it is alive. A receiver that finds the head
 * slot claimed (`tail` moved past it) and unpublished looks for a live thread announcing it (`claimerAlive`: a scan
 * of the thread table, on the slow path only: a parked receiver's attempts, `tryRecv`); if there is none, the claimer
 * died, and the receiver takes the position as if it received it and frees the slot without reading it
 * (`skipDeadClaim`). Nothing half-written is ever read, nothing published is skipped (the slot is looked at again
 * after the head is taken: a sender that published at the last moment is received), and a `send` that returned had
 * published. The reaper wakes the receivers when a thread dies announcing a claim (the sender kind's `releaseDead`),
 * so they notice at once, not at their next slice.
 *
 * ## A receiver that dies between taking a slot and freeing it
 *
 * The same can happen on the other side: a receiver killed after its claim of `head` and before it frees the slot
 * leaves the slot "taken", and the sender that reaches it a lap later finds the ring full forever. So every take of
 * the head (a receive, a skip of a dead sender's slot, a rendezvous sender taking its message back) is announced in
 * the taker's thread record (T_CHANNEL_TAKE = channel + 1, T_CHANNEL_TAKE_POS = position + 1), with plain stores
 * before the claiming compare-and-swap, and withdrawn with a plain store after the slot is freed. A sender that finds
 * the ring full, or a receiver that finds it empty, looks on the slow path at the slot the next position needs: if the
 * head has passed its previous lap's position, the slot is still not free, and no live thread announces taking it, the
 * taker died, and the slot is freed by a compare-and-swap (`reclaimDeadTake`). The reaper wakes both sides when a
 * thread dies announcing a take.
 *
 * ## A thread that dies waiting
 *
 * A waiter adds itself to C_RWAIT or C_SWAIT (and a `select` to C_SELECT) while it waits and takes itself off when
 * the wait ends, but a thread killed in the middle of a wait (`terminate()` of a worker blocked in `recv`, or one with
 * `recvAsync` pending) never takes itself off: every later publication and free would find a waiter, bump the sequence
 * word (moving its cache line between the two sides on every message) and notify nobody, about three times slower per
 * message (unbounded `i32`: 150 → 530 ns, measured), and a rendezvous `trySend` would wait for a receiver that never
 * comes. So each thread records its registrations in the holds word of its reference entry for its side record
 * (runtime/lifetime.ts: the entry its reaper walks), `recordWait`: after adding itself to the count, and it withdraws
 * the record before taking itself off. The record never exceeds what the thread has added, so the reaper
 * (`releaseDead` of the Sender and Receiver kinds) takes the word with one exchange and subtracts exactly what the dead
 * thread left, or less. The thread writes the word only by compare-and-swap from what it last wrote, and only while it
 * is alive: a thread declared dead that still runs (Deno and browsers run a terminated worker until its event loop;
 * exit hooks run after the thread's own reap) fails that compare-and-swap and leaves the count to its reaper, so no
 * registration is withdrawn twice. What can leak (slower, never a lost wake-up): a registration of a thread killed
 * between adding itself and recording it, or after `close()` (which drops the entry, record and all) while async
 * waits of that side were still pending.
 *
 * ## Publication and freeing are compare-and-swaps
 *
 * A slot's seq leaves "claimed" (2·lap) by one compare-and-swap, either the sender's publication (2·lap + 1) or a
 * receiver's skip of a dead sender's claim (freed), and leaves "published" by one compare-and-swap, either the
 * taker's free or a reclaim of a dead taker's slot. That is what lets the announcements be withdrawn with plain
 * stores (two `Atomics.store` less per message: ~10 ns each, 10–15% of a message between two workers): a thread
 * that reads a withdrawal and then tries to skip or reclaim the slot cannot win its compare-and-swap against the
 * step the withdrawal follows, because had its compare-and-swap come first, that step would have read it and
 * synchronized with it, placing the read of the withdrawal before the withdrawal. So a withdrawal is never seen
 * early, and a skip or reclaim always loses to a live thread's publication or free. The losing sides are still
 * handled, as guards: a skip that loses takes the message (it is published), a free that loses leaves the slot to
 * the reclaim that freed it, and a sender whose publication loses claims another position (`publishSend` returns
 * false). A stale announcement only delays, as before.
 *
 * What is guaranteed: while receivers live, a message arrives exactly once or `send` threw. A message that a
 * receiver took and died before returning is lost with it: Rust would say it was received (the receiver's thread had
 * it), so it is never delivered again; nothing else is lost, and the ring never jams. An async receiver (`recvAsync`,
 * `selectAsync`) claims, reads and frees in one synchronous step (`RecvWait`'s `onTake`): one announcement per thread
 * holds only if no claim waits across tasks.
 *
 * ## select
 *
 * A `select` over several receivers sleeps on one word, the runtime's H_SELECT_SEQ, after registering on every
 * channel (C_RWAIT and C_SELECT). A sender that finds a waiter registered (C_RWAIT, the one load of its fast path) and
 * a selector among them (C_SELECT) bumps and notifies H_SELECT_SEQ as well as C_RSEQ; losing a side does too. The
 * word is shared by every `select` of the program, so a wake may be for another selector: it looks again and sleeps
 * again (crossbeam instead gives each selecting thread its own context that channels notify; one shared word costs a
 * spurious wake per unrelated message, and only while some `select` waits).
 */

import { ObjectKind, WaitKind, registerKind } from "../runtime/kinds.js";
import { O_AUX, O_STATE } from "../runtime/objects.js";
import { releaseRetained } from "../runtime/lifetime.js";
import { H_SELECT_SEQ, type Runtime } from "../runtime/runtime.js";
import {
  MAX_THREADS,
  T_CHANNEL_CLAIM,
  T_CHANNEL_POS,
  T_CHANNEL_TAKE,
  T_CHANNEL_TAKE_POS,
  T_STATE,
  T_WAIT_KIND,
  T_WAIT_OBJECT,
  ThreadStatus,
  UNTIMED_WAIT,
  slotOf,
  statusOf,
} from "../runtime/threads.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";
import { currentThreadId } from "../runtime/current.js";
import { holdsPayload, holdsTag, holdsWord } from "./holds-word.js";

// ## Channel record words (offsets in the object record)
export const C_RSEQ = O_STATE;
export const C_SSEQ = O_AUX;
export const C_RWAIT = O_AUX + 1;
export const C_SWAIT = O_AUX + 2;
export const C_FLAGS = O_AUX + 3;
/** `select` waits registered on this channel (each also counts in C_RWAIT, so the fast path reads one word). */
export const C_SELECT = O_AUX + 4;
export const SENDERS_GONE = 1;
export const RECEIVERS_GONE = 2;

// ## Side record words
export const S_CHANNEL = O_AUX;
export const S_CHANNEL_GENERATION = O_AUX + 1;

// ## Data buffer (Int32 indices; words 0 and 1 are sync/data.ts's tag and layout hash)
/** The largest ring's capacity (a bounded channel's only ring). */
export const D_CAPACITY = 2;
/** The bound: 0 for a rendezvous, the capacity for a bounded ring, GROWING for an unbounded channel's rings. */
export const D_BOUND = 3;
export const D_MODULUS = 4;
export const D_SLOT_BYTES = 5;
/** D_BOUND of an unbounded channel: a chain of rings that double (see "An unbounded channel's rings"). */
export const GROWING = -1;
/** An unbounded channel's first ring's capacity (its header only: a compact ring has its tail here). */
const D_FIRST = 6;
/** The header's words: the ring's tag, hash, capacity, bound, modulus, slot bytes, and (compact rings) tail and head. */
const HEADER_BYTES = 32;
/**
 * Where the tail and the head (Int32 indices), the epoch table (Int32 index, rings after the first only) and slot 0
 * of the first ring (a byte offset) lie. A ring of one slot (a rendezvous, `syncChannel(…, 1)`) keeps them together
 * right after the header (bytes 24–31 and slot 0 at 32): its sender and receiver take turns on the slot anyway, and
 * a hand-off then moves one or two cache lines between them instead of three (docs/measurements.md §15; JavaScript
 * cannot align a buffer to a line). A larger ring gives the tail, the head and the slots a line each, so that
 * senders and receivers working on different slots do not slow each other down; a chain of rings has its epoch
 * table on a line of its own (written once per ring, read when a thread first reaches a ring).
 */
function ringPlaces(shape: RingShape): { readonly tail: number; readonly head: number; readonly slots: number } {
  return shape.bound === GROWING ? CHAINED : shape.capacity === 1 ? COMPACT : SPREAD;
}
const COMPACT = { tail: 6, head: 7, slots: HEADER_BYTES } as const;
const SPREAD = { tail: 16, head: 32, slots: 192 } as const; // bytes 64, 128, 192
const CHAINED = { tail: 16, head: 32, slots: 256 } as const; // the epoch table at byte 192
/** Int32 index of the epoch table: word `EPOCH_TABLE + e` is ring `e`'s first position + 1 (0: not known yet). */
const EPOCH_TABLE = 48;
/** Bytes before a slot's payload (its seq word and a pad that keeps the payload 8-aligned). */
export const SLOT_HEADER = 8;
/**
 * A chain's position as the tail and head words, the announcements and the waits carry it: the ring (epoch) in the
 * bits above POSITION_BITS, the position in the channel's sequence below (modulo 2^26). A bounded ring's positions
 * have no ring bits (they run modulo about 2^29).
 */
const POSITION_BITS = 26;
const POSITION_MASK = (1 << POSITION_BITS) - 1;
/** At most 16 rings: epochs 0–15, so a packed position stays below 2^30. */
const MAX_EPOCHS = 16;
/** The first ring of an unbounded channel holds about this many bytes (its rings double from there). */
const FIRST_RING_BYTES = 4096;

/**
 * A channel's rings: ring `e` (0 ≤ e ≤ `last`) holds `first`·2^e slots of `slotBytes`; `capacity` is the last
 * ring's. A bounded channel has one ring; an unbounded one (`bound` GROWING) a chain (see "An unbounded channel's
 * rings").
 */
export interface RingShape {
  readonly capacity: number;
  readonly bound: number;
  readonly slotBytes: number;
  readonly first: number;
  readonly last: number;
}

/** The ring of a bounded channel (`bound` 0 is a rendezvous: one slot). */
export function boundedRing(bound: number, slotBytes: number): RingShape {
  const capacity = Math.max(1, bound);
  return { capacity, bound, slotBytes, first: capacity, last: 0 };
}

/**
 * The rings of an unbounded channel whose rings may take `slots` slots in all: the first holds at most
 * FIRST_RING_BYTES (and at least half of it), each next one twice the last, as many as fit (at most MAX_EPOCHS).
 */
export function growingRings(slots: number, slotBytes: number): RingShape {
  // Powers of two, so that a slot index is a mask in every ring; the rings may then leave up to half of `slots`
  // unused (`maxBytes` is a bound, and the untouched part of a reservation costs nothing anyway).
  let first = 1;
  while (first * 2 * slotBytes <= FIRST_RING_BYTES && first * 2 <= slots) first *= 2;
  let last = 0;
  while (last < MAX_EPOCHS - 1 && first * (2 ** (last + 2) - 1) <= slots) last++;
  return { capacity: first * 2 ** last, bound: GROWING, slotBytes, first, last };
}

/**
 * The position modulus: for a bounded ring, the largest multiple of its capacity below 2^29 (the rarer a position
 * comes back, the safer a compare-and-swap of a thread that read the tail a long time ago); for a chain, 2^26, a
 * multiple of every ring's capacity (powers of two), leaving the bits above for the ring number.
 */
function modulusFor(shape: RingShape): number {
  return shape.bound === GROWING ? 1 << POSITION_BITS : shape.capacity * Math.floor(2 ** 29 / shape.capacity);
}

/** The byte offset of ring `epoch`'s slot 0. */
function ringStart(shape: RingShape, epoch: number): number {
  return ringPlaces(shape).slots + shape.slotBytes * shape.first * (2 ** epoch - 1);
}

/** The bytes a data buffer needs for `shape`: every ring is reserved, and touched only as messages reach it. */
export function ringBytes(shape: RingShape): number {
  return ringStart(shape, shape.last + 1);
}

/** Writes the ring's header into a fresh data buffer (tag and hash are already there). */
export function initRing(data: SharedArrayBuffer, shape: RingShape): void {
  const words = new Int32Array(data);
  words[D_CAPACITY] = shape.capacity;
  words[D_BOUND] = shape.bound;
  words[D_MODULUS] = modulusFor(shape);
  words[D_SLOT_BYTES] = shape.slotBytes;
  if (shape.bound === GROWING) words[D_FIRST] = shape.first;
  // Slots need no writing: a slot's seq is stored relative to its index (see the module comment), so zeroed
  // memory is a ring of free slots, and the pages of a large ring are not touched before messages reach them.
}

/** The shape a data buffer's header describes (not checked: `ringProblem`). */
function shapeOf(words: Int32Array): RingShape {
  const capacity = words[D_CAPACITY]!;
  const bound = words[D_BOUND]!;
  const slotBytes = words[D_SLOT_BYTES]!;
  if (bound !== GROWING) return { capacity, bound, slotBytes, first: capacity, last: 0 };
  const first = words[D_FIRST]!;
  return { capacity, bound, slotBytes, first, last: Math.round(Math.log2(capacity / first)) };
}

/** Why `data` cannot be a ring (a forged or corrupted handle), or undefined. */
export function ringProblem(data: SharedArrayBuffer, payloadBytes: number): string | undefined {
  if (data.byteLength < HEADER_BYTES || data.byteLength % 8 !== 0) return `its data buffer (${data.byteLength} bytes) is not a channel's`;
  const header = new Int32Array(data, 0, HEADER_BYTES >> 2);
  const shape = shapeOf(header);
  const { capacity, bound, slotBytes, first, last } = shape;
  if (!(capacity >= 1 && capacity <= 2 ** 24)) return "its ring header is corrupted (capacity)";
  const powerOfTwo = (first & (first - 1)) === 0;
  if (bound === GROWING ? !(first >= 1 && powerOfTwo && last >= 0 && last < MAX_EPOCHS && first * 2 ** last === capacity) : bound === 0 ? capacity !== 1 : bound !== capacity) {
    return "its ring header is corrupted (capacity)";
  }
  if (slotBytes % 8 !== 0 || slotBytes < SLOT_HEADER + payloadBytes) return "its ring header is corrupted (slot size)";
  if (header[D_MODULUS] !== modulusFor(shape)) return "its ring header is corrupted (modulus)";
  if (ringBytes(shape) !== data.byteLength) return "its data buffer does not match its ring header";
  return undefined;
}

/** What a wait's `attempt` returns beside a position (packed positions are below 2^30). */
export const DISCONNECTED = 2 ** 30;
/** This thread closed its side while the wait was pending. */
export const CLOSED = DISCONNECTED + 1;
/** A rendezvous message was taken by a receiver. */
export const TAKEN = 0;
/** A rendezvous message was taken back by its sender (no receiver took it). */
export const RETRACTED = 1;
/** A send wait that does not claim (async: the claim must come in the same task as the publication) saw room. */
export const ROOM = DISCONNECTED + 2;
/** `skipDeadClaim`: nothing to skip. */
const NO_SKIP = -1;
/** `skipDeadClaim`: skipped a dead sender's slot, or lost a race: look again. */
const LOOK_AGAIN = -2;

/**
 * One thread's side of a channel, as its waits see it: a local `close()` ends them (they check `closed` on every
 * attempt), and its reference entry's holds word records their registrations (see "A thread that dies waiting").
 */
export interface WaitingSide {
  closed: boolean;
  /**
   * Int32 index of the holds word of this thread's entry for the side record (runtime/lifetime.ts), or -1: not
   * recorded, or no longer (a reaper took the word).
   */
  holdsAt: number;
  /** The registrations recorded there (a sum of ONE_WAIT and ONE_SELECT). */
  waits: number;
}

/** A registration on the channel's C_RWAIT (receiver side) or C_SWAIT (sender side), as a side's holds word counts it. */
const ONE_WAIT = 1;
/** A `select`'s registration on C_SELECT (which also counts one ONE_WAIT on C_RWAIT). */
const ONE_SELECT = 1 << 12;
/** The most of either a holds word counts (further registrations are not recorded). */
const WAITS_MAX = ONE_SELECT - 1;

/**
 * Records on `side`'s holds word one registration that the caller has just added to the channel's counts (`delta`:
 * ONE_WAIT, or ONE_WAIT + ONE_SELECT); returns whether it did. Recorded after the count is added and withdrawn before
 * it is removed, so a holds word never records more than the thread has registered: a reaper that withdraws what it
 * records can leak a registration (see "A thread that dies waiting"), never take away a live one. Compare-and-swaps
 * from the word this thread last wrote: one that fails means a reaper took the word (this thread was declared dead
 * and still runs: Deno and browsers run on until their event loop, an exit hook runs after the reap), and the side
 * records nothing more.
 */
function recordWait(rt: Runtime, side: WaitingSide, delta: number): boolean {
  const waits = side.waits;
  if (side.holdsAt < 0 || side.closed || (waits & WAITS_MAX) === WAITS_MAX || waits >>> 12 === WAITS_MAX) return false;
  if (!rt.isAlive(currentThreadId)) return false; // reaped already: its entry is not its own any more
  const tag = holdsTag(currentThreadId);
  const word = holdsWord(tag, waits);
  if (Atomics.compareExchange(rt.words, side.holdsAt, word, holdsWord(tag, waits + delta)) !== word) {
    side.holdsAt = -1;
    return false;
  }
  side.waits = waits + delta;
  return true;
}

/**
 * Withdraws a registration `recordWait` recorded. Returns whether the caller must still take it off the channel's
 * count: false when a reaper took the word, having withdrawn every registration it recorded.
 */
function unrecordWait(rt: Runtime, side: WaitingSide, delta: number): boolean {
  // `close()` dropped the entry, and its record with it (lifetime.ts, takeEntry); a thread reaped since leaves it.
  if (side.closed) return rt.isAlive(currentThreadId);
  if (side.holdsAt < 0) return false;
  const tag = holdsTag(currentThreadId);
  const word = holdsWord(tag, side.waits);
  if (Atomics.compareExchange(rt.words, side.holdsAt, word, holdsWord(tag, side.waits - delta)) !== word) {
    side.holdsAt = -1;
    return false;
  }
  side.waits -= delta;
  return true;
}

/** One channel of the runtime, operated on from this thread. */
export class RawChannel {
  readonly rt: Runtime;
  /** The channel record. */
  readonly id: number;
  readonly words: Int32Array;
  readonly rseq: number;
  readonly sseq: number;
  readonly rwait: number;
  readonly swait: number;
  readonly flags: number;
  readonly select: number;
  /** The data buffer's words: the tail, the head, the epoch table and every ring's slots. */
  readonly ring: Int32Array;
  /** The largest ring's capacity. */
  readonly capacity: number;
  /** 0 for a rendezvous, GROWING for an unbounded channel, else the capacity. */
  readonly bound: number;
  readonly rendezvous: boolean;
  readonly modulus: number;
  readonly slotBytes: number;
  /** The last epoch (ring) of the chain: 0 for a bounded channel, which has one ring. */
  readonly lastEpoch: number;
  /** A position's ring is `pos >>> ringShift`, its place in the sequence `pos & positionMask` (a bounded ring: 0, pos). */
  private readonly ringShift: number;
  private readonly positionMask: number;
  /** The ring's tail and head (Int32 indices): `ringPlaces`. */
  private readonly tailAt: number;
  private readonly headAt: number;
  /** Per ring (epoch): its capacity; `capacity - 1` when a power of two (a slot index is then a mask), else -1. */
  private readonly ringCapacity: number[] = [];
  private readonly ringMask: number[] = [];
  /** Per ring: the byte offset of its slot 0; its first position, -1 until this thread learns it (`learnBase`). */
  private readonly ringSlots: number[] = [];
  private readonly ringBase: number[] = [];
  /**
   * The ring `slot()` last mapped a position of, and its mapping (a one-entry cache: the per-message path reads
   * these fields, not the arrays; a bounded channel never leaves ring 0).
   */
  private ringNow = 0;
  private baseNow = 0;
  private maskNow = -1;
  private capacityNow = 1;
  private slotsNow = 0;
  /** What the last `slot(pos)` found besides the offset: twice the first place of `pos`'s lap in its ring. */
  private lap2Now = 0;
  /** The position `slot()` last mapped, and its slot's offset (a message's claim, write and publication ask thrice). */
  private posNow = -1;
  private slotNow = 0;
  /** `2·modulus`: the range of a stored seq. */
  private readonly span: number;
  /** This thread's claim announcement words (see "A sender that dies" above). */
  private readonly claimWord: number;
  private readonly claimPosWord: number;
  /** This thread's take announcement words (see "A receiver that dies" above). */
  private readonly takeWord: number;
  private readonly takePosWord: number;

  constructor(rt: Runtime, id: number, data: SharedArrayBuffer, threadId: number) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    const base = rt.objectBase(id);
    this.rseq = base + C_RSEQ;
    this.sseq = base + C_SSEQ;
    this.rwait = base + C_RWAIT;
    this.swait = base + C_SWAIT;
    this.flags = base + C_FLAGS;
    this.select = base + C_SELECT;
    this.ring = new Int32Array(data);
    const shape = shapeOf(this.ring);
    this.capacity = shape.capacity;
    this.bound = shape.bound;
    this.rendezvous = this.bound === 0;
    this.modulus = this.ring[D_MODULUS]!;
    this.slotBytes = shape.slotBytes;
    this.lastEpoch = shape.last;
    const chained = shape.bound === GROWING;
    this.ringShift = chained ? POSITION_BITS : 31;
    this.positionMask = chained ? POSITION_MASK : 0x7fffffff;
    const places = ringPlaces(shape);
    this.tailAt = places.tail;
    this.headAt = places.head;
    for (let e = 0; e <= shape.last; e++) {
      const capacity = shape.first * 2 ** e;
      this.ringCapacity.push(capacity);
      this.ringMask.push((capacity & (capacity - 1)) === 0 ? capacity - 1 : -1);
      this.ringSlots.push(ringStart(shape, e));
      this.ringBase.push(e === 0 ? 0 : -1);
    }
    this.useRing(0);
    this.span = 2 * this.modulus;
    const thread = rt.threadBase(slotOf(threadId));
    this.claimWord = thread + T_CHANNEL_CLAIM;
    this.claimPosWord = thread + T_CHANNEL_POS;
    this.takeWord = thread + T_CHANNEL_TAKE;
    this.takePosWord = thread + T_CHANNEL_TAKE_POS;
  }

  /**
   * Learns the first position of ring `epoch` (> 0) from the epoch table, writing it there if nobody has: a thread
   * learns a ring's first position before it claims in the ring or switches past it, so while the table does not
   * have it, nobody has claimed in the ring, and the tail is still at that position.
   */
  private learnBase(epoch: number): void {
    const at = EPOCH_TABLE + epoch;
    for (;;) {
      const known = Atomics.load(this.ring, at);
      if (known !== 0) {
        this.ringBase[epoch] = known - 1;
        return;
      }
      const tail = Atomics.load(this.ring, this.tailAt);
      // The tail past this ring: its first position is in the table already (read it again).
      if (tail >>> POSITION_BITS === epoch) Atomics.compareExchange(this.ring, at, 0, (tail & POSITION_MASK) + 1);
    }
  }

  /** Makes ring `epoch` the one `slot()` maps positions of. */
  private useRing(epoch: number): void {
    if (this.ringBase[epoch]! < 0) this.learnBase(epoch);
    this.ringNow = epoch;
    this.baseNow = this.ringBase[epoch]!;
    this.maskNow = this.ringMask[epoch]!;
    this.capacityNow = this.ringCapacity[epoch]!;
    this.slotsNow = this.ringSlots[epoch]!;
  }

  /** Position `pos`'s place in its ring's sequence (positions count from the ring's first, modulo `modulus`). */
  private local(pos: number): number {
    if (this.lastEpoch === 0) return pos; // one ring (bounded): positions are its places
    const epoch = pos >>> POSITION_BITS;
    if (epoch !== this.ringNow) this.useRing(epoch);
    const local = (pos & POSITION_MASK) - this.baseNow;
    return local < 0 ? local + this.modulus : local;
  }

  /**
   * The byte offset of position `pos`'s slot; sets `lap2Now` to twice the first place of its lap in its ring (the
   * slot's seq while free for it). Every message costs a few: a mask where the capacity allows, no array read.
   */
  private slot(pos: number): number {
    if (pos === this.posNow) return this.slotNow;
    const local = this.local(pos);
    const mask = this.maskNow;
    const index = mask >= 0 ? local & mask : local % this.capacityNow;
    this.lap2Now = 2 * (local - index);
    this.posNow = pos;
    return (this.slotNow = this.slotsNow + index * this.slotBytes);
  }

  /** The Int32 index of the seq word of position `pos`'s slot. */
  seqIndex(pos: number): number {
    return this.slot(pos) >> 2;
  }

  /** The byte offset of position `pos`'s payload. */
  payloadOffset(pos: number): number {
    return this.slot(pos) + SLOT_HEADER;
  }

  /** `a - b` modulo `2·modulus`, as a signed difference. */
  private diff(a: number, b: number): number {
    const span = this.span;
    let d = (a - b) % span;
    if (d > this.modulus) d -= span;
    else if (d < -this.modulus) d += span;
    return d;
  }

  /** The position after `pos`, in the same ring. */
  private next(pos: number): number {
    const position = pos & this.positionMask;
    return pos - position + (position + 1 === this.modulus ? 0 : position + 1);
  }

  /** Twice the first place of `pos`'s lap in its ring: the stored seq of its slot while free for it. */
  private lap2(pos: number): number {
    this.slot(pos);
    return this.lap2Now;
  }

  /** The seq of position `pos`'s slot freed after the lap whose `lap2` is given: free for the next lap (`< span`). */
  private freedAfter(pos: number, lap2: number): number {
    const seq = lap2 + 2 * this.ringCapacity[pos >>> this.ringShift]!;
    return seq >= this.span ? seq - this.span : seq;
  }

  /**
   * Claims the next free slot for a message; returns its position, or -1 when the ring is full (and, for a chain,
   * it is the last ring: a sender that finds a smaller one full switches to the next, see "An unbounded channel's
   * rings"). A slot whose message was taken and is still being read counts as full, not as a reason to switch,
   * unless `grow` (a sender that already waited for it): a receiver paused in a take must not grow the chain.
   */
  claimSend(grow = false): number {
    const ring = this.ring;
    for (;;) {
      const pos = Atomics.load(ring, this.tailAt);
      const seq = Atomics.load(ring, this.slot(pos) >> 2);
      const lap2 = this.lap2Now;
      const d = seq === lap2 ? 0 : this.diff(seq, lap2);
      if (d === 0) {
        // Announced before the claim (plain stores: the compare-and-swap orders them before it).
        this.words[this.claimWord] = this.id + 1;
        this.words[this.claimPosWord] = pos + 1;
        if (Atomics.compareExchange(ring, this.tailAt, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        if (pos >>> POSITION_BITS < this.lastEpoch && (grow || !this.previousLapTaken(pos))) {
          // Full, and a larger ring follows: this position and the ones after it go there (whoever switches).
          Atomics.compareExchange(ring, this.tailAt, pos, pos + (1 << POSITION_BITS));
          continue;
        }
        this.words[this.claimPosWord] = 0; // a failed claim's announcement must not outlive it (we may park)
        return -1; // the slot still holds the message of the previous lap: full
      }
      // else another sender claimed it meanwhile: look again
    }
  }

  /** Whether the slot at `tail` looks free (a sender that may not claim yet looks before it tries). */
  hasRoom(): boolean {
    const pos = Atomics.load(this.ring, this.tailAt);
    const seq = Atomics.load(this.ring, this.slot(pos) >> 2);
    const lap2 = this.lap2Now;
    if (seq === lap2 || this.diff(seq, lap2) > 0) return true;
    // Full: room all the same if a larger ring follows and the slot holds an unreceived message (see claimSend).
    return pos >>> POSITION_BITS < this.lastEpoch && !this.previousLapTaken(pos);
  }

  /**
   * Publishes the message written at `pos`, and wakes a receiver if one may sleep. Returns false, having published
   * nothing, when a receiver skipped the position meanwhile as a dead sender's (see "Publication and freeing are
   * compare-and-swaps"): the caller claims another position and writes the message again.
   */
  publishSend(pos: number): boolean {
    const at = this.slot(pos) >> 2;
    const claimed = this.lap2Now;
    if (Atomics.compareExchange(this.ring, at, claimed, claimed + 1) !== claimed) {
      this.words[this.claimPosWord] = 0;
      return false;
    }
    if (Atomics.load(this.words, this.rwait) !== 0) {
      Atomics.add(this.words, this.rseq, 1);
      Atomics.notify(this.words, this.rseq, 1);
      if (Atomics.load(this.words, this.select) !== 0) wakeSelectors(this.words);
    }
    // After the wake: a sender killed between its bump and its notify is still announcing, so its reaper wakes the
    // receivers. A plain store (see "Publication and freeing are compare-and-swaps").
    this.words[this.claimPosWord] = 0;
    return true;
  }

  /** Claims the oldest published message; returns its position, or -1 when there is none. */
  claimRecv(): number {
    const ring = this.ring;
    for (;;) {
      const pos = Atomics.load(ring, this.headAt);
      const seq = Atomics.load(ring, this.slot(pos) >> 2);
      const ready = this.lap2Now + 1;
      const d = seq === ready ? 0 : this.diff(seq, ready);
      if (d === 0) {
        // Announced before the claim (plain stores: the compare-and-swap orders them before it).
        this.words[this.takeWord] = this.id + 1;
        this.words[this.takePosWord] = pos + 1;
        if (Atomics.compareExchange(ring, this.headAt, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        if (pos >>> POSITION_BITS < this.lastEpoch && this.atRingEnd(pos)) {
          // Every position of this ring is taken; the next ring starts here.
          Atomics.compareExchange(ring, this.headAt, pos, pos + (1 << POSITION_BITS));
          continue;
        }
        this.words[this.takePosWord] = 0; // a lost claim's announcement must not outlive it (we may park)
        return -1; // free, or claimed by a sender that is still writing: nothing to take yet
      }
    }
  }

  /**
   * Whether the head `pos` is where the next ring starts (the senders switched to it at that position). Reads the
   * epoch table, not the tail: receivers that find nothing to take ask this on every look, and the tail's line is
   * the one every sender's claim writes. While the table does not have the next ring, nobody has claimed there (see
   * `learnBase`), so there is nothing to take there yet: "not yet" is as good as "no".
   */
  private atRingEnd(pos: number): boolean {
    const next = (pos >>> POSITION_BITS) + 1;
    let base = this.ringBase[next]!;
    if (base < 0) {
      const known = Atomics.load(this.ring, EPOCH_TABLE + next);
      if (known === 0) return false;
      base = this.ringBase[next] = known - 1;
    }
    return base === (pos & POSITION_MASK);
  }

  /**
   * Whether a live thread announces a claim of position `pos` of this channel (slow: a scan of the thread table).
   * A false "yes" (another channel's announcement read half-updated, a reused thread slot not yet cleared) only
   * delays; a "no" is exact: the claimer announced before claiming, and clears only after publishing.
   */
  claimerAlive(pos: number): boolean {
    return this.announcerAlive(pos, T_CHANNEL_CLAIM, T_CHANNEL_POS);
  }

  /** Whether a live thread announces a take of position `pos` of this channel: `claimerAlive` for receivers. */
  takerAlive(pos: number): boolean {
    return this.announcerAlive(pos, T_CHANNEL_TAKE, T_CHANNEL_TAKE_POS);
  }

  /**
   * Whether a live thread is blocked in a receive (`recv`, or a `select` published under this channel) on this
   * channel, as parking publishes a blocking wait that has lasted ~1 ms (slow: a scan of the thread table). Such a
   * receiver takes a message published now as soon as its thread runs: a publication notifies it, and its wait
   * ends only by taking a message, timing out, or closing (each of which withdraws the publication first). An async
   * receiver is not counted: its event loop may be busy for any length of time.
   */
  receiverBlocked(): boolean {
    const words = this.words;
    const object = this.id + 1;
    for (let slot = 1; slot < MAX_THREADS; slot++) {
      const base = this.rt.threadBase(slot);
      if (Atomics.load(words, base + T_WAIT_OBJECT) !== object) continue;
      if ((Atomics.load(words, base + T_WAIT_KIND) & ~UNTIMED_WAIT) !== WaitKind.Recv) continue;
      if (statusOf(Atomics.load(words, base + T_STATE)) === ThreadStatus.Alive) return true;
    }
    return false;
  }

  private announcerAlive(pos: number, channelWord: number, posWord: number): boolean {
    const words = this.words;
    const channel = this.id + 1;
    const position = pos + 1;
    for (let slot = 1; slot < MAX_THREADS; slot++) {
      const base = this.rt.threadBase(slot);
      if (Atomics.load(words, base + posWord) !== position || Atomics.load(words, base + channelWord) !== channel) continue;
      // Read after the announcement: a new thread in a reused slot reads Alive before it clears the record.
      if (statusOf(Atomics.load(words, base + T_STATE)) === ThreadStatus.Alive) return true;
    }
    return false;
  }

  /**
   * Skips the head's slot if a sender claimed it and died before publishing: takes the position and frees the slot
   * unread. Returns the position if its message turned out published (the caller takes it), LOOK_AGAIN after a skip
   * or a lost race, NO_SKIP when the head is published, unclaimed, or claimed by a live sender.
   */
  private skipDeadClaim(): number {
    const ring = this.ring;
    const pos = Atomics.load(ring, this.headAt);
    const at = this.slot(pos) >> 2;
    const free = this.lap2Now;
    if (Atomics.load(ring, at) !== free) return NO_SKIP; // published, or the last lap's being read
    // Nobody claimed it: empty.
    if ((Atomics.load(ring, this.tailAt) & this.positionMask) === (pos & this.positionMask)) return NO_SKIP;
    // The next ring starts here (a sender switched to it): the position is claimed there, not in this ring.
    if (pos >>> POSITION_BITS < this.lastEpoch && this.atRingEnd(pos)) return LOOK_AGAIN;
    if (this.claimerAlive(pos)) return NO_SKIP; // a sender still writing it
    // A take like any other (see "A receiver that dies"): this thread may die before it frees the slot.
    this.announceTake(pos);
    if (Atomics.compareExchange(ring, this.headAt, pos, this.next(pos)) !== pos) {
      this.words[this.takePosWord] = 0;
      return LOOK_AGAIN;
    }
    // The position is ours now. Free it unread, unless its claimer published after all (between our look at the slot
    // and our scan, then withdrew its announcement): then it is a message to take.
    if (!this.freeSlot(pos, false)) return pos;
    return LOOK_AGAIN;
  }

  /** `claimRecv`, skipping slots whose senders died before publishing them (slow path: parked receivers, `tryRecv`). */
  claimRecvSkipping(): number {
    for (;;) {
      const pos = this.claimRecv();
      if (pos >= 0) return pos;
      const skipped = this.skipDeadClaim();
      if (skipped === NO_SKIP) {
        // Nothing to take: if a receiver died holding the slot the next message needs, free it for the senders.
        this.reclaimDeadTake(Atomics.load(this.ring, this.headAt));
        return -1;
      }
      if (skipped >= 0) return skipped;
    }
  }

  /** `claimSend`, first freeing the slot it needs if a receiver died holding it (slow path: parked senders, `trySend`). */
  claimSendReclaiming(): number {
    const pos = this.claimSend();
    if (pos >= 0) return pos;
    if (this.reclaimDeadTake(Atomics.load(this.ring, this.tailAt))) return this.claimSend();
    // Still being read (a receiver descheduled in its take), after a blocked sender's spin or in a `trySend`, which
    // may not wait: a chain grows rather than wait longer or refuse.
    return this.claimSend(true);
  }

  /** `hasRoom`, first freeing the slot it needs if a receiver died holding it. */
  hasRoomReclaiming(): boolean {
    return this.hasRoom() || (this.reclaimDeadTake(Atomics.load(this.ring, this.tailAt)) && this.hasRoom());
  }

  /** Announces this thread's take of position `pos` (plain stores: the compare-and-swap that follows orders them). */
  private announceTake(pos: number): void {
    this.words[this.takeWord] = this.id + 1;
    this.words[this.takePosWord] = pos + 1;
  }

  /**
   * The place in its ring's sequence of the previous lap of position `pos`'s slot (one capacity back); leaves
   * `pos`'s ring the one `slot()` maps (`baseNow`).
   */
  private previousLap(pos: number): number {
    const local = this.local(pos);
    const capacity = this.capacityNow;
    return local >= capacity ? local - capacity : local - capacity + this.modulus;
  }

  /** Whether the message of the previous lap of position `pos`'s slot was taken (the head passed it). */
  private previousLapTaken(pos: number): boolean {
    const prevLocal = this.previousLap(pos);
    const head = Atomics.load(this.ring, this.headAt);
    const headRing = head >>> this.ringShift;
    const ring = pos >>> this.ringShift;
    return headRing > ring || (headRing === ring && this.diff(2 * this.local(head), 2 * prevLocal) > 0);
  }

  /**
   * Frees the slot that position `pos` needs (`pos` is the tail or the head) if the message of its previous lap was
   * taken (the head moved past it) by a thread that died before freeing it, or by a receiver that died skipping a dead
   * sender's slot. Returns whether it freed it. The message that thread took is gone with it: it had been received.
   * A "no live taker" is exact (a taker announces before it claims and withdraws after it frees); a compare-and-swap
   * frees the slot, so a taker that freed it meanwhile, or another thread that reclaimed it first, is never undone.
   */
  reclaimDeadTake(pos: number): boolean {
    const ring = this.ring;
    // The position of the slot's previous lap, in the same ring (`previousLap` first: it sets `baseNow`).
    const prevLocal = this.previousLap(pos);
    const prev = (pos - (pos & this.positionMask)) | (this.baseNow + prevLocal) % this.modulus;
    const index = this.slot(pos) >> 2;
    const taken = this.lap2(prev);
    const seq = Atomics.load(ring, index);
    if (seq !== taken + 1 && seq !== taken) return false; // free for `pos` (or published for it): nothing held
    // Not yet taken (the head has not passed it): unreceived (the ring is full) or being written, not ours to free.
    if (!this.previousLapTaken(pos)) return false;
    if (this.takerAlive(prev)) return false; // a receiver still reading it
    if (Atomics.compareExchange(ring, index, seq, this.freedAfter(prev, taken)) !== seq) return false;
    if (Atomics.load(this.words, this.swait) !== 0) {
      Atomics.add(this.words, this.sseq, 1);
      Atomics.notify(this.words, this.sseq);
    }
    return true;
  }

  /** Frees the slot of position `pos` once its message is read, and wakes senders if one may sleep. */
  finishRecv(pos: number): void {
    this.freeSlot(pos, true);
  }

  /**
   * Frees the slot of the taken position `pos` if its seq still says `published` (or, for a dead sender's skip,
   * claimed and unpublished), wakes senders if one may sleep, and withdraws this thread's take. Returns whether it
   * freed it. A skip that finds the message published after all frees nothing and keeps its take announced: the
   * message is this thread's to read, and `finishRecv` ends the take (withdrawn now, a sender's `reclaimDeadTake`
   * would free the slot under the read). A receiver's own free finds the slot freed already only if a reclaimer took
   * it for dead (see "Publication and freeing are compare-and-swaps"); the slot is then freed once, not twice.
   */
  private freeSlot(pos: number, published: boolean): boolean {
    const at = this.slot(pos) >> 2;
    const lap2 = this.lap2Now;
    const expected = published ? lap2 + 1 : lap2;
    const freed = Atomics.compareExchange(this.ring, at, expected, this.freedAfter(pos, lap2)) === expected;
    if (!freed && !published) return false;
    if (freed && Atomics.load(this.words, this.swait) !== 0) {
      Atomics.add(this.words, this.sseq, 1);
      // A rendezvous sender may wait for its pickup while another waits for the slot: both must look.
      Atomics.notify(this.words, this.sseq, this.rendezvous ? Infinity : 1);
    }
    // After the wake: a receiver killed between its bump and its notify is still announcing, so its reaper wakes the
    // senders. A plain store (see "Publication and freeing are compare-and-swaps").
    this.words[this.takePosWord] = 0;
    return freed;
  }

  /** Whether the message at `pos` has been claimed by a receiver (or taken back). */
  taken(pos: number): boolean {
    return Atomics.load(this.ring, this.headAt) !== pos;
  }

  /** Takes back the unreceived message at `pos` (a rendezvous sender giving up); returns whether it did. */
  retract(pos: number): boolean {
    this.announceTake(pos); // a take: this thread may die before it frees the slot
    if (Atomics.compareExchange(this.ring, this.headAt, pos, this.next(pos)) !== pos) {
      Atomics.store(this.words, this.takePosWord, 0);
      return false;
    }
    this.finishRecv(pos);
    return true;
  }

  /** Messages published or being written, and not yet claimed (exact when nothing moves). */
  pending(): number {
    const tail = Atomics.load(this.ring, this.tailAt) & this.positionMask;
    return this.diff(2 * tail, 2 * (Atomics.load(this.ring, this.headAt) & this.positionMask)) / 2;
  }

  /** Which rings the tail and the head are in, and the chain's shape (tests, diagnostics). */
  rings(): { readonly tail: number; readonly head: number; readonly last: number; readonly first: number } {
    const tail = Atomics.load(this.ring, this.tailAt) >>> this.ringShift;
    const head = Atomics.load(this.ring, this.headAt) >>> this.ringShift;
    return { tail, head, last: this.lastEpoch, first: this.ringCapacity[0]! };
  }

  sendersGone(): boolean {
    return (Atomics.load(this.words, this.flags) & SENDERS_GONE) !== 0;
  }

  receiversGone(): boolean {
    return (Atomics.load(this.words, this.flags) & RECEIVERS_GONE) !== 0;
  }

  /** Whether a receiver is registered as waiting (a rendezvous `trySend` hands off only to one). */
  receiverWaiting(): boolean {
    return Atomics.load(this.words, this.rwait) !== 0;
  }

  /** Wakes every waiter of this thread's that a local `close()` ended (they see it in their next attempt). */
  wakeAll(): void {
    wakeEveryone(this.words, this.rseq, this.sseq);
  }
}

function wakeEveryone(words: Int32Array, rseq: number, sseq: number): void {
  Atomics.add(words, rseq, 1);
  Atomics.notify(words, rseq);
  Atomics.add(words, sseq, 1);
  Atomics.notify(words, sseq);
  wakeSelectors(words);
}

function wakeSelectors(words: Int32Array): void {
  Atomics.add(words, H_SELECT_SEQ, 1);
  Atomics.notify(words, H_SELECT_SEQ);
}

/** One parked wait on a channel; `attempt` runs before each sleep and after each wake (parking/park.ts). */
abstract class ChannelWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index: number;
  expected = 0;
  /** Whether this wait added itself to its waiter count (the caller removes it: `done()`). */
  private registered = false;
  /** Whether its side's holds word records that (`recordWait`). */
  private recorded = false;
  private readonly count: number;

  constructor(
    readonly raw: RawChannel,
    readonly side: WaitingSide,
    receiving: boolean,
  ) {
    this.rt = raw.rt;
    this.id = raw.id;
    this.words = raw.words;
    this.index = receiving ? raw.rseq : raw.sseq;
    this.count = receiving ? raw.rwait : raw.swait;
  }

  attempt(): number {
    if (!this.registered) {
      // Before reading the sequence word: a publisher that misses this count published before our read.
      Atomics.add(this.words, this.count, 1);
      this.registered = true;
      this.recorded = recordWait(this.rt, this.side, ONE_WAIT);
    }
    if (this.side.closed) return CLOSED;
    this.expected = Atomics.load(this.words, this.index);
    return this.check();
  }

  protected abstract check(): number;

  /** Withdraws the wait from its waiter count. */
  done(): void {
    if (this.registered && (!this.recorded || unrecordWait(this.rt, this.side, ONE_WAIT))) Atomics.sub(this.words, this.count, 1);
    this.registered = false;
    this.recorded = false;
  }
}

/**
 * Waits for a message: a position, or DISCONNECTED once the senders are gone and the ring is drained. With `onTake`
 * (an async receiver: its claim must not outlive the task that made it, see "A receiver that dies") the message is
 * read and its slot freed by `onTake(pos)` inside the attempt that claimed it.
 */
export class RecvWait extends ChannelWait {
  constructor(
    raw: RawChannel,
    side: WaitingSide,
    readonly onTake?: (pos: number) => void,
  ) {
    super(raw, side, true);
  }
  protected check(): number {
    let pos = this.raw.claimRecvSkipping();
    if (pos < 0) {
      if (!this.raw.sendersGone()) return PARKED;
      pos = this.raw.claimRecvSkipping(); // published before the last sender went: still ours to take
      if (pos < 0) return DISCONNECTED;
    }
    this.onTake?.(pos);
    return pos;
  }
}

/**
 * Waits for a free slot: a position (claimed), or DISCONNECTED once the receivers are gone. With `claim` false (an
 * async sender, whose claim must be published in the same task) it returns ROOM instead of claiming.
 */
export class SendWait extends ChannelWait {
  constructor(
    raw: RawChannel,
    side: WaitingSide,
    readonly claim = true,
  ) {
    super(raw, side, false);
  }
  protected check(): number {
    if (this.raw.receiversGone()) return DISCONNECTED;
    if (!this.claim) return this.raw.hasRoomReclaiming() ? ROOM : PARKED;
    const pos = this.raw.claimSendReclaiming();
    return pos >= 0 ? pos : PARKED;
  }
}

/** A rendezvous sender waiting for its message at `pos` to be taken: TAKEN, or RETRACTED when the receivers went. */
export class PickupWait extends ChannelWait {
  constructor(
    raw: RawChannel,
    side: WaitingSide,
    readonly pos: number,
  ) {
    super(raw, side, false);
  }
  override attempt(): number {
    const result = super.attempt();
    // Closed locally while waiting: the message is taken back unless a receiver got it first.
    if (result === CLOSED) return this.raw.retract(this.pos) ? CLOSED : TAKEN;
    return result;
  }
  protected check(): number {
    if (this.raw.taken(this.pos)) return TAKEN;
    if (this.raw.receiversGone()) return this.raw.retract(this.pos) ? RETRACTED : TAKEN;
    return PARKED;
  }
}

/**
 * A `select`: waits until one of `raws` has a message (its index; the position claimed is in `pos`), or DISCONNECTED
 * once every one has lost its senders and is drained, or CLOSED when this thread closed one of them meanwhile.
 */
export class SelectWait implements Parkable {
  readonly rt: Runtime;
  readonly id: number;
  readonly words: Int32Array;
  readonly index = H_SELECT_SEQ;
  expected = 0;
  /** The position claimed, once `attempt` returned an index. */
  pos = -1;
  private registered = false;
  /** Which of `sides` record the registration (`recordWait`). */
  private recorded: boolean[] = [];

  /** With `onTake(index, pos)`, the message is read and its slot freed in the attempt that claimed it (see RecvWait). */
  constructor(
    readonly raws: readonly RawChannel[],
    readonly sides: readonly WaitingSide[],
    readonly onTake?: (index: number, pos: number) => void,
  ) {
    this.rt = raws[0]!.rt;
    this.id = raws[0]!.id; // published as the wait's object (dumps, deadlock detection): the first channel
    this.words = this.rt.words;
  }

  attempt(): number {
    const { raws, words } = this;
    if (!this.registered) {
      // Before reading the sleep word (see ChannelWait.attempt): C_SELECT first, so a sender that sees C_RWAIT sees it.
      raws.forEach((raw, i) => {
        Atomics.add(words, raw.select, 1);
        Atomics.add(words, raw.rwait, 1);
        this.recorded[i] = recordWait(this.rt, this.sides[i]!, ONE_WAIT + ONE_SELECT);
      });
      this.registered = true;
    }
    if (this.sides.some((side) => side.closed)) return CLOSED;
    this.expected = Atomics.load(words, H_SELECT_SEQ);
    const n = raws.length;
    const start = n === 1 ? 0 : Math.floor(Math.random() * n); // fair: no receiver is always looked at first
    let gone = 0;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      const raw = raws[i]!;
      let pos = raw.claimRecvSkipping();
      if (pos < 0 && raw.sendersGone()) {
        pos = raw.claimRecvSkipping(); // published before the last sender went
        if (pos < 0) gone++;
      }
      if (pos >= 0) {
        this.pos = pos;
        this.onTake?.(i, pos);
        return i;
      }
    }
    return gone === n ? DISCONNECTED : PARKED;
  }

  /** Withdraws the wait from every channel's counts. */
  done(): void {
    if (!this.registered) return;
    this.raws.forEach((raw, i) => {
      if (this.recorded[i] && !unrecordWait(this.rt, this.sides[i]!, ONE_WAIT + ONE_SELECT)) return; // withdrawn by a reaper
      Atomics.sub(this.words, raw.rwait, 1);
      Atomics.sub(this.words, raw.select, 1);
    });
    this.registered = false;
    this.recorded = [];
  }
}

/** A wait `parkOn` can withdraw from its counts. */
type CountedWait = Parkable & { done(): void };

/** Parks on `wait` (blocking), always withdrawing it from its waiter count. */
export function parkOn(wait: CountedWait, waitKind: number, timeoutMs: number): number {
  try {
    return park(wait, waitKind, timeoutMs);
  } finally {
    wait.done();
  }
}

/** Parks on `wait` without blocking the thread, always withdrawing it from its waiter count. */
export async function parkOnAsync(wait: CountedWait, waitKind: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<number> {
  try {
    return await parkAsync(wait, waitKind, timeoutMs, signal);
  } finally {
    wait.done();
  }
}

/** Marks the channel of side record `sideId` as having lost that side for good, and wakes everyone. */
function sideGone(rt: Runtime, sideId: number, flag: number): void {
  const words = rt.words;
  const link = Atomics.load(words, rt.objectBase(sideId) + S_CHANNEL) - 1;
  if (link < 0) return; // never linked (allocation failed half-way)
  const base = rt.objectBase(link);
  Atomics.or(words, base + C_FLAGS, flag);
  wakeEveryone(words, base + C_RSEQ, base + C_SSEQ);
  releaseRetained(rt, link); // the side's count of the channel record
}

registerKind({
  kind: ObjectKind.Channel,
  displayName: "Channel",
  holders() {}, // a channel wait is for an event (a message, room): nothing held blocks it
  isPoisoned: () => false,
  releaseDead: () => false, // nothing is held of the channel itself: its sides are counted on their own records
});

/**
 * The base of the channel record that side record `sideId` links to, if thread `threadId` announced a slot of that
 * channel in its thread record (`channelWord` naming the channel, `posWord` the position: see runtime/threads.ts);
 * else -1.
 */
function announcedChannel(rt: Runtime, sideId: number, threadId: number, channelWord: number, posWord: number): number {
  const words = rt.words;
  const link = Atomics.load(words, rt.objectBase(sideId) + S_CHANNEL) - 1;
  const thread = rt.threadBase(slotOf(threadId));
  if (link < 0 || Atomics.load(words, thread + posWord) === 0 || Atomics.load(words, thread + channelWord) !== link + 1) return -1;
  return rt.objectBase(link);
}

/**
 * Withdraws from the channel of side record `sideId` the registrations a dead thread's entry records (`holds`, its
 * holds word: see "A thread that dies waiting"): `count` is C_RWAIT or C_SWAIT.
 */
function withdrawDeadWaits(rt: Runtime, sideId: number, holds: number, count: number): void {
  const waits = holdsPayload(holds);
  if (waits === 0) return;
  const link = Atomics.load(rt.words, rt.objectBase(sideId) + S_CHANNEL) - 1;
  if (link < 0) return;
  const base = rt.objectBase(link);
  Atomics.sub(rt.words, base + count, waits & WAITS_MAX); // a select's registration counts there too
  const selects = waits >>> 12;
  if (selects > 0) Atomics.sub(rt.words, base + C_SELECT, selects);
}

/**
 * A dead sender thread: withdraws the waits it had registered, and if it announced a claim (it died between claiming
 * and publishing) wakes the channel's receivers, which skip the slot (RawChannel.skipDeadClaim) instead of waiting
 * for their next slice. Holds nothing: returns false.
 */
function deadSender(rt: Runtime, sideId: number, threadId: number, holds: number): boolean {
  withdrawDeadWaits(rt, sideId, holds, C_SWAIT);
  const base = announcedChannel(rt, sideId, threadId, T_CHANNEL_CLAIM, T_CHANNEL_POS);
  if (base < 0) return false;
  const words = rt.words;
  Atomics.add(words, base + C_RSEQ, 1);
  Atomics.notify(words, base + C_RSEQ);
  wakeSelectors(words);
  return false;
}

registerKind({
  kind: ObjectKind.ChannelSender,
  displayName: "Sender",
  holders() {},
  isPoisoned: () => false,
  releaseDead: (rt, id, threadId, holds) => deadSender(rt, id, threadId, holds),
  reclaimed: (rt, id) => sideGone(rt, id, SENDERS_GONE),
});

/**
 * A dead receiver thread: withdraws the waits it had registered, and if it announced a take (it died between taking
 * a slot and freeing it) wakes the channel's senders and receivers, whose next attempt frees the slot
 * (RawChannel.reclaimDeadTake; the ring lives in the channel's own buffer, which the reaper's thread may not have).
 * Holds nothing: returns false.
 */
function deadReceiver(rt: Runtime, sideId: number, threadId: number, holds: number): boolean {
  withdrawDeadWaits(rt, sideId, holds, C_RWAIT);
  const base = announcedChannel(rt, sideId, threadId, T_CHANNEL_TAKE, T_CHANNEL_TAKE_POS);
  if (base < 0) return false;
  wakeEveryone(rt.words, base + C_RSEQ, base + C_SSEQ);
  return false;
}

registerKind({
  kind: ObjectKind.ChannelReceiver,
  displayName: "Receiver",
  holders() {},
  isPoisoned: () => false,
  releaseDead: (rt, id, threadId, holds) => deadReceiver(rt, id, threadId, holds),
  reclaimed: (rt, id) => sideGone(rt, id, RECEIVERS_GONE),
});
