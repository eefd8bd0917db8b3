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
 * Positions run modulo `modulus` (a multiple of the capacity, below 2^29), so that the ring works for any
 * capacity, 1 included, and never overflows an Int32. With `lap = pos - pos % capacity`, a slot's `seq` is
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
export const D_CAPACITY = 2;
export const D_BOUND = 3;
export const D_MODULUS = 4;
export const D_SLOT_BYTES = 5;
/** The header's words: the ring's tag, hash, capacity, bound, modulus, slot bytes, and (compact rings) tail and head. */
const HEADER_BYTES = 32;
/**
 * Where the tail and the head (Int32 indices) and slot 0 (a byte offset) lie in a ring of `capacity` slots. A ring
 * of one slot (a rendezvous, `syncChannel(…, 1)`) keeps them together right after the header (bytes 24–31 and slot 0
 * at 32): its sender and receiver take turns on the slot anyway, and a hand-off then moves one or two cache lines
 * between them instead of three (docs/measurements.md §15; JavaScript cannot align a buffer to a line). A larger
 * ring gives the tail, the head and the slots a line each, so that senders and receivers working on different slots
 * do not slow each other down.
 */
function ringPlaces(capacity: number): { readonly tail: number; readonly head: number; readonly slots: number } {
  return capacity === 1 ? COMPACT : SPREAD;
}
const COMPACT = { tail: 6, head: 7, slots: HEADER_BYTES } as const;
const SPREAD = { tail: 16, head: 32, slots: 192 } as const; // bytes 64, 128, 192
/** Bytes before a slot's payload (its seq word and a pad that keeps the payload 8-aligned). */
export const SLOT_HEADER = 8;
/** Largest position modulus: positions and 2·positions stay non-negative Int32s. */
const MODULUS_LIMIT = 2 ** 29;

/** The position modulus of a ring of `capacity` slots. */
export function modulusFor(capacity: number): number {
  return capacity * Math.floor(MODULUS_LIMIT / capacity);
}

/** The bytes a data buffer needs for `capacity` slots of `slotBytes` each. */
export function ringBytes(capacity: number, slotBytes: number): number {
  return ringPlaces(capacity).slots + capacity * slotBytes;
}

/** Writes the ring's header and free slots into a fresh data buffer (tag and hash are already there). */
export function initRing(data: SharedArrayBuffer, capacity: number, bound: number, slotBytes: number): void {
  const words = new Int32Array(data);
  words[D_CAPACITY] = capacity;
  words[D_BOUND] = bound;
  words[D_MODULUS] = modulusFor(capacity);
  words[D_SLOT_BYTES] = slotBytes;
  // Slots need no writing: a slot's seq is stored relative to its index (see the module comment), so zeroed
  // memory is a ring of free slots, and the pages of a large ring are not touched before messages reach them.
}

/** Why `data` cannot be a ring (a forged or corrupted handle), or undefined. */
export function ringProblem(data: SharedArrayBuffer, payloadBytes: number): string | undefined {
  if (data.byteLength < HEADER_BYTES || data.byteLength % 8 !== 0) return `its data buffer (${data.byteLength} bytes) is not a channel's`;
  const words = new Int32Array(data, 0, HEADER_BYTES >> 2);
  const capacity = words[D_CAPACITY]!;
  const bound = words[D_BOUND]!;
  const slotBytes = words[D_SLOT_BYTES]!;
  if (!(capacity >= 1) || !(bound === 0 ? capacity === 1 : bound === capacity)) return "its ring header is corrupted (capacity)";
  if (words[D_MODULUS] !== modulusFor(capacity)) return "its ring header is corrupted (modulus)";
  if (slotBytes % 8 !== 0 || slotBytes < SLOT_HEADER + payloadBytes) return "its ring header is corrupted (slot size)";
  if (ringBytes(capacity, slotBytes) !== data.byteLength) return "its data buffer does not match its ring header";
  return undefined;
}

