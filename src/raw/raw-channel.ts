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
 */

import { ObjectKind, registerKind } from "../runtime/kinds.js";
import { O_AUX, O_STATE } from "../runtime/objects.js";
import { releaseRetained } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { PARKED, park, parkAsync, type Parkable } from "../parking/park.js";

// ## Channel record words (offsets in the object record)
export const C_RSEQ = O_STATE;
export const C_SSEQ = O_AUX;
export const C_RWAIT = O_AUX + 1;
export const C_SWAIT = O_AUX + 2;
export const C_FLAGS = O_AUX + 3;
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
const D_TAIL = 16; // byte 64: its own cache line
const D_HEAD = 32; // byte 128
/** Byte offset of slot 0. */
export const SLOTS_OFFSET = 192;
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
  return SLOTS_OFFSET + capacity * slotBytes;
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
  if (data.byteLength < SLOTS_OFFSET || data.byteLength % 8 !== 0) return `its data buffer (${data.byteLength} bytes) is not a channel's`;
  const words = new Int32Array(data, 0, SLOTS_OFFSET >> 2);
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

/** Something a local `close()` can end: a wait checks it on every attempt. */
export interface Closable {
  closed: boolean;
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
  /** The ring's words (its data buffer). */
  readonly ring: Int32Array;
  readonly capacity: number;
  /** 0 for a rendezvous, else the capacity. */
  readonly bound: number;
  readonly rendezvous: boolean;
  readonly modulus: number;
  readonly slotBytes: number;

  constructor(rt: Runtime, id: number, data: SharedArrayBuffer) {
    this.rt = rt;
    this.id = id;
    this.words = rt.words;
    const base = rt.objectBase(id);
    this.rseq = base + C_RSEQ;
    this.sseq = base + C_SSEQ;
    this.rwait = base + C_RWAIT;
    this.swait = base + C_SWAIT;
    this.flags = base + C_FLAGS;
    this.ring = new Int32Array(data);
    this.capacity = this.ring[D_CAPACITY]!;
    this.bound = this.ring[D_BOUND]!;
    this.rendezvous = this.bound === 0;
    this.modulus = this.ring[D_MODULUS]!;
    this.slotBytes = this.ring[D_SLOT_BYTES]!;
  }

  /** The Int32 index of the seq word of position `pos`'s slot. */
  seqIndex(pos: number): number {
    return (SLOTS_OFFSET + (pos % this.capacity) * this.slotBytes) >> 2;
  }

  /** The byte offset of position `pos`'s payload. */
  payloadOffset(pos: number): number {
    return SLOTS_OFFSET + (pos % this.capacity) * this.slotBytes + SLOT_HEADER;
  }

  /** `a - b` modulo `2·modulus`, as a signed difference. */
  private diff(a: number, b: number): number {
    const span = 2 * this.modulus;
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
    return 2 * (pos - (pos % this.capacity));
  }

