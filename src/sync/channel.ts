/**
 * Channels: `channel(layout, { maxBytes })` and `syncChannel(layout, bound)` give a `[Sender, Receiver]` pair over a
 * ring in shared memory (raw/channel.ts), multi-producer and multi-consumer, typed by a layout. Messages are written
 * straight into the ring through the layout (no structured clone) and read back as plain copies.
 *
 * A side's lifetime is the lifetime of a shared object: each thread that has a `Sender` counts once on the
 * channel's sender record, like Rust's sender count (DESIGN §1b). `close()` ends this thread's count at once; a
 * collected `Sender`, or the end of its thread (return, throw, exit, terminate), ends it too. When no count is left,
 * receivers drain what is left and then get `RecvError`; with no receiver left, `send` throws `SendError`.
 */

import { RecvError, SendError } from "../errors.js";
import { dataViews, type DataViews } from "../layout/index.js";
import type { BaseLayout } from "../layout/internal.js";
import { located } from "../layout/internal.js";
import type { Layout } from "../layout/layout.js";
import type { Assignable, Snapshot } from "../layout/types.js";
import { layoutFromDescriptor } from "../layout/index.js";
import { POLL_AGAIN, POLL_STOP, spin } from "../parking/spin.js";
import { now, pause, requireSharedMemory } from "../platform/index.js";
import {
  CLOSED,
  DISCONNECTED,
  PickupWait,
  RETRACTED,
  RawChannel,
  RecvWait,
  S_CHANNEL,
  S_CHANNEL_GENERATION,
  SLOT_HEADER,
  SelectWait,
  SendWait,
  type RingShape,
  type WaitingSide,
  boundedRing,
  growingRings,
  initRing,
  parkOn,
  parkOnAsync,
  ringBytes,
  ringProblem,
} from "../raw/raw-channel.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { ObjectKind, WaitKind } from "../runtime/kinds.js";
import { allocateObject, countArrived, countNew, generationOfObject, holdsIndex, isLiveObject, releaseRetained, uncount } from "../runtime/lifetime.js";
import { O_REFS } from "../runtime/objects.js";
import type { Runtime } from "../runtime/runtime.js";
import { layoutHash, newDataTag } from "./data.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `send`/`recv`: `{ timeout }` in ms (`Infinity`, the default, waits forever). */
export type ChannelOptions = LockOptions;
/** Options of `sendAsync`/`recvAsync`: `{ timeout, signal }`. */
export type ChannelAsyncOptions = LockAsyncOptions;

/** Options of `syncChannel(layout, bound, options)`. */
export interface SyncChannelOptions {
  /** Appears in errors, reports and `dumpLocks()` (at most 256 UTF-8 bytes). Default: `Channel#<id>`. */
  readonly name?: string;
}