/** What a wait's `attempt` returns beside a position (positions are below MODULUS_LIMIT). */
export const DISCONNECTED = MODULUS_LIMIT;
/** This thread closed its side while the wait was pending. */
export const CLOSED = MODULUS_LIMIT + 1;
/** A rendezvous message was taken by a receiver. */
export const TAKEN = 0;
/** A rendezvous message was taken back by its sender (no receiver took it). */
export const RETRACTED = 1;
/** A send wait that does not claim (async: the claim must come in the same task as the publication) saw room. */
export const ROOM = MODULUS_LIMIT + 2;
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
  /** The ring's words (its data buffer). */
  readonly ring: Int32Array;
  readonly capacity: number;
  /** 0 for a rendezvous, else the capacity. */
  readonly bound: number;
  readonly rendezvous: boolean;
  readonly modulus: number;
  readonly slotBytes: number;
  /** `capacity - 1` when the capacity is a power of two (a slot index is then a mask, not a division), else -1. */
  private readonly mask: number;
  /** The ring's tail and head (Int32 indices) and its slot 0 (a byte offset): `ringPlaces`. */
  private readonly tailAt: number;
  private readonly headAt: number;
  private readonly slotsAt: number;
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
    this.capacity = this.ring[D_CAPACITY]!;
    const places = ringPlaces(this.capacity);
    this.tailAt = places.tail;
    this.headAt = places.head;
    this.slotsAt = places.slots;
    this.bound = this.ring[D_BOUND]!;
    this.rendezvous = this.bound === 0;
    this.modulus = this.ring[D_MODULUS]!;
    this.slotBytes = this.ring[D_SLOT_BYTES]!;
    this.mask = (this.capacity & (this.capacity - 1)) === 0 ? this.capacity - 1 : -1;
    this.span = 2 * this.modulus;
    const thread = rt.threadBase(slotOf(threadId));
    this.claimWord = thread + T_CHANNEL_CLAIM;
    this.claimPosWord = thread + T_CHANNEL_POS;
    this.takeWord = thread + T_CHANNEL_TAKE;
    this.takePosWord = thread + T_CHANNEL_TAKE_POS;
  }

  /** The index of position `pos`'s slot (every message costs a few: a mask where the capacity allows). */
  private slotIndex(pos: number): number {
    return this.mask >= 0 ? pos & this.mask : pos % this.capacity;
  }

  /** The Int32 index of the seq word of position `pos`'s slot. */
  seqIndex(pos: number): number {
    return (this.slotsAt + this.slotIndex(pos) * this.slotBytes) >> 2;
  }

  /** The byte offset of position `pos`'s payload. */
  payloadOffset(pos: number): number {
    return this.slotsAt + this.slotIndex(pos) * this.slotBytes + SLOT_HEADER;
  }

  /** `a - b` modulo `2·modulus`, as a signed difference. */
  private diff(a: number, b: number): number {
    const span = this.span;
    let d = (a - b) % span;
    if (d > this.modulus) d -= span;
    else if (d < -this.modulus) d += span;
    return d;
  }

  private next(pos: number): number {
    return pos + 1 === this.modulus ? 0 : pos + 1;
  }

  /** Twice the first position of `pos`'s lap: the stored seq of its slot while free for it. */
  private lap2(pos: number): number {
    return 2 * (pos - this.slotIndex(pos));
  }

  /** The seq of position `pos`'s slot once its message is taken: free for the next lap (`lap2 < span`). */
  private freedSeq(pos: number): number {
    const seq = this.lap2(pos) + 2 * this.capacity;
    return seq >= this.span ? seq - this.span : seq;
  }

  /** Claims the next free slot for a message; returns its position, or -1 when the ring is full. */
  claimSend(): number {
    const ring = this.ring;
    for (;;) {
      const pos = Atomics.load(ring, this.tailAt);
      const index = this.slotIndex(pos);
      const lap2 = 2 * (pos - index);
      const seq = Atomics.load(ring, (this.slotsAt + index * this.slotBytes) >> 2);
      const d = seq === lap2 ? 0 : this.diff(seq, lap2);
      if (d === 0) {
        // Announced before the claim (plain stores: the compare-and-swap orders them before it).
        this.words[this.claimWord] = this.id + 1;
        this.words[this.claimPosWord] = pos + 1;
        if (Atomics.compareExchange(ring, this.tailAt, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        this.words[this.claimPosWord] = 0; // a failed claim's announcement must not outlive it (we may park)
        return -1; // the slot still holds the message of the previous lap: full
      }
      // else another sender claimed it meanwhile: look again
    }
  }

  /** Whether the slot at `tail` looks free (a sender that may not claim yet looks before it tries). */
  hasRoom(): boolean {
    const pos = Atomics.load(this.ring, this.tailAt);
    const lap2 = this.lap2(pos);
    const seq = Atomics.load(this.ring, this.seqIndex(pos));
    return seq === lap2 || this.diff(seq, lap2) > 0;
  }

  /**
   * Publishes the message written at `pos`, and wakes a receiver if one may sleep. Returns false, having published
   * nothing, when a receiver skipped the position meanwhile as a dead sender's (see "Publication and freeing are
   * compare-and-swaps"): the caller claims another position and writes the message again.
   */
  publishSend(pos: number): boolean {
    const claimed = this.lap2(pos);
    if (Atomics.compareExchange(this.ring, this.seqIndex(pos), claimed, claimed + 1) !== claimed) {
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
      const index = this.slotIndex(pos);
      const ready = 2 * (pos - index) + 1;
      const seq = Atomics.load(ring, (this.slotsAt + index * this.slotBytes) >> 2);
      const d = seq === ready ? 0 : this.diff(seq, ready);
      if (d === 0) {
        // Announced before the claim (plain stores: the compare-and-swap orders them before it).
        this.words[this.takeWord] = this.id + 1;
        this.words[this.takePosWord] = pos + 1;
        if (Atomics.compareExchange(ring, this.headAt, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        this.words[this.takePosWord] = 0; // a lost claim's announcement must not outlive it (we may park)
        return -1; // free, or claimed by a sender that is still writing: nothing to take yet
      }
    }
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
    const free = this.lap2(pos);
    if (Atomics.load(ring, this.seqIndex(pos)) !== free) return NO_SKIP; // published, or the last lap's being read
    if (Atomics.load(ring, this.tailAt) === pos) return NO_SKIP; // nobody claimed it: empty
    if (this.claimerAlive(pos)) return NO_SKIP; // a sender still writing it
    // A take like any other (see "A receiver that dies"): this thread may die before it frees the slot.
    this.announceTake(pos);
    if (Atomics.compareExchange(ring, this.headAt, pos, this.next(pos)) !== pos) {
      this.words[this.takePosWord] = 0;
      return LOOK_AGAIN;
    }
    // The position is ours now. Free it unread, unless its claimer published after all (between our look at the slot
    // and our scan, then withdrew its announcement): then it is a message to take.
    if (!this.freeSlot(pos, free)) return pos;
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
    if (pos >= 0 || !this.reclaimDeadTake(Atomics.load(this.ring, this.tailAt))) return pos;
    return this.claimSend();
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
   * Frees the slot that position `pos` needs (`pos` is the tail or the head) if the message of its previous lap was
   * taken (the head moved past it) by a thread that died before freeing it, or by a receiver that died skipping a dead
   * sender's slot. Returns whether it freed it. The message that thread took is gone with it: it had been received.
   * A "no live taker" is exact (a taker announces before it claims and withdraws after it frees); a compare-and-swap
   * frees the slot, so a taker that freed it meanwhile, or another thread that reclaimed it first, is never undone.
   */
  reclaimDeadTake(pos: number): boolean {
    const ring = this.ring;
    const capacity = this.capacity;
    const prev = pos >= capacity ? pos - capacity : pos - capacity + this.modulus;
    const taken = this.lap2(prev);
    const index = this.seqIndex(pos);
    const seq = Atomics.load(ring, index);
    if (seq !== taken + 1 && seq !== taken) return false; // free for `pos` (or published for it): nothing held
    // Not yet taken (the head has not passed it): unreceived (the ring is full) or being written, not ours to free.
    if (this.diff(2 * Atomics.load(ring, this.headAt), 2 * prev) <= 0) return false;
    if (this.takerAlive(prev)) return false; // a receiver still reading it
    if (Atomics.compareExchange(ring, index, seq, this.freedSeq(prev)) !== seq) return false;
    if (Atomics.load(this.words, this.swait) !== 0) {
      Atomics.add(this.words, this.sseq, 1);
      Atomics.notify(this.words, this.sseq);
    }
    return true;
  }

  /** Frees the slot of position `pos` once its message is read, and wakes senders if one may sleep. */
  finishRecv(pos: number): void {
    this.freeSlot(pos, this.lap2(pos) + 1);
  }

  /**
   * Frees the slot of the taken position `pos` if its seq is still `expected` (published, or claimed and unpublished
   * for a dead sender's skip), wakes senders if one may sleep, and withdraws this thread's take. Returns whether it
   * freed it. A skip that finds the message published after all frees nothing and keeps its take announced: the
   * message is this thread's to read, and `finishRecv` ends the take (withdrawn now, a sender's `reclaimDeadTake`
   * would free the slot under the read). A receiver's own free finds the slot freed already only if a reclaimer took
   * it for dead (see "Publication and freeing are compare-and-swaps"); the slot is then freed once, not twice.
   */
  private freeSlot(pos: number, expected: number): boolean {
    const freed = Atomics.compareExchange(this.ring, this.seqIndex(pos), expected, this.freedSeq(pos)) === expected;
    if (!freed && expected === this.lap2(pos)) return false;
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
    const d = this.diff(2 * Atomics.load(this.ring, this.tailAt), 2 * Atomics.load(this.ring, this.headAt));
    return d / 2;
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
