/**
 * Scenarios for the model checker (test/model/README.md). Bundled by esbuild together with the real src/ modules;
 * the scheduler (main thread) imports the bundle to set each scenario up, and every simulated thread imports it to
 * run its body under the Atomics shim. A body returns its outcome as a string; `check` judges one explored
 * interleaving from the outcomes and the trace.
 */

import { Runtime } from "../../src/runtime/runtime.ts";
import { joinRuntime } from "../../src/runtime/current.ts";
import { settings, storeSettings } from "../../src/runtime/config.ts";
import { ObjectKind, WaitKind } from "../../src/runtime/kinds.ts";
import { PoisonCause } from "../../src/runtime/objects.ts";
import { allocateObject, countNew, generationOfObject, holdsIndex } from "../../src/runtime/lifetime.ts";
import { RawCondvar } from "../../src/raw/raw-condvar.ts";
import { Mutex } from "../../src/sync/mutex.ts";
import { transaction } from "../../src/sync/transaction.ts";
import { shareableNamed } from "../../src/sync/shareable.ts";
import { allocateDataViews, newDataTag } from "../../src/sync/data.ts";
import { i32 } from "../../src/layout/index.ts";
import { C_RWAIT, DISCONNECTED, GROWING, RawChannel, RecvWait, S_CHANNEL, S_CHANNEL_GENERATION, SendWait, boundedRing, initRing, parkOn, ringBytes, type RingShape } from "../../src/raw/raw-channel.ts";
import { MASK as RW_MASK, RawRwLock, WRITERS_WAITING } from "../../src/raw/raw-rwlock.ts";
import { RawSemaphore, initSemaphore } from "../../src/raw/raw-semaphore.ts";
import { reapThread } from "../../src/runtime/reap.ts";
import { setParkSliceMs } from "../../src/parking/park.ts";
import { RawMutex, heldWord } from "../../src/raw/raw-mutex.ts";
import { H_PARK_SLICE_MS, H_TXN_TICKETS_I64, H_WAIT_TICKETS_I64 } from "../../src/runtime/runtime.ts";
import { MAX_THREADS, THREAD_RECORD_WORDS, T_STATE, ThreadStatus, stateWord } from "../../src/runtime/threads.ts";
import * as threadFields from "../../src/runtime/threads.ts";
import { OBJECT_RECORD_WORDS } from "../../src/runtime/objects.ts";
import * as objectFields from "../../src/runtime/objects.ts";

/** What a simulated thread's body gets. */
export interface Env {
  readonly rt: Runtime;
  readonly data: Record<string, number>;
  readonly me: number;
  /** The scenario buffer (tracked like the runtime's words): [0] the hold word, then the scenario's own words. */
  readonly shared: Int32Array;
  /** Buffers the setup made besides the runtime's (a channel's ring, a Mutex's data): not tracked, not steps. */
  readonly extras: readonly SharedArrayBuffer[];
  /** What the scenario's `init` made in this thread. */
  readonly objects: readonly unknown[];
  /** Blocks for good (until the scheduler kills the thread): a thread that keeps what it holds. */
  hold(): never;
}

/** One executed step, as the checker records it. */
export interface TraceEvent {
  readonly thread: number;
  /** "step" (an operation), "timeout", "die", "done". */
  readonly kind: string;
  readonly op?: string;
  readonly word?: number;
  readonly result?: string;
  /** A compare-and-swap's expected and new values, and whether it succeeded. */
  readonly from?: number;
  readonly to?: number;
  readonly success?: boolean;
}

/** What `check` is given about one explored interleaving. */
export interface Run {
  readonly outcomes: readonly string[];
  readonly trace: readonly TraceEvent[];
  readonly data: Record<string, number>;
  /** The wait ticket each thread last took, as seen when thread `t` finished. */
  ticketsWhenDone(t: number): readonly number[];
  /** Whether thread `t` made a successful compare-and-swap on `word` before dying (or ever). */
  casSucceeded(t: number, word: number): boolean;
  /** Index in the trace of thread `t`'s first taking of the Mutex whose word is `word` (a CAS from no owner), or -1. */
  acquiredAt(t: number, word: number): number;
  /** The transaction ticket thread `t` took (0 if none). */
  txnTicket(t: number): number;
  /** A word of the runtime buffer in the final memory. */
  load(word: number): number;
  /** Whether thread `id` is alive in the final memory. */
  isAlive(id: number): boolean;
}

export interface ThreadSpec {
  readonly name: string;
  body(env: Env): string;
  /** The scheduler may kill this thread before any of its operations, or while it sleeps. */
  readonly mortal?: boolean;
  /** Index of the thread this one reaps: it starts only once that thread has died. */
  readonly reaperOf?: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly threads: readonly ThreadSpec[];
  /** "raised": a waiter's 100 ms re-check slice never times out, so no wake-up may depend on it. */
  readonly slice: "raised" | "default";
  /** Every read of the clock advances it 1 ms (a slow machine): waits are published at once. */
  readonly tick?: boolean;
  readonly preemptions: number;
  /** Objects may be reclaimed (their kind and name words change): those words are not assumed constant. */
  readonly reclaims?: boolean;
  /** Interleavings to run at most (default 4000). */
  readonly budget?: number;
  /** Timeouts allowed in one interleaving before it counts as a hang. */
  readonly maxTimeouts?: number;
  setup(rt: Runtime, ids: readonly number[]): Record<string, number>;
  /**
   * Run once in each simulated thread when it starts (real Atomics, before the initial memory is taken): makes the
   * thread's own objects, e.g. the public Mutex objects revived from the setup's records. Becomes `env.objects`.
   */
  init?(env: Env): unknown[];
  /** The scenario buffer's size in bytes (default 64: the hold word and a few of the scenario's own). */
  readonly scenarioBytes?: number;
  /** Writes the scenario buffer's initial contents (before any thread runs; restored for each interleaving). */
  scenarioInit?(buffer: SharedArrayBuffer): void;
  check(run: Run): string | undefined;
}