/** Options of `channel(layout, options)`. */
export interface ChannelCreateOptions extends SyncChannelOptions {
  /**
   * Most bytes of shared memory the channel's messages may take (each message takes its layout's size plus 8
   * bytes, rounded up to 8). Default: 8 MiB. The channel grows in rings that double, from at most 4 KiB, as its
   * backlog needs them; `send` waits once the last ring that fits `maxBytes` is full. The memory is reserved up
   * front and touched only as rings come into use: a channel whose backlog stays small stays small.
   */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
/** Largest ring: positions must stay far below the ring's position modulus (raw/channel.ts). */
const MAX_CAPACITY = 1 << 24;
/**
 * How long a rendezvous `trySend` waits for a waiting receiver that is not (yet) published as blocked in `recv` to
 * take its message, in ms (a blocked one it waits for: see `trySend`).
 */
const TRY_HANDOFF_MS = 2;
/**
 * The longest a rendezvous `trySend` waits for a receiver published as blocked in `recv` to take its message, in ms:
 * a guard against a receiver that is listed as blocked but does not run (stopped in a debugger, or a raw worker
 * terminated without `watch`, which nobody declares dead); a woken receiver takes it in µs, or in a few ms on a loaded
 * machine.
 */
const TRY_HANDOFF_BLOCKED_MS = 100;

/** What a thread keeps of a channel: the ring and the layout its messages are written with. */
interface ChannelCore<T> {
  readonly raw: RawChannel;
  readonly layout: BaseLayout<T>;
  readonly views: DataViews;
  readonly data: SharedArrayBuffer;
  readonly name: string;
}

/** What one thread keeps of one side: its collection (or `close()`) ends the thread's count of that side. */
interface SideCore<T> extends WaitingSide {
  readonly rt: Runtime;
  /** The side's record (ChannelSender or ChannelReceiver). */
  readonly id: number;
  readonly channel: ChannelCore<T>;
  /** Set by `close()`: pending waits of this thread end, and the side can no longer be used. */
  closed: boolean;
}

/** A side's core before this thread counts it (`counted` sets where its waits are recorded). */
function sideCore<T>(rt: Runtime, id: number, channel: ChannelCore<T>): SideCore<T> {
  return { rt, id, channel, closed: false, holdsAt: -1, waits: 0 };
}

/** `core` once this thread counts its side with reference entry `entry` (runtime/lifetime.ts). */
function counted<T>(core: SideCore<T>, entry: number): SideCore<T> {
  core.holdsAt = holdsIndex(core.rt, entry);
  return core;
}

/** Reaches the per-thread core of a side (sharing); not exported from the package. */
let senderCoreOf: <T>(sender: Sender<T>) => SideCore<T>; // private fields read through static blocks
let receiverCoreOf: <T>(receiver: Receiver<T>) => SideCore<T>;

/** Set by the factories and revivals for the constructor call they make (private fields need the constructor). */
let reviving: SideCore<unknown> | undefined;

function takeReviving<T>(what: string): SideCore<T> {
  const core = reviving;
  reviving = undefined;
  if (!core) throw new TypeError(`threadsafe: a ${what} comes from channel(layout) or syncChannel(layout, bound); it cannot be constructed`);
  return core as SideCore<T>;
}

function closedError(kind: string, name: string, method: string): Error {
  return new Error(`threadsafe: ${method}: this thread closed its ${kind} of channel "${name}" (close() drops it, as Rust's drop does)`);
}

/** Validates `value` against the layout and returns what `store` writes, before anything is claimed. */
function prepareValue<T>(layout: BaseLayout<T>, value: unknown): unknown {
  try {
    return layout.prepare(value);
  } catch (error) {
    throw located(error, "value");
  }
}

function disconnectedSend<T>(core: SideCore<T>, value: unknown): SendError<unknown> {
  return new SendError(
    `threadsafe: sending on channel "${core.channel.name}": every Receiver is gone (closed, collected, or its thread ended), so the message could never be received; it is in .value`,
    value,
  );
}

function disconnectedRecv<T>(core: SideCore<T>): RecvError {
  return new RecvError(
    `threadsafe: receiving on channel "${core.channel.name}": every Sender is gone (closed, collected, or its thread ended) and every message sent has been received`,
  );
}

/** The time left of a wait that started at `start`. */
function left(timeoutMs: number, start: number): number {
  return timeoutMs === Infinity ? Infinity : Math.max(0, timeoutMs - (now() - start));
}

/**
 * The sending side of a channel. Each thread that has a `Sender` counts as one sender; when every sender is gone
 * (closed, garbage-collected, or its thread ended), receivers drain the channel and then get `RecvError`.
 * Share it with `spawn` arguments or `share`/`receive`.
 *
 * @example
 * import { syncChannel, spawn, i32 } from "threadsafe";
 * const [tx, rx] = syncChannel(i32, 16);
 * const producer = spawn((tx) => { for (let i = 0; i < 3; i++) tx.send(i); }, [tx]);
 * tx.close();                       // only the producer sends: drop this thread's Sender
 * for (const n of rx) console.log(n); // 0 1 2, then the loop ends (the producer's thread ended)
 * await producer.join();
 */
export class Sender<T> implements SharedObject {
  readonly #core: SideCore<T>;

  /** @internal Senders come from `channel()` and `syncChannel()`. */
  constructor() {
    this.#core = takeReviving<T>("Sender");
  }

  /** The channel's name in reports. */
  get name(): string {
    return this.#core.channel.name;
  }

  /**
   * Sends `value`, blocking while the channel is full (for a rendezvous, `syncChannel(layout, 0)`, until a
   * receiver takes it). The value is checked against the layout before anything is written.
   * @throws SendError (with `.value`) when every Receiver is gone; TimeoutError; TypeError or RangeError for a
   *   value that does not fit; DeadlockError; Error where this thread may not block (use `sendAsync`).
   */
  send(value: Assignable<T>, options?: ChannelOptions): void {
    const core = this.#core;
    if (core.closed) throw closedError("Sender", core.channel.name, "send");
    const timeout = options === undefined ? Infinity : timeoutOf(options, "send");
    const { raw, layout, views } = core.channel;
    const prepared = prepareValue(layout, value);
    if (raw.receiversGone()) throw disconnectedSend(core, value);
    let pos = raw.claimSend();
    const start = timeout === Infinity ? 0 : now(); // a send without timeout needs no start time
    for (;;) {
      if (pos < 0) pos = waitForRoom(core, value, timeout, start);
      layout.store(views, raw.payloadOffset(pos), prepared);
      if (raw.publishSend(pos)) break;
      pos = raw.claimSend(); // skipped as a dead sender's position (raw-channel.ts): nothing was sent, so again
    }
    if (raw.rendezvous) waitForPickup(core, value, pos, timeout, start);
  }