  /** Claims the next free slot for a message; returns its position, or -1 when the ring is full. */
  claimSend(): number {
    const ring = this.ring;
    for (;;) {
      const pos = Atomics.load(ring, D_TAIL);
      const lap2 = this.lap2(pos);
      const seq = Atomics.load(ring, this.seqIndex(pos));
      const d = seq === lap2 ? 0 : this.diff(seq, lap2);
      if (d === 0) {
        if (Atomics.compareExchange(ring, D_TAIL, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        return -1; // the slot still holds the message of the previous lap: full
      }
      // else another sender claimed it meanwhile: look again
    }
  }

  /** Publishes the message written at `pos`, and wakes a receiver if one may sleep. */
  publishSend(pos: number): void {
    Atomics.store(this.ring, this.seqIndex(pos), this.lap2(pos) + 1);
    if (Atomics.load(this.words, this.rwait) !== 0) {
      Atomics.add(this.words, this.rseq, 1);
      Atomics.notify(this.words, this.rseq, 1);
    }
  }

  /** Claims the oldest published message; returns its position, or -1 when there is none. */
  claimRecv(): number {
    const ring = this.ring;
    for (;;) {
      const pos = Atomics.load(ring, D_HEAD);
      const ready = this.lap2(pos) + 1;
      const seq = Atomics.load(ring, this.seqIndex(pos));
      const d = seq === ready ? 0 : this.diff(seq, ready);
      if (d === 0) {
        if (Atomics.compareExchange(ring, D_HEAD, pos, this.next(pos)) === pos) return pos;
      } else if (d < 0) {
        return -1; // free, or claimed by a sender that is still writing: nothing to take yet
      }
    }
  }

  /** Frees the slot of position `pos` once its message is read, and wakes senders if one may sleep. */
  finishRecv(pos: number): void {
    Atomics.store(this.ring, this.seqIndex(pos), (this.lap2(pos) + 2 * this.capacity) % (2 * this.modulus));
    if (Atomics.load(this.words, this.swait) !== 0) {
      Atomics.add(this.words, this.sseq, 1);
      // A rendezvous sender may wait for its pickup while another waits for the slot: both must look.
      Atomics.notify(this.words, this.sseq, this.rendezvous ? Infinity : 1);
    }
  }

  /** Whether the message at `pos` has been claimed by a receiver (or taken back). */
  taken(pos: number): boolean {
    return Atomics.load(this.ring, D_HEAD) !== pos;
  }

  /** Takes back the unreceived message at `pos` (a rendezvous sender giving up); returns whether it did. */
  retract(pos: number): boolean {
    if (Atomics.compareExchange(this.ring, D_HEAD, pos, this.next(pos)) !== pos) return false;
    this.finishRecv(pos);
    return true;
  }

  /** Messages published or being written, and not yet claimed (exact when nothing moves). */
  pending(): number {
    const d = this.diff(2 * Atomics.load(this.ring, D_TAIL), 2 * Atomics.load(this.ring, D_HEAD));
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
  private readonly count: number;

  constructor(
    readonly raw: RawChannel,
    readonly side: Closable,
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
    }
    if (this.side.closed) return CLOSED;
    this.expected = Atomics.load(this.words, this.index);
    return this.check();
  }

  protected abstract check(): number;

  /** Withdraws the wait from its waiter count. */
  done(): void {
    if (this.registered) Atomics.sub(this.words, this.count, 1);
    this.registered = false;
  }
}

/** Waits for a message: a position, or DISCONNECTED once the senders are gone and the ring is drained. */
export class RecvWait extends ChannelWait {
  constructor(raw: RawChannel, side: Closable) {
    super(raw, side, true);
  }
  protected check(): number {
    const pos = this.raw.claimRecv();
    if (pos >= 0) return pos;
    if (!this.raw.sendersGone()) return PARKED;
    const last = this.raw.claimRecv(); // published before the last sender went: still ours to take
    return last >= 0 ? last : DISCONNECTED;
  }
}

/** Waits for a free slot: a position (claimed), or DISCONNECTED once the receivers are gone. */
export class SendWait extends ChannelWait {
  constructor(raw: RawChannel, side: Closable) {
    super(raw, side, false);
  }
  protected check(): number {
    if (this.raw.receiversGone()) return DISCONNECTED;
    const pos = this.raw.claimSend();
    return pos >= 0 ? pos : PARKED;
  }
}

/** A rendezvous sender waiting for its message at `pos` to be taken: TAKEN, or RETRACTED when the receivers went. */
export class PickupWait extends ChannelWait {
  constructor(
    raw: RawChannel,
    side: Closable,
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

/** Parks on `wait` (blocking), always withdrawing it from its waiter count. */
export function parkOn(wait: ChannelWait, waitKind: number, timeoutMs: number): number {
  try {
    return park(wait, waitKind, timeoutMs);
  } finally {
    wait.done();
  }
}

/** Parks on `wait` without blocking the thread, always withdrawing it from its waiter count. */
export async function parkOnAsync(wait: ChannelWait, waitKind: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<number> {
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

registerKind({
  kind: ObjectKind.ChannelSender,
  displayName: "Sender",
  holders() {},
  isPoisoned: () => false,
  releaseDead: () => false,
  reclaimed: (rt, id) => sideGone(rt, id, SENDERS_GONE),
});

registerKind({
  kind: ObjectKind.ChannelReceiver,
  displayName: "Receiver",
  holders() {},
  isPoisoned: () => false,
  releaseDead: () => false,
  reclaimed: (rt, id) => sideGone(rt, id, RECEIVERS_GONE),
});