const cores: object[] = [];
/** The extra buffers the last setup made (see Env.extras). */
let extraBuffers: SharedArrayBuffer[] = [];
/** Thread slots besides the scenario threads' whose records the setup says may change. */
const hotSlots: number[] = [];
function keep<T extends object>(core: T): T {
  cores.push(core); // never collected: the reference entry it stands for stays
  return core;
}

/** Index in the scenario buffer of the flag a condvar scenario's waiter waits for (index 0 is the hold word). */
const FLAG = 1;

/** A Mutex object whose reference entries name `users` (so a reaper finds what a dead user holds). */
function newMutex(rt: Runtime, name: string, users: readonly number[]): number {
  const id = allocateObject(rt, ObjectKind.Mutex, name, undefined, 0);
  users.forEach((user, i) => {
    if (i > 0) Atomics.add(rt.words, rt.objectBase(id) + objectFields.O_REFS, 1); // allocateObject counted the first
    const core = {};
    cores.push(core); // never collected: the entry stays
    countNew(rt, user, id, core);
  });
  return id;
}

function lockAs(rt: Runtime, mutex: number, thread: number): void {
  Atomics.store(rt.words, rt.stateIndex(mutex), heldWord(thread));
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown })?.name;
  if (name === "ModelAbort") throw error;
  return typeof name === "string" ? name : "error";
}

const DEADLOCK = "DeadlockError";

/** Exactly one thread of a cycle reports it, the one with the highest ticket; the others complete. */
function oneVictim(run: Run, members: readonly number[]): string | undefined {
  const victims = members.filter((t) => run.outcomes[t] === DEADLOCK);
  if (victims.length !== 1) return `expected exactly one DeadlockError, got ${victims.length}: ${run.outcomes.join(", ")}`;
  for (const t of members) {
    if (t !== victims[0] && run.outcomes[t] !== "completed") return `thread ${t} should complete, got ${run.outcomes[t]}`;
  }
  const victim = victims[0]!;
  const tickets = run.ticketsWhenDone(victim);
  for (const t of members) {
    if (t !== victim && tickets[t]! > tickets[victim]!) {
      return `the victim (thread ${victim}, ticket ${tickets[victim]}) is not the highest ticket (thread ${t} has ${tickets[t]})`;
    }
  }
  return undefined;
}

/** Thread body: one transaction locking the scenario's Mutex objects `first`, then `second`. */
function runTransaction(env: Env, first: number, second: number): string {
  const [x, y] = [env.objects[first] as Mutex<number>, env.objects[second] as Mutex<number>];
  let runs = 0;
  transaction((tx) => {
    runs++;
    tx.lock(x);
    tx.lock(y);
  });
  return `ran ${runs} time${runs === 1 ? "" : "s"}`;
}

/**
 * As sync/channel.ts create(): a channel record with a ring of one slot of 8 bytes (its buffer `data` also goes to
 * the threads, as `extras[k]` in the order made) and its Sender and Receiver records, linked to it; no thread counts
 * the sides yet.
 */
function channelOfOneSlot(rt: Runtime): { channel: number; senderSide: number; receiverSide: number; data: SharedArrayBuffer } {
  const data = new SharedArrayBuffer(ringBytes(boundedRing(1, 8)));
  initRing(data, boundedRing(1, 8));
  extraBuffers.push(data);
  return { ...channelRecords(rt), data };
}

/** The records of a channel (as sync/channel.ts create()), its ring wherever the scenario puts it. */
function channelRecords(rt: Runtime): { channel: number; senderSide: number; receiverSide: number } {
  const channel = allocateObject(rt, ObjectKind.Channel, "ch", undefined, 0);
  Atomics.add(rt.words, rt.objectBase(channel) + objectFields.O_REFS, 1); // one count for each side's link
  const generation = generationOfObject(rt, channel);
  const [senderSide, receiverSide] = [ObjectKind.ChannelSender, ObjectKind.ChannelReceiver].map((kind) => {
    const id = allocateObject(rt, kind, "ch", undefined, 0);
    Atomics.store(rt.words, rt.objectBase(id) + S_CHANNEL_GENERATION, generation);
    Atomics.store(rt.words, rt.objectBase(id) + S_CHANNEL, channel + 1);
    return id;
  }) as [number, number];
  return { channel, senderSide, receiverSide };
}

/**
 * An unbounded channel's chain of two rings (raw-channel.ts, "An unbounded channel's rings"), of 1 and 2 slots of
 * one i32, in the tracked scenario buffer: every step of its ring protocol is a scheduling point.
 */
const TWO_RINGS: RingShape = { capacity: 2, bound: GROWING, slotBytes: 16, first: 1, last: 1 };

/** What the chain scenarios share: the rings in the tracked buffer, no slice, a budget that completes their bound. */
const ON_TWO_RINGS = {
  slice: "raised",
  budget: 40000,
  scenarioBytes: ringBytes(TWO_RINGS),
  scenarioInit: (buffer: SharedArrayBuffer): void => initRing(buffer, TWO_RINGS),
} as const;

/** A sender of the chain: sends `values` (claim, or wait for room; write; publish), as sync/channel.ts send does. */
function sendToRings(...values: number[]) {
  return (env: Env): string => {
    const data = env.shared.buffer as SharedArrayBuffer;
    const raw = new RawChannel(env.rt, env.data.channel!, data, env.me);
    const payload = new Int32Array(data);
    for (const value of values) {
      let pos = raw.claimSend();
      if (pos < 0) pos = parkOn(new SendWait(raw, { closed: false, holdsAt: -1, waits: 0 }), WaitKind.Send, Infinity);
      if (pos === DISCONNECTED) return "disconnected";
      payload[raw.payloadOffset(pos) >> 2] = value;
      if (!raw.publishSend(pos)) return "skipped";
    }
    return "sent";
  };
}