  /**
   * Sends `value` if there is room right now (for a rendezvous: if a receiver is waiting and takes it); returns
   * whether it was sent. Never waits for room. On a rendezvous, a receiver blocked in `recv` always takes the message
   * (this call waits for its thread to run, up to 100 ms); any other waiting receiver gets 2 ms before the message
   * is taken back.
   * @throws SendError when every Receiver is gone; TypeError or RangeError for a value that does not fit.
   */
  trySend(value: Assignable<T>): boolean {
    const core = this.#core;
    if (core.closed) throw closedError("Sender", core.channel.name, "trySend");
    const { raw, layout, views } = core.channel;
    const prepared = prepareValue(layout, value);
    if (raw.receiversGone()) throw disconnectedSend(core, value);
    if (raw.rendezvous && !raw.receiverWaiting()) return false;
    const pos = raw.claimSendReclaiming(); // full: perhaps only because a receiver died holding a slot
    if (pos < 0) return false;
    layout.store(views, raw.payloadOffset(pos), prepared);
    if (!raw.publishSend(pos)) return false; // skipped as a dead sender's position (raw-channel.ts): not sent
    if (!raw.rendezvous) return true;
    // A receiver was waiting: the message is its to take. One blocked in `recv` takes it as soon as its thread runs,
    // however loaded the machine (so the hand-off does not fail under load, as std's does not); any other (an async
    // receiver) gets a moment, else the message is taken back.
    const start = now();
    let nudged = false;
    while (!raw.taken(pos)) {
      const waited = now() - start;
      const late = waited > TRY_HANDOFF_MS;
      const blocked = late && raw.receiverBlocked();
      if (raw.receiversGone() || !raw.receiverWaiting() || (late && !blocked) || waited > TRY_HANDOFF_BLOCKED_MS) {
        if (!raw.retract(pos)) break; // taken meanwhile
        if (raw.receiversGone()) throw disconnectedSend(core, value);
        return false;
      }
      if (blocked && !nudged) {
        // The publication woke one waiter, perhaps an async one whose thread is busy (this very thread, even): wake
        // them all, so that the blocked receiver looks.
        raw.wakeAll();
        nudged = true;
      }
      pause();
    }
    return true;
  }

  /**
   * Sends `value` without blocking the thread: waits for room (or, for a rendezvous, for a receiver to take it)
   * with the event loop free, and keeps the thread alive meanwhile.
   * @throws (rejects with) SendError, TimeoutError, the signal's reason when aborted; TypeError or RangeError for
   *   a value that does not fit (before anything is written).
   */
  async sendAsync(value: Assignable<T>, options?: ChannelAsyncOptions): Promise<void> {
    const core = this.#core;
    if (core.closed) throw closedError("Sender", core.channel.name, "sendAsync");
    const timeout = timeoutOf(options, "sendAsync");
    const signal = signalOf(options, "sendAsync");
    const { raw, layout, views } = core.channel;
    const prepared = prepareValue(layout, value);
    if (signal?.aborted) throw signal.reason;
    if (raw.receiversGone()) throw disconnectedSend(core, value);
    const start = now();
    let pos: number;
    do {
      pos = raw.claimSend();
      while (pos < 0) {
        // The wait only looks for room: a claim made in it would be published a task later, and a claim must never
        // wait across tasks (another send of this thread would replace its announcement; see raw/raw-channel.ts).
        const result = await parkOnAsync(new SendWait(raw, core, false), WaitKind.Send, left(timeout, start), signal);
        if (result === DISCONNECTED || raw.receiversGone()) throw disconnectedSend(core, value);
        if (result === CLOSED || core.closed) throw closedError("Sender", core.channel.name, "sendAsync");
        pos = raw.claimSend();
      }
      layout.store(views, raw.payloadOffset(pos), prepared);
    } while (!raw.publishSend(pos)); // skipped as a dead sender's position (raw-channel.ts): nothing was sent, so again
    if (!raw.rendezvous) return;
    let result: number;
    try {
      result = await parkOnAsync(new PickupWait(raw, core, pos), WaitKind.Send, left(timeout, start), signal);
    } catch (error) {
      if (raw.retract(pos)) throw error;
      return; // a receiver took it as the wait gave up: it was sent
    }
    if (result === RETRACTED) throw disconnectedSend(core, value);
    if (result === CLOSED) throw closedError("Sender", core.channel.name, "sendAsync");
  }

  /**
   * Drops this thread's Sender (Rust's `drop(tx)`): once no thread has a Sender, receivers drain the channel and
   * then get `RecvError`. This object (in this thread) can no longer be used or shared; a pending `sendAsync` of
   * this thread rejects. Closing twice is harmless.
   */
  close(): void {
    closeSide(this.#core);
  }

  /** @returns where this Sender lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    const core = this.#core;
    if (core.closed) throw closedError("Sender", core.channel.name, "share");
    return { rt: core.rt, id: core.id, kind: ObjectKind.ChannelSender };
  }

  static {
    senderCoreOf = (sender) => sender.#core;
  }
}

/**
 * The receiving side of a channel. Each thread that has a `Receiver` counts as one receiver; when every receiver
 * is gone, `send` throws `SendError`. Iterable (sync and async): the loop ends once every sender is gone and the
 * channel is drained.
 *
 * A receiving thread terminated in the middle of a receive never blocks the channel; the one message it had taken is
 * lost with it (it was received, by a thread that died). While receivers live, a message arrives exactly once or
 * `send` threw.
 *
 * @example
 * const [tx, rx] = channel(struct({ id: i32, x: f64 }));
 * tx.send({ id: 1, x: 0.5 });
 * rx.recv();             // { id: 1, x: 0.5 } (a plain copy)
 * rx.tryRecv();          // undefined: nothing waiting
 * for await (const msg of rx) handle(msg); // ends when the senders are gone and the channel is drained
 */
export class Receiver<T> implements SharedObject {
  readonly #core: SideCore<T>;

  /** @internal Receivers come from `channel()` and `syncChannel()`. */
  constructor() {
    this.#core = takeReviving<T>("Receiver");
  }

  /** The channel's name in reports. */
  get name(): string {
    return this.#core.channel.name;
  }

  /**
   * Takes the next message (a plain copy), blocking until one arrives.
   * @throws RecvError once every Sender is gone and the channel is drained; TimeoutError; DeadlockError; Error where
   *   this thread may not block (use `recvAsync`).
   */
  recv(options?: ChannelOptions): Snapshot<T> {
    const core = this.#core;
    if (core.closed) throw closedError("Receiver", core.channel.name, "recv");
    const { raw } = core.channel;
    let pos = raw.claimRecv();
    if (pos < 0) pos = waitForMessage(core, options === undefined ? Infinity : timeoutOf(options, "recv"));
    return take(core.channel, pos);
  }

  /**
   * Takes the next message if one is there right now, else returns `undefined`.
   * @throws RecvError once every Sender is gone and the channel is drained.
   */
  tryRecv(): Snapshot<T> | undefined {
    const core = this.#core;
    if (core.closed) throw closedError("Receiver", core.channel.name, "tryRecv");
    const { raw } = core.channel;
    let pos = raw.claimRecv();
    if (pos < 0) {
      pos = raw.claimRecvSkipping(); // past a slot whose sender died before publishing it, if that is what blocks
      if (pos >= 0) return take(core.channel, pos);
      if (!raw.sendersGone()) return undefined;
      pos = raw.claimRecvSkipping(); // sent before the last sender went
      if (pos < 0) throw disconnectedRecv(core);
    }
    return take(core.channel, pos);
  }

  /**
   * Takes the next message without blocking the thread (the event loop stays free; the thread stays alive while
   * it waits).
   * @throws (rejects with) RecvError, TimeoutError, or the signal's reason when aborted.
   */
  async recvAsync(options?: ChannelAsyncOptions): Promise<Snapshot<T>> {
    const core = this.#core;
    if (core.closed) throw closedError("Receiver", core.channel.name, "recvAsync");
    const timeout = timeoutOf(options, "recvAsync");
    const signal = signalOf(options, "recvAsync");
    if (signal?.aborted) throw signal.reason;
    const { raw } = core.channel;
    const pos = raw.claimRecv();
    if (pos >= 0) return take(core.channel, pos);
    // The wait reads the message in the attempt that claims it: a claim held across tasks could be replaced by
    // another receive of this thread (one announcement per thread), and a kill meanwhile would strand the slot.
    const taken: { value?: Snapshot<T> } = {};
    const result = await parkOnAsync(
      new RecvWait(raw, core, (claimed) => (taken.value = take(core.channel, claimed))),
      WaitKind.Recv,
      timeout,
      signal,
    );
    if (result === DISCONNECTED) throw disconnectedRecv(core);
    if (result === CLOSED) throw closedError("Receiver", core.channel.name, "recvAsync");
    return taken.value as Snapshot<T>;
  }

  /**
   * Drops this thread's Receiver: once no thread has a Receiver, `send` throws `SendError`. This object (in this
   * thread) can no longer be used or shared; a pending `recvAsync` of this thread rejects. Closing twice is harmless.
   */
  close(): void {
    closeSide(this.#core);
  }

  /** Receives until every Sender is gone and the channel is drained (blocking, like `recv()`). */
  *[Symbol.iterator](): Generator<Snapshot<T>, void, undefined> {
    for (;;) {
      let value: Snapshot<T>;
      try {
        value = this.recv();
      } catch (error) {
        if (error instanceof RecvError) return;
        throw error;
      }
      yield value;
    }
  }

  /** Receives with `recvAsync()` until every Sender is gone and the channel is drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Snapshot<T>, void, undefined> {
    for (;;) {
      let value: Snapshot<T>;
      try {
        value = await this.recvAsync();
      } catch (error) {
        if (error instanceof RecvError) return;
        throw error;
      }
      yield value;
    }
  }

  /** @returns where this Receiver lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    const core = this.#core;
    if (core.closed) throw closedError("Receiver", core.channel.name, "share");
    return { rt: core.rt, id: core.id, kind: ObjectKind.ChannelReceiver };
  }

  static {
    receiverCoreOf = (receiver) => receiver.#core;
  }
}

/** Reads the message at `pos` (a plain copy) and frees its slot. */
function take<T>(channel: ChannelCore<T>, pos: number): Snapshot<T> {
  try {
    return channel.layout.snapshot(channel.views, channel.raw.payloadOffset(pos)) as Snapshot<T>;
  } finally {
    channel.raw.finishRecv(pos);
  }
}

/** The slow path of `recv`: spins briefly, then parks until a message, the senders' end, or the timeout. */
function waitForMessage<T>(core: SideCore<T>, timeout: number): number {
  const raw = core.channel.raw;
  const spun = spin(() => {
    const pos = raw.claimRecv();
    return pos >= 0 ? pos : raw.sendersGone() ? POLL_STOP : POLL_AGAIN;
  });
  if (spun >= 0) return spun;
  const pos = parkOn(new RecvWait(raw, core), WaitKind.Recv, timeout);
  if (pos === DISCONNECTED) throw disconnectedRecv(core);
  if (pos === CLOSED) throw closedError("Receiver", core.channel.name, "recv");
  return pos;
}

/** The slow path of `send` on a full ring: spins briefly, then parks until a slot is claimed. */
function waitForRoom<T>(core: SideCore<T>, value: unknown, timeout: number, start: number): number {
  const raw = core.channel.raw;
  const spun = spin(() => (raw.receiversGone() ? POLL_STOP : Math.max(raw.claimSend(), POLL_AGAIN)));
  if (spun >= 0) return spun;
  if (raw.receiversGone()) throw disconnectedSend(core, value);
  const pos = parkOn(new SendWait(raw, core), WaitKind.Send, left(timeout, start));
  if (pos === DISCONNECTED) throw disconnectedSend(core, value);
  if (pos === CLOSED) throw closedError("Sender", core.channel.name, "send");
  return pos;
}

/** A rendezvous send waits until a receiver takes its message; on timeout it takes the message back. */
function waitForPickup<T>(core: SideCore<T>, value: unknown, pos: number, timeout: number, start: number): void {
  const raw = core.channel.raw;
  if (spin(() => (raw.taken(pos) ? 0 : POLL_AGAIN)) >= 0) return;
  let result: number;
  try {
    result = parkOn(new PickupWait(raw, core, pos), WaitKind.Send, left(timeout, start));
  } catch (error) {
    if (raw.retract(pos)) throw error;
    return; // taken as the wait gave up: it was sent
  }
  if (result === RETRACTED) throw disconnectedSend(core, value);
}

function closeSide(core: SideCore<unknown>): void {
  if (core.closed) return;
  core.closed = true; // its waits record nothing more: the entry goes now, and its record with it
  core.channel.raw.wakeAll(); // this thread's pending async waits see `closed` (before the record may go)
  uncount(core.rt, core.id);
}

function checkLayout(layout: unknown, method: string): asserts layout is BaseLayout<unknown> {
  const candidate = layout as Partial<BaseLayout<unknown>> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.prepare !== "function" ||
    typeof candidate.store !== "function" ||
    typeof candidate.snapshot !== "function" ||
    typeof candidate.describe !== "function" ||
    typeof candidate.size !== "number"
  ) {
    throw new TypeError(`threadsafe: ${method}: layout must be a layout such as i32, f64, struct({...}), string(64), json(1024); got ${describe(layout)}`);
  }
}

function checkName(options: unknown, method: string): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`threadsafe: ${method}: options must be an object like { name: "jobs" }, got ${describe(options)}`);
  }
  const name = (options as SyncChannelOptions).name;
  if (name !== undefined && typeof name !== "string") throw new TypeError(`threadsafe: ${method}: name must be a string, got ${describe(name)}`);
  return name;
}

/** Bytes of one ring slot for `layout`. */
function slotBytesOf(layout: BaseLayout<unknown>): number {
  return Math.ceil((SLOT_HEADER + Math.max(layout.size, 1)) / 8) * 8;
}

/**
 * A bounded channel: at most `bound` messages wait in it, and `send` blocks while it is full. `bound = 0` is a
 * rendezvous: `send` returns once a receiver has taken the message. Returns `[Sender, Receiver]`; any number of
 * threads may send and receive (each message is received once).
 *
 * @example
 * import { syncChannel, spawn, i32 } from "threadsafe";
 * const [tx, rx] = syncChannel(i32, 0);           // rendezvous
 * const h = spawn((rx) => rx.recv() * 2, [rx]);
 * rx.close();
 * tx.send(21);                                     // returns once the worker has it
 * console.log(await h.join());                     // 42
 * @throws TypeError or RangeError for a bad layout, bound or option.
 */
export function syncChannel<T>(layout: Layout<T>, bound: number, options?: SyncChannelOptions): [Sender<T>, Receiver<T>] {
  checkLayout(layout, "syncChannel(layout, bound)");
  if (typeof bound !== "number") throw new TypeError(`threadsafe: syncChannel(layout, bound): bound must be a number of messages, got ${describe(bound)}`);
  if (!Number.isInteger(bound) || bound < 0 || bound > MAX_CAPACITY) {
    throw new RangeError(`threadsafe: syncChannel(layout, bound): bound must be an integer from 0 (a rendezvous) to ${MAX_CAPACITY}, got ${bound}`);
  }
  const name = checkName(options, "syncChannel(layout, bound, options)");
  return create(layout as BaseLayout<T>, boundedRing(bound, slotBytesOf(layout as BaseLayout<unknown>)), name);
}

/**
 * For tests and diagnostics (exported from threadsafe/internal only): which of its rings a channel's tail and head are
 * in (raw/raw-channel.ts, "An unbounded channel's rings"), the index of its last ring, and its first ring's capacity.
 */
export function channelRings(side: Sender<unknown> | Receiver<unknown>): { readonly tail: number; readonly head: number; readonly last: number; readonly first: number } {
  const core = side instanceof Sender ? senderCoreOf(side) : receiverCoreOf(side as Receiver<unknown>);
  return core.channel.raw.rings();
}

/**
 * A channel whose messages may take up to `maxBytes` of shared memory (8 MiB by default; each message takes its
 * layout's size plus 8 bytes, rounded up to 8). Returns `[Sender, Receiver]`; any number of threads may send and
 * receive.
 *
 * It grows in segments: rings that double, from at most 4 KiB, each used once the ones before it were full, as many
 * as fit `maxBytes` (at least half of it); `send` waits only once the last of them is full (with nothing received,
 * that is every ring). The memory is reserved up front and touched only as rings come into use, so the memory a
 * channel uses follows its largest backlog (at most about four times it), not the number of messages it carried. It
 * does not give memory back as it drains: JavaScript cannot release part of a `SharedArrayBuffer`
 * (docs/memory-layout.md).
 *
 * @example
 * import { channel, spawn, json } from "threadsafe";
 * const [tx, rx] = channel(json(256));
 * spawn((tx) => { tx.send({ hello: "world" }); }, [tx]);
 * tx.close();
 * for await (const msg of rx) console.log(msg);   // { hello: "world" }
 * @throws TypeError or RangeError for a bad layout or option, or a `maxBytes` too small for one message.
 */
export function channel<T>(layout: Layout<T>, options?: ChannelCreateOptions): [Sender<T>, Receiver<T>] {
  checkLayout(layout, "channel(layout)");
  const name = checkName(options, "channel(layout, options)");
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== "number") throw new TypeError(`threadsafe: channel(layout, { maxBytes }): maxBytes must be a number of bytes, got ${describe(maxBytes)}`);
  const slotBytes = slotBytesOf(layout as BaseLayout<unknown>);
  if (!Number.isInteger(maxBytes) || maxBytes < slotBytes) {
    throw new RangeError(
      `threadsafe: channel(layout, { maxBytes }): maxBytes must be an integer of at least ${slotBytes} (one message of this layout), got ${maxBytes}`,
    );
  }
  return create(layout as BaseLayout<T>, growingRings(Math.min(MAX_CAPACITY, Math.floor(maxBytes / slotBytes)), slotBytes), name);
}