/** The receiver of the chain: receives (parked waits, as sync/channel.ts recv) until `done(got)`; returns what it got. */
function receiveFromRings(done: (got: number[]) => boolean) {
  return (env: Env): string => {
    const data = env.shared.buffer as SharedArrayBuffer;
    const raw = new RawChannel(env.rt, env.data.channel!, data, env.me);
    const payload = new Int32Array(data);
    const got: number[] = [];
    while (!done(got)) {
      const pos = parkOn(new RecvWait(raw, { closed: false, holdsAt: -1, waits: 0 }), WaitKind.Recv, Infinity);
      if (pos === DISCONNECTED) return `disconnected after ${got.join(",")}`;
      got.push(payload[raw.payloadOffset(pos) >> 2]!);
      raw.finishRecv(pos);
    }
    return got.join(",");
  };
}

/** The supervisor's part when scenario thread `of` dies: reaps the thread whose id the setup put in `data[key]`. */
function reaper(of: number, key: string, cause: (typeof PoisonCause)[keyof typeof PoisonCause]): ThreadSpec {
  return {
    name: "reaper",
    reaperOf: of,
    body(env) {
      reapThread(env.rt, env.data[key]!, cause);
      return "reaped";
    },
  };
}

/** Thread body: takes `first` (already held from setup), then `second`; releases both. */
function holdThenLock(firstKey: string, secondKey: string) {
  return (env: Env): string => {
    const first = new RawMutex(env.rt, env.data[firstKey]!);
    const second = new RawMutex(env.rt, env.data[secondKey]!);
    try {
      second.lock(Infinity);
    } catch (error) {
      const name = errorName(error);
      first.unlock(false);
      return name;
    }
    second.unlock(false);
    first.unlock(false);
    return "completed";
  };
}