function create<T>(layout: BaseLayout<T>, shape: RingShape, name: string | undefined): [Sender<T>, Receiver<T>] {
  const { capacity } = shape;
  const bytes = ringBytes(shape);
  if (bytes > 2 ** 31) throw new RangeError(`threadsafe: a channel of ${capacity} messages of ${layout.size} bytes needs ${bytes} bytes: too large`);
  const tag = newDataTag();
  requireSharedMemory();
  const data = new SharedArrayBuffer(bytes);
  const header = new Uint32Array(data, 0, 2);
  header[0] = tag;
  header[1] = layoutHash(layout.describe());
  initRing(data, shape);
  const rt = runtime();
  const channelId = allocateObject(rt, ObjectKind.Channel, name, undefined, tag);
  Atomics.add(rt.words, rt.objectBase(channelId) + O_REFS, 1); // one count for each side's link
  const generation = generationOfObject(rt, channelId);
  const sides: number[] = [];
  try {
    for (const kind of [ObjectKind.ChannelSender, ObjectKind.ChannelReceiver]) {
      const id = allocateObject(rt, kind, name, undefined, tag);
      Atomics.store(rt.words, rt.objectBase(id) + S_CHANNEL_GENERATION, generation);
      Atomics.store(rt.words, rt.objectBase(id) + S_CHANNEL, channelId + 1);
      sides.push(id);
    }
  } catch (error) {
    for (const id of sides) releaseRetained(rt, id); // reclaimed: each gives back its link
    for (let k = sides.length; k < 2; k++) releaseRetained(rt, channelId);
    throw error;
  }
  const core: ChannelCore<T> = {
    raw: new RawChannel(rt, channelId, data, currentThreadId),
    layout,
    views: dataViews(data),
    data,
    name: name ?? rt.objectName(channelId),
  };
  const senderCore = sideCore(rt, sides[0]!, core);
  const receiverCore = sideCore(rt, sides[1]!, core);
  counted(senderCore, countNew(rt, currentThreadId, senderCore.id, senderCore));
  counted(receiverCore, countNew(rt, currentThreadId, receiverCore.id, receiverCore));
  reviving = senderCore as SideCore<unknown>;
  const sender = new Sender<T>();
  reviving = receiverCore as SideCore<unknown>;
  const receiver = new Receiver<T>();
  return [sender, receiver];
}