export const scenarios: Scenario[] = [
  {
    name: "ab-ba",
    description: "two threads, each holding one lock, take the other's: exactly one DeadlockError, in the highest ticket",
    slice: "default",
    preemptions: 2,
    budget: 1500,
    maxTimeouts: 8,
    threads: [
      { name: "A", body: holdThenLock("a", "b") },
      { name: "B", body: holdThenLock("b", "a") },
    ],
    setup(rt, [a, b]) {
      const ma = newMutex(rt, "a", [a!, b!]);
      const mb = newMutex(rt, "b", [a!, b!]);
      lockAs(rt, ma, a!);
      lockAs(rt, mb, b!);
      return { a: ma, b: mb };
    },
    check: (run) => oneVictim(run, [0, 1]),
  },
  {
    name: "unlock-vs-sleep",
    description: "an unlock races a waiter going to sleep: the waiter always gets the lock, with no re-check slice to rescue it",
    slice: "raised",
    preemptions: 3,
    threads: [
      {
        name: "holder",
        body(env) {
          new RawMutex(env.rt, env.data.m!).unlock(false);
          return "completed";
        },
      },
      {
        name: "waiter",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          m.lock(Infinity);
          m.unlock(false);
          return "completed";
        },
      },
    ],
    setup(rt, [holder, waiter]) {
      const m = newMutex(rt, "m", [holder!, waiter!]);
      lockAs(rt, m, holder!);
      return { m };
    },
    check: (run) => (run.outcomes.every((o) => o === "completed") ? undefined : `outcomes: ${run.outcomes.join(", ")}`),
  },
  {
    name: "holder-dies",
    description:
      "a holder dies (and is reaped) while a waiter spins, publishes and sleeps: the waiter always gets the lock, poisoned if the holder had it",
    slice: "raised",
    preemptions: 2,
    budget: 8000,
    threads: [
      {
        name: "holder",
        mortal: true,
        body(env) {
          new RawMutex(env.rt, env.data.m!).lock(Infinity);
          return env.hold();
        },
      },
      {
        name: "waiter",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          const poisoned = m.lock(Infinity);
          m.unlock(false);
          return poisoned ? "poisoned" : "clean";
        },
      },
      reaper(0, "holder", PoisonCause.Exited),
    ],
    setup(rt, [holder, waiter]) {
      const m = newMutex(rt, "m", [holder!, waiter!]);
      return { m, holder: holder!, mWord: rt.stateIndex(m) };
    },
    check(run) {
      const waiter = run.outcomes[1];
      if (waiter !== "poisoned" && waiter !== "clean") return `the waiter did not get the lock: ${waiter}`;
      const holderTook = run.acquiredAt(0, run.data.mWord!);
      const waiterTook = run.acquiredAt(1, run.data.mWord!);
      // Exact: poisoned exactly when the holder had taken the lock first (it then never released it: it died).
      const expected = holderTook >= 0 && holderTook < waiterTook ? "poisoned" : "clean";
      return waiter === expected ? undefined : `the waiter got the lock ${waiter}, expected ${expected}`;
    },
  },
  {
    name: "ring-3",
    description: "three threads in a ring A→B→C→A: exactly one DeadlockError, in the highest ticket",
    slice: "default",
    preemptions: 1,
    budget: 1200,
    maxTimeouts: 10,
    threads: [
      { name: "A", body: holdThenLock("a", "b") },
      { name: "B", body: holdThenLock("b", "c") },
      { name: "C", body: holdThenLock("c", "a") },
    ],
    setup(rt, ids) {
      const [a, b, c] = ids as [number, number, number];
      const ma = newMutex(rt, "a", ids);
      const mb = newMutex(rt, "b", ids);
      const mc = newMutex(rt, "c", ids);
      lockAs(rt, ma, a);
      lockAs(rt, mb, b);
      lockAs(rt, mc, c);
      return { a: ma, b: mb, c: mc };
    },
    check: (run) => oneVictim(run, [0, 1, 2]),
  },
  {
    name: "chain-dissolves",
    description:
      "W waits for L, held by U, who waits (with a timeout) for X; U gives up, releases L and waits for M, held by W: " +
      "a walk that mixes U's old wait with its new one sees a cycle that never existed; never a DeadlockError",
    slice: "default",
    tick: true,
    preemptions: 2,
    budget: 8000,
    maxTimeouts: 8,
    threads: [
      {
        name: "W",
        body(env) {
          const l = new RawMutex(env.rt, env.data.l!);
          const m = new RawMutex(env.rt, env.data.m!);
          try {
            l.lock(Infinity);
          } catch (error) {
            const name = errorName(error);
            m.unlock(false);
            return name;
          }
          l.unlock(false);
          m.unlock(false);
          return "completed";
        },
      },
      {
        name: "U",
        body(env) {
          const l = new RawMutex(env.rt, env.data.l!);
          const m = new RawMutex(env.rt, env.data.m!);
          const x = new RawMutex(env.rt, env.data.x!);
          try {
            x.lock(5);
            return "took X"; // cannot happen: H holds X for good
          } catch (error) {
            const name = errorName(error);
            if (name !== "LockTimeoutError") {
              l.unlock(false);
              return name;
            }
          }
          l.unlock(false);
          try {
            m.lock(Infinity);
          } catch (error) {
            return errorName(error);
          }
          m.unlock(false);
          return "completed";
        },
      },
      {
        name: "H",
        body(env) {
          return env.hold();
        },
      },
    ],
    setup(rt, ids) {
      const [w, u, h] = ids as [number, number, number];
      const l = newMutex(rt, "L", ids);
      const m = newMutex(rt, "M", ids);
      const x = newMutex(rt, "X", ids);
      lockAs(rt, l, u);
      lockAs(rt, m, w);
      lockAs(rt, x, h);
      return { l, m, x };
    },
    check: (run) =>
      run.outcomes[0] === "completed" && run.outcomes[1] === "completed"
        ? undefined
        : `outcomes: ${run.outcomes.join(", ")}`,
  },
  {
    name: "slot-reused",
    description:
      "H took a lock after its reaper ran, and its slot now runs N (the next generation); a waiter on H's lock and a " +
      "late second reap of H race N: the waiter gets the lock poisoned, N stays alive, the late reap does nothing",
    slice: "default",
    preemptions: 2,
    maxTimeouts: 6,
    threads: [
      {
        name: "N",
        body(env) {
          return env.rt.isAlive(env.me) ? "alive" : "dead";
        },
      },
      {
        name: "W",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          const poisoned = m.lock(Infinity);
          m.unlock(false);
          return poisoned ? "poisoned" : "clean";
        },
      },
      {
        name: "late reap",
        body(env) {
          return reapThread(env.rt, env.data.h!, PoisonCause.Exited) === undefined ? "nothing to do" : "reaped";
        },
      },
    ],
    setup(rt, ids) {
      const [h, w] = ids as [number, number, number];
      const m = newMutex(rt, "m", [h, w]);
      reapThread(rt, h, PoisonCause.Exited); // H died and was reaped: its slot is free for the next generation
      lockAs(rt, m, h); // … but the word names it: it took the lock after its reaper ran
      Atomics.store(rt.words, H_NEXT_SLOT_WORD, (h & (MAX_THREADS - 1)) - 1); // the next thread gets H's slot
      const n = rt.allocateThread("N");
      return { m, h, n, thread0: n };
    },
    check(run) {
      if (run.outcomes[0] !== "alive") return `N (the slot's new generation) saw itself ${run.outcomes[0]}`;
      if (run.outcomes[1] !== "poisoned") return `the waiter got the lock ${run.outcomes[1]}`;
      if (run.outcomes[2] !== "nothing to do") return `the late reap of H did something: ${run.outcomes[2]}`;
      if (!run.isAlive(run.data.n!)) return "N, alive, was reaped by the late reap of its slot's previous thread";
      return undefined;
    },
  },
  {
    name: "slot-reused-dying",
    description:
      "as slot-reused, but the slot's next generation N is itself dead and its reap has stalled: the waiter on the " +
      "lock the first thread took after its reap still recovers it, poisoned",
    slice: "default",
    preemptions: 2,
    maxTimeouts: 6,
    threads: [
      {
        name: "W",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          const poisoned = m.lock(Infinity);
          m.unlock(false);
          return poisoned ? "poisoned" : "clean";
        },
      },
      {
        name: "late reap",
        body(env) {
          return reapThread(env.rt, env.data.h!, PoisonCause.Exited) === undefined ? "nothing to do" : "reaped";
        },
      },
    ],
    setup(rt, ids) {
      const [w] = ids as [number, number];
      const h = rt.allocateThread("H");
      const m = newMutex(rt, "m", [h, w]);
      reapThread(rt, h, PoisonCause.Exited);
      lockAs(rt, m, h); // taken after its reaper ran
      Atomics.store(rt.words, H_NEXT_SLOT_WORD, (h & (MAX_THREADS - 1)) - 1);
      const n = rt.allocateThread("N");
      // N died too, and its reaper stalled right after claiming it (no exit cause recorded yet).
      const nBase = rt.threadBase(n & (MAX_THREADS - 1));
      Atomics.store(rt.words, nBase + T_STATE, stateWord(n >>> 10, ThreadStatus.Dead));
      hotSlots.push(n & (MAX_THREADS - 1));
      return { m, h };
    },
    check: (run) =>
      run.outcomes[0] === "poisoned" && run.outcomes[1] === "nothing to do" ? undefined : `outcomes: ${run.outcomes.join(", ")}`,
  },
  {
    name: "condvar-notify-vs-wait",
    description:
      "a waiter checks a flag under the mutex and waits on the condvar; a notifier sets the flag under the mutex and " +
      "notifies after releasing it: the waiter always sees the flag, with no re-check slice to rescue it",
    slice: "raised",
    preemptions: 2,
    threads: [
      {
        name: "waiter",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          const cv = new RawCondvar(env.rt, env.data.cv!, env.data.waiterHolds!);
          m.lock(Infinity);
          // The order of sync/condvar.ts `#wait`: enter, release, sleep, take the mutex back, leave.
          while (Atomics.load(env.shared, FLAG) === 0) {
            cv.enter(env.data.m!);
            m.unlock(false);
            cv.sleep(Infinity, () => false);
            m.lock(Infinity);
            cv.leave(env.data.m!);
          }
          m.unlock(false);
          return "saw the flag";
        },
      },
      {
        name: "notifier",
        body(env) {
          const m = new RawMutex(env.rt, env.data.m!);
          const cv = new RawCondvar(env.rt, env.data.cv!, env.data.notifierHolds!);
          m.lock(Infinity);
          Atomics.store(env.shared, FLAG, 1);
          m.unlock(false);
          cv.notifyOne();
          return "notified";
        },
      },
    ],
    setup(rt, ids) {
      const [waiter, notifier] = ids as [number, number];
      const m = newMutex(rt, "m", ids);
      const cv = allocateObject(rt, ObjectKind.Condvar, "cv", undefined, 0);
      const waiterHolds = holdsIndex(rt, countNew(rt, waiter, cv, keep({})));
      Atomics.add(rt.words, rt.objectBase(cv) + objectFields.O_REFS, 1);
      const notifierHolds = holdsIndex(rt, countNew(rt, notifier, cv, keep({})));
      return { m, cv, waiterHolds, notifierHolds };
    },
    check: (run) => (run.outcomes[0] === "saw the flag" && run.outcomes[1] === "notified" ? undefined : `outcomes: ${run.outcomes.join(", ")}`),
  },
  {
    name: "semaphore-holder-dies",
    description:
      "the only permit's holder dies (and is reaped) while a waiter spins, publishes and sleeps: the permit comes back " +
      "and the waiter gets it, with no re-check slice to rescue it",
    slice: "raised",
    preemptions: 2,
    threads: [
      {
        name: "holder",
        mortal: true,
        body(env) {
          const sem = new RawSemaphore(env.rt, env.data.sem!);
          sem.attach(env.data.holderHolds!);
          sem.acquire(1, Infinity);
          return env.hold();
        },
      },
      {
        name: "waiter",
        body(env) {
          const sem = new RawSemaphore(env.rt, env.data.sem!);
          sem.attach(env.data.waiterHolds!);
          sem.acquire(1, Infinity);
          sem.release(1);
          return "got the permit";
        },
      },
      reaper(0, "holder", PoisonCause.Exited),
    ],
    setup(rt, ids) {
      const [holder, waiter] = ids as [number, number];
      const sem = allocateObject(rt, ObjectKind.Semaphore, "sem", undefined, 0);
      initSemaphore(rt, sem, 1);
      const holderHolds = holdsIndex(rt, countNew(rt, holder, sem, keep({})));
      Atomics.add(rt.words, rt.objectBase(sem) + objectFields.O_REFS, 1);
      const waiterHolds = holdsIndex(rt, countNew(rt, waiter, sem, keep({})));
      return { sem, holder, holderHolds, waiterHolds, semWord: rt.stateIndex(sem) };
    },
    check(run) {
      if (run.outcomes[1] !== "got the permit") return `the waiter: ${run.outcomes[1]}`;
      // Every permit is free at the end, except the one a holder still alive (holding for good) took.
      const holderHas =
        run.outcomes[0] === "holding" &&
        run.trace.some((e) => e.thread === 0 && e.op === "compareExchange" && e.word === run.data.semWord && e.success && e.to === e.from! - 1);
      const free = run.load(run.data.semWord!);
      const expected = holderHas ? 0 : 1;
      return free === expected ? undefined : `${free} permits free at the end, expected ${expected}`;
    },
  },
  {
    name: "rwlock-writer-preference",
    description:
      "R1 holds a read lock; a writer and a second reader arrive: no reader gets in while a writer waits, and when " +
      "R1 leaves everyone gets through, with no re-check slice to rescue a lost wake-up",
    slice: "raised",
    preemptions: 2,
    threads: [
      {
        name: "R1",
        body(env) {
          const rw = new RawRwLock(env.rt, env.data.rw!);
          rw.holdsAt = env.data.r1Holds!;
          rw.readUnlock();
          return "released";
        },
      },
      {
        name: "writer",
        body(env) {
          const rw = new RawRwLock(env.rt, env.data.rw!);
          rw.holdsAt = env.data.writerHolds!;
          rw.write(Infinity);
          rw.writeUnlock(false);
          return "wrote";
        },
      },
      {
        name: "R2",
        body(env) {
          const rw = new RawRwLock(env.rt, env.data.rw!);
          rw.holdsAt = env.data.r2Holds!;
          rw.read(Infinity);
          rw.readUnlock();
          return "read";
        },
      },
    ],
    setup(rt, ids) {
      const rw = allocateObject(rt, ObjectKind.RwLock, "rw", undefined, 0);
      const holds = ids.map((id, i) => {
        if (i > 0) Atomics.add(rt.words, rt.objectBase(rw) + objectFields.O_REFS, 1);
        return holdsIndex(rt, countNew(rt, id, rw, keep({})));
      });
      Atomics.store(rt.words, rt.stateIndex(rw), 1); // R1's read hold
      Atomics.store(rt.words, holds[0]!, 1);
      return { rw, r1Holds: holds[0]!, writerHolds: holds[1]!, r2Holds: holds[2]!, rwWord: rt.stateIndex(rw) };
    },
    check(run) {
      if (run.outcomes.join() !== "released,wrote,read") return `outcomes: ${run.outcomes.join(", ")}`;
      // Writer preference: a read hold is never added while the writers-waiting bit is set.
      const barged = run.trace.findIndex(
        (e) =>
          e.thread === 2 && e.op === "compareExchange" && e.word === run.data.rwWord && e.success &&
          (e.to! & RW_MASK) === (e.from! & RW_MASK) + 1 && (e.from! & WRITERS_WAITING) !== 0,
      );
      return barged < 0 ? undefined : `R2 took a read hold while a writer was waiting (step ${barged + 1})`;
    },
  },
  {
    name: "channel-disconnect",
    description:
      "a receiver waits on an empty channel while the only sender's thread dies and is reaped (its Sender count " +
      "goes, the channel is marked senders-gone): the receiver always ends with DISCONNECTED, no slice",
    slice: "raised",
    preemptions: 2,
    reclaims: true,
    threads: [
      {
        name: "sender",
        mortal: true,
        body(env) {
          return env.hold();
        },
      },
      {
        name: "receiver",
        body(env) {
          const raw = new RawChannel(env.rt, env.data.channel!, env.extras[0]!, env.me);
          // As sync/channel.ts recv: parkOn(new RecvWait(raw, core), WaitKind.Recv, timeout).
          const pos = parkOn(new RecvWait(raw, { closed: false, holdsAt: -1, waits: 0 }), WaitKind.Recv, Infinity);
          return pos === DISCONNECTED ? "disconnected" : `received at ${pos}`;
        },
      },
      reaper(0, "sender", PoisonCause.Exited),
    ],
    setup(rt, ids) {
      const [sender, receiver] = ids as [number, number];
      // As sync/channel.ts create(), with the sides counted by the two threads.
      const { channel, senderSide, receiverSide } = channelOfOneSlot(rt);
      countNew(rt, sender, senderSide, keep({}));
      countNew(rt, receiver, receiverSide, keep({}));
      return { channel, sender };
    },
    check: (run) => (run.outcomes[1] === "disconnected" ? undefined : `the receiver: ${run.outcomes[1]}`),
  },
  {
    name: "channel-ring-switch",
    description:
      "two senders (11 then 12; 21) and a receiver on a chain of rings of 1 and 2 slots: whichever sender finds the " +
      "first ring full switches the tail, whoever first needs the second ring writes where it starts, the receiver " +
      "follows: it gets all three exactly once, 11 before 12, no slice",
    ...ON_TWO_RINGS,
    preemptions: 2,
    threads: [
      { name: "s1", body: sendToRings(11, 12) },
      { name: "s2", body: sendToRings(21) },
      { name: "receiver", body: receiveFromRings((got) => got.length === 3) },
    ],
    setup(rt) {
      return { channel: channelRecords(rt).channel };
    },
    check(run) {
      if (run.outcomes[0] !== "sent" || run.outcomes[1] !== "sent") return `senders: ${run.outcomes[0]}, ${run.outcomes[1]}`;
      const got = String(run.outcomes[2]).split(",");
      const ok = got.length === 3 && [...got].sort().join(",") === "11,12,21" && got.indexOf("11") < got.indexOf("12");
      return ok ? undefined : `the receiver got ${run.outcomes[2]}`;
    },
  },
  {
    name: "channel-ring-sender-dies",
    description:
      "as channel-ring-switch, but the sender of 21 may be killed at any step (then reaped), its claim unpublished or " +
      "its switch half-seen: the receiver still gets 11 then 12, and 21 at most once, no slice",
    ...ON_TWO_RINGS,
    preemptions: 0,
    threads: [
      { name: "s1", body: sendToRings(11, 12) },
      { name: "s2", mortal: true, body: sendToRings(21) },
      { name: "receiver", body: receiveFromRings((got) => got.includes(12)) },
      reaper(1, "s2", PoisonCause.Terminated),
    ],
    setup(rt, ids) {
      const [s1, s2, receiver] = ids as [number, number, number];
      const { channel, senderSide, receiverSide } = channelRecords(rt);
      // Both senders count on the Sender record (the reaper walks s2's entry: raw-channel.ts deadSender).
      Atomics.add(rt.words, rt.objectBase(senderSide) + objectFields.O_REFS, 1);
      countNew(rt, s1, senderSide, keep({}));
      countNew(rt, s2, senderSide, keep({}));
      countNew(rt, receiver, receiverSide, keep({}));
      return { channel, s2 };
    },
    check(run) {
      if (run.outcomes[0] !== "sent") return `s1: ${run.outcomes[0]}`;
      const got = String(run.outcomes[2]).split(",");
      const others = got.filter((v) => v !== "11" && v !== "12" && v !== "21");
      const ok = others.length === 0 && got.filter((v) => v === "21").length <= 1 && got.indexOf("11") >= 0 && got.indexOf("11") < got.indexOf("12");
      return ok ? undefined : `the receiver got ${run.outcomes[2]}`;
    },
  },
  {
    name: "channel-receiver-dies",
    description:
      "a full ring of one slot: a receiver takes the message and may die before freeing the slot (and is reaped) " +
      "while a sender waits for room: the sender always gets the slot, no slice",
    slice: "raised",
    preemptions: 2,
    threads: [
      {
        name: "receiver",
        mortal: true,
        body(env) {
          const raw = new RawChannel(env.rt, env.data.channel!, env.extras[0]!, env.me);
          const pos = raw.claimRecv(); // the ring's words are not tracked: the claim is one step with what follows
          Atomics.load(env.shared, 1); // reading the message: a step, so the scheduler may kill the receiver here
          raw.finishRecv(pos);
          return `took ${pos}`;
        },
      },
      {
        name: "sender",
        body(env) {
          const raw = new RawChannel(env.rt, env.data.channel!, env.extras[0]!, env.me);
          // As sync/channel.ts send on a full ring: claimSend, then parkOn(new SendWait(raw, core), …).
          let pos = raw.claimSend();
          if (pos < 0) pos = parkOn(new SendWait(raw, { closed: false, holdsAt: -1, waits: 0 }), WaitKind.Send, Infinity);
          return pos === DISCONNECTED ? "disconnected" : `claimed ${pos}`;
        },
      },
      reaper(0, "receiver", PoisonCause.Terminated),
    ],
    setup(rt, ids) {
      const [receiver, sender] = ids as [number, number];
      const { channel, senderSide, receiverSide, data } = channelOfOneSlot(rt);
      countNew(rt, sender, senderSide, keep({}));
      countNew(rt, receiver, receiverSide, keep({}));
      // The sender's thread also has a Receiver (a second count of the record): the receivers never all go.
      Atomics.add(rt.words, rt.objectBase(receiverSide) + objectFields.O_REFS, 1);
      countNew(rt, sender, receiverSide, keep({}));
      const setupRaw = new RawChannel(rt, channel, data, sender);
      setupRaw.publishSend(setupRaw.claimSend()); // the ring is full: one message, at position 0
      return { channel, receiver };
    },
    check: (run) => (run.outcomes[1] === "claimed 1" ? undefined : `the sender: ${run.outcomes[1]}`),
  },
  {
    name: "channel-waiter-dies",
    description:
      "a receiver registers and records its wait (raw-channel.ts, \"A thread that dies waiting\") and may be killed at " +
      "any step, then reaped, while a sender publishes a message: the channel's waiter count is never withdrawn twice " +
      "(it ends at 0, or 1 when the receiver died between two steps of its wait), and a receiver that lives gets the message",
    slice: "raised",
    preemptions: 2,
    threads: [
      {
        name: "receiver",
        mortal: true,
        body(env) {
          const raw = new RawChannel(env.rt, env.data.channel!, env.extras[0]!, env.me);
          // As sync/channel.ts recv, with the side's holds word where its thread's entry has it.
          const side = { closed: false, holdsAt: env.data.receiverHolds!, waits: 0 };
          const pos = parkOn(new RecvWait(raw, side), WaitKind.Recv, Infinity);
          return pos === DISCONNECTED ? "disconnected" : `received at ${pos}`;
        },
      },
      {
        name: "sender",
        body(env) {
          const raw = new RawChannel(env.rt, env.data.channel!, env.extras[0]!, env.me);
          const pos = raw.claimSend();
          return pos >= 0 && raw.publishSend(pos) ? `sent at ${pos}` : "not sent";
        },
      },
      reaper(0, "receiver", PoisonCause.Terminated),
    ],
    setup(rt, ids) {
      const [receiver, sender] = ids as [number, number];
      const { channel, senderSide, receiverSide } = channelOfOneSlot(rt);
      countNew(rt, sender, senderSide, keep({}));
      const receiverHolds = holdsIndex(rt, countNew(rt, receiver, receiverSide, keep({})));
      // The sender's thread also has a Receiver: the receivers never all go when the receiver's thread dies.
      Atomics.add(rt.words, rt.objectBase(receiverSide) + objectFields.O_REFS, 1);
      countNew(rt, sender, receiverSide, keep({}));
      return { channel, receiver, receiverHolds, rwait: rt.objectBase(channel) + C_RWAIT };
    },
    check(run) {
      // A receiver killed between its record and its count may leak its registration (slower, harmless); one whose
      // registration was taken away twice would leave -1, and the next receiver to sleep uncounted (a lost wake-up).
      const waiting = run.load(run.data.rwait!);
      const most = run.outcomes[0] === "died" ? 1 : 0;
      if (waiting < 0 || waiting > most) return `the channel counts ${waiting} waiting receivers at the end, expected 0${most ? " or 1" : ""}`;
      if (run.outcomes[1] !== "sent at 0") return `the sender: ${run.outcomes[1]}`;
      return ["died", "received at 0"].includes(run.outcomes[0]!) ? undefined : `the receiver: ${run.outcomes[0]}`;
    },
  },
  {
    name: "transaction-wound",
    description:
      "two wound-wait transactions take the same two mutexes in opposite orders (the real transaction(), tx.lock, " +
      "Mutex): both finish, the older one never rolls back (a wound may race the younger one's sleep)",
    slice: "raised",
    preemptions: 2,
    maxTimeouts: 10,
    threads: [
      { name: "T1", body: (env) => runTransaction(env, 0, 1) },
      { name: "T2", body: (env) => runTransaction(env, 1, 0) },
    ],
    setup(rt) {
      const ids: Record<string, number> = {};
      for (const name of ["a", "b"]) {
        const tag = newDataTag();
        const views = allocateDataViews(i32, tag);
        const id = allocateObject(rt, ObjectKind.Mutex, name, undefined, tag);
        Atomics.add(rt.words, rt.objectBase(id) + objectFields.O_REFS, 1); // one count for each thread (retained)
        extraBuffers.push(views.buffer);
        ids[name] = id;
      }
      return ids;
    },
    init(env) {
      // Each thread revives the two Mutex objects from their records, as receiving their handles would.
      const kind = shareableNamed("Mutex")!;
      return [env.data.a!, env.data.b!].map((id, k) => {
        const parts = { data: env.extras[k]!, layout: i32.describe() };
        kind.checkParts(env.rt, id, parts);
        return kind.fromHandle(env.rt, id, parts, true);
      });
    },
    check(run) {
      if (!run.outcomes.every((o) => o.startsWith("ran "))) return `outcomes: ${run.outcomes.join(", ")}`;
      const older = run.txnTicket(0) < run.txnTicket(1) ? 0 : 1;
      return run.outcomes[older] === "ran 1 time" ? undefined : `the older transaction (thread ${older}) rolled back: ${run.outcomes[older]}`;
    },
  },
];