/**
 * The channel a side record `id` links to, checked against a handle's parts: the record's link is live, the data
 * buffer is the channel's and the layout the data's.
 * @throws TypeError saying what does not fit.
 */
function checkedChannel(rt: Runtime, id: number, parts: Record<string, unknown>): { channelId: number; layout: BaseLayout<unknown>; data: SharedArrayBuffer } {
  const { data, layout: descriptor } = parts;
  if (!(data instanceof SharedArrayBuffer)) throw new TypeError("its data is not a SharedArrayBuffer");
  const layout = layoutFromDescriptor(descriptor) as unknown as BaseLayout<unknown>;
  const base = rt.objectBase(id);
  const channelId = Atomics.load(rt.words, base + S_CHANNEL) - 1;
  if (channelId < 0 || channelId >= rt.objectCount() || !isLiveObject(rt, channelId, Atomics.load(rt.words, base + S_CHANNEL_GENERATION))) {
    throw new TypeError("its channel no longer exists");
  }
  if (rt.objectKind(channelId) !== ObjectKind.Channel) throw new TypeError("its channel record is not a channel");
  const tag = rt.objectDataTag(id);
  if (rt.objectDataTag(channelId) !== tag) throw new TypeError("its channel record belongs to another channel");
  if (data.byteLength < 8) throw new TypeError("its data buffer is not a channel's");
  const header = new Uint32Array(data, 0, 2);
  if (header[0] !== tag) throw new TypeError("its data buffer belongs to another channel");
  if (header[1] !== layoutHash(layout.describe())) throw new TypeError("its layout is not the layout the channel was made with");
  const problem = ringProblem(data, layout.size);
  if (problem) throw new TypeError(problem);
  return { channelId, layout, data };
}

function registerSide(kind: number, name: "Sender" | "Receiver"): void {
  const make = (core: SideCore<unknown>): SharedObject => {
    reviving = core;
    return name === "Sender" ? new Sender<unknown>() : new Receiver<unknown>();
  };
  const coreOf = (value: SharedObject): SideCore<unknown> => (value instanceof Sender ? senderCoreOf(value as Sender<unknown>) : receiverCoreOf(value as Receiver<unknown>));
  registerShareable({
    kind,
    name,
    coreOf,
    wrap: (core) => make(core as SideCore<unknown>),
    handleParts(value) {
      const core = coreOf(value);
      return { data: core.channel.data, layout: core.channel.layout.describe() };
    },
    checkParts(rt, id, parts) {
      checkedChannel(rt, id, parts);
    },
    fromHandle(rt, id, parts, retained) {
      const { channelId, layout, data } = checkedChannel(rt, id, parts);
      const channel: ChannelCore<unknown> = { raw: new RawChannel(rt, channelId, data, currentThreadId), layout, views: dataViews(data), data, name: rt.objectName(channelId) };
      const core = sideCore(rt, id, channel);
      return make(counted(core, countArrived(rt, currentThreadId, id, core, retained)));
    },
  });
}

// ## select

/** What `select`/`selectAsync` return: which receiver a message came from, and the message. */
export type Selected<R extends readonly Receiver<unknown>[]> = {
  [K in keyof R]: R[K] extends Receiver<infer T> ? { readonly index: number; readonly value: Snapshot<T> } : never;
}[number];

/** Checks `select`'s receivers and returns their cores (all of one runtime, none closed by this thread). */
function selectCores(receivers: unknown, method: string): SideCore<unknown>[] {
  if (!Array.isArray(receivers) || receivers.length === 0) {
    throw new TypeError(`threadsafe: ${method}: receivers must be a non-empty array of Receivers, got ${describe(receivers)}`);
  }
  const cores = receivers.map((rx: unknown, i) => {
    if (!(rx instanceof Receiver)) throw new TypeError(`threadsafe: ${method}: receivers[${i}] must be a Receiver, got ${describe(rx)}`);
    const core = receiverCoreOf(rx as Receiver<unknown>);
    if (core.closed) throw closedError("Receiver", core.channel.name, method);
    return core;
  });
  if (cores.some((core) => core.rt !== cores[0]!.rt)) throw new TypeError(`threadsafe: ${method}: every receiver must belong to this program's runtime`);
  return cores;
}