/** Run in the scheduler: a fresh runtime for `scenario`, its threads allocated, its objects made. */
export function createModel(scenario: Scenario): {
  rtBuffer: SharedArrayBuffer;
  ids: number[];
  data: Record<string, number>;
  cold: Uint8Array;
  labels: Record<number, string>;
  extras: SharedArrayBuffer[];
} {
  extraBuffers = [];
  hotSlots.length = 0;
  settings.stallWarnMs = 0; // the virtual clock jumps: no stall reports
  const rt = Runtime.create(16);
  storeSettings(rt);
  const ids = scenario.threads.map((t) => rt.allocateThread(t.name));
  const data = scenario.setup(rt, ids);
  // A setup may run a thread under another id than the one allocated for it (`thread<t>`).
  ids.forEach((_, t) => {
    if (data[`thread${t}`] !== undefined) ids[t] = data[`thread${t}`]!;
  });
  setParkSliceMs(rt, scenario.slice === "raised" ? 1e9 : 0);
  // Words no scenario thread writes: everything but the scenario threads' records, the scenario objects' mutable
  // words, the header's counters and free lists, and the arena. Loads of them run without a scheduling point (they
  // commute with everything); the checker fails any interleaving that writes one, so the list cannot silently lie.
  const cold = new Uint8Array(rt.words.length).fill(1);
  const hot = (from: number, to: number): void => void cold.fill(0, from, to);
  // The header: every word but the constants (magic, version, id, sizes), the object count and the settings.
  hot(0, HEADER_WORDS);
  for (const constant of [0, 1, 2, 3, 4, 5, 7, 8, H_PARK_SLICE_MS]) cold[constant] = 1;
  for (const slot of [...ids.map((id) => id & (MAX_THREADS - 1)), ...hotSlots]) hot(rt.threadBase(slot), rt.threadBase(slot) + THREAD_RECORD_WORDS);
  for (let id = 0; id < rt.objectCount(); id++) {
    const base = rt.objectBase(id);
    hot(base, base + OBJECT_RECORD_WORDS);
    if (!scenario.reclaims) for (const readOnly of [objectFields.O_KIND, objectFields.O_NAME, objectFields.O_LEVEL]) cold[base + readOnly] = 1;
  }
  for (let entry = 0; entry < rt.refSlots; entry++) {
    const index = rt.refsBase + entry * 3;
    if (rt.words[index] !== 0) hot(index, index + 3);
  }
  const labels: Record<number, string> = {};
  const tFields = Object.entries(threadFields).filter(([k, v]) => /^T_[A-Z0-9_]+$/.test(k) && typeof v === "number");
  const threadLabels: Array<[number, string]> = [
    ...ids.map((id, t): [number, string] => [id & (MAX_THREADS - 1), scenario.threads[t]!.name]),
    ...hotSlots.map((slot): [number, string] => [slot, `slot${slot}`]),
  ];
  for (const [slot, name] of threadLabels) {
    const base = rt.threadBase(slot);
    for (const [k, v] of tFields) {
      const word = k.endsWith("_I64") ? base + 2 * (v as number) : base + (v as number);
      labels[word] = `${name}.${k.replace(/^T_/, "").replace(/_I64$/, "")}`;
    }
  }
  const oFields = Object.entries(objectFields).filter(([k, v]) => /^O_[A-Z0-9_]+$/.test(k) && typeof v === "number");
  for (let id = 0; id < rt.objectCount(); id++) {
    const name = rt.objectName(id);
    const base = rt.objectBase(id);
    for (let k = 0; k < OBJECT_RECORD_WORDS; k++) labels[base + k] = `${name}.word${k}`;
    for (const [k, v] of oFields) if ((v as number) < OBJECT_RECORD_WORDS) labels[base + (v as number)] = `${name}.${k.replace(/^O_/, "")}`;
  }
  labels[2 * H_WAIT_TICKETS_I64] = "ticketCounter";
  labels[H_PARK_SLICE_MS] = "parkSliceMs";
  labels[2 * H_TXN_TICKETS_I64] = "transactionTicketCounter";
  return { rtBuffer: rt.buffer, ids, data, cold, labels, extras: extraBuffers };
}

/** Run in a simulated thread: joins the scenario's runtime as thread `id`. */
export function joinModelRuntime(buffer: SharedArrayBuffer, id: number): Runtime {
  settings.stallWarnMs = 0;
  return joinRuntime(buffer, id);
}

const HEADER_WORDS = 64;
const H_NEXT_SLOT_WORD = 9;

/** Run in the scheduler after an interleaving: whether thread `id` is alive in the runtime in `buffer`. */
export function aliveIn(buffer: SharedArrayBuffer, id: number): boolean {
  return Runtime.attach(buffer).isAlive(id);
}

export const TXN_TICKET_WORD = 2 * H_TXN_TICKETS_I64;
export const TICKET_WORD = 2 * H_WAIT_TICKETS_I64;