function selectDisconnected(cores: SideCore<unknown>[]): RecvError {
  const names = cores.map((core) => `"${core.channel.name}"`).join(", ");
  return new RecvError(
    `threadsafe: select over channels ${names}: every Sender of every one is gone (closed, collected, or its thread ended) and every message sent has been received`,
  );
}

/** One pass over the receivers from a random start (fairness): the index of one whose message `pos[0]` claims, or -1. */
function selectOnce(cores: SideCore<unknown>[], claimed: number[]): number {
  const n = cores.length;
  const start = n === 1 ? 0 : Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const i = start + k < n ? start + k : start + k - n;
    const pos = cores[i]!.channel.raw.claimRecv();
    if (pos >= 0) {
      claimed[0] = pos;
      return i;
    }
  }
  return -1;
}

/** After a wait: the message it claimed, or the error that ended it. */
function selectResult(cores: SideCore<unknown>[], wait: SelectWait, result: number, method: string): { index: number; value: unknown } {
  if (result === DISCONNECTED) throw selectDisconnected(cores);
  if (result === CLOSED) {
    const closed = cores.find((core) => core.closed)!;
    throw closedError("Receiver", closed.channel.name, method);
  }
  return { index: result, value: take(cores[result]!.channel, wait.pos) };
}

/**
 * Receives from whichever of `receivers` has a message first (crossbeam's `select!` over `recv` arms), blocking until
 * one does: `{ index, value }`, `index` being the receiver's place in the array. Fair: when several have messages,
 * each is as likely to be chosen. A receiver whose senders are all gone is passed over once drained; when that is
 * true of every one, `select` throws `RecvError`. The wait is one sleep for all the receivers: every channel that a
 * `select` waits on wakes it. `dumpLocks()` and deadlock reports list the wait on the first receiver's channel.
 *
 * @example
 * import { select, syncChannel, i32, json } from "threadsafe";
 * const [numTx, numRx] = syncChannel(i32, 16);
 * const [cmdTx, cmdRx] = syncChannel(json(256), 16);
 * cmdTx.send({ stop: true });
 * const { index, value } = select([numRx, cmdRx], { timeout: 1000 }); // index 1, value { stop: true }
 * @throws RecvError once every receiver's senders are gone and it is drained; TimeoutError; TypeError for an empty
 *   or bad array; Error where this thread may not block (use `selectAsync`) or when one was closed by this thread.
 */
export function select<const R extends readonly Receiver<unknown>[]>(receivers: R, options?: ChannelOptions): Selected<R> {
  const cores = selectCores(receivers, "select");
  const timeout = options === undefined ? Infinity : timeoutOf(options, "select");
  const claimed = [0];
  let index = selectOnce(cores, claimed);
  if (index >= 0) return { index, value: take(cores[index]!.channel, claimed[0]!) } as Selected<R>;
  index = spin(() => Math.max(selectOnce(cores, claimed), POLL_AGAIN));
  if (index >= 0) return { index, value: take(cores[index]!.channel, claimed[0]!) } as Selected<R>;
  const wait = new SelectWait(
    cores.map((core) => core.channel.raw),
    cores,
  );
  return selectResult(cores, wait, parkOn(wait, WaitKind.Recv, timeout), "select") as Selected<R>;
}

/**
 * `select` without blocking the thread: resolves to `{ index, value }` from whichever receiver has a message first.
 * @throws (rejects with) RecvError when every receiver is disconnected and drained, TimeoutError, the signal's reason.
 */
export async function selectAsync<const R extends readonly Receiver<unknown>[]>(receivers: R, options?: ChannelAsyncOptions): Promise<Selected<R>> {
  const cores = selectCores(receivers, "selectAsync");
  const timeout = timeoutOf(options, "selectAsync");
  const signal = signalOf(options, "selectAsync");
  if (signal?.aborted) throw signal.reason;
  const claimed = [0];
  const index = selectOnce(cores, claimed);
  if (index >= 0) return { index, value: take(cores[index]!.channel, claimed[0]!) } as Selected<R>;
  // Read in the attempt that claims it (see recvAsync).
  const taken: { value?: unknown } = {};
  const wait = new SelectWait(
    cores.map((core) => core.channel.raw),
    cores,
    (i, pos) => (taken.value = take(cores[i]!.channel, pos)),
  );
  const result = await parkOnAsync(wait, WaitKind.Recv, timeout, signal);
  if (result === DISCONNECTED || result === CLOSED) return selectResult(cores, wait, result, "selectAsync") as Selected<R>;
  return { index: result, value: taken.value } as Selected<R>;
}

registerSide(ObjectKind.ChannelSender, "Sender");
registerSide(ObjectKind.ChannelReceiver, "Receiver");
