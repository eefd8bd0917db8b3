/**
 * `Barrier`: lets `n` threads (or async tasks) meet, round after round. Each round ends when the n-th party
 * arrives; that one is the round's leader.
 */

import { LEADER, MAX_PARTIES, MAX_PENDING_PER_THREAD, RawBarrier, initBarrier } from "../raw/raw-barrier.js";
import { currentThreadId, runtime } from "../runtime/current.js";
import { ObjectKind } from "../runtime/kinds.js";
import { allocateObject, countArrived, countNew, holdsIndex } from "../runtime/lifetime.js";
import type { Runtime } from "../runtime/runtime.js";
import { describe, signalOf, timeoutOf, type LockAsyncOptions, type LockOptions } from "./options.js";
import { registerShareable, sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

/** Options of `new Barrier(n, options)`. */
export interface BarrierOptions {
  /** Appears in every error and report about this barrier (at most 256 UTF-8 bytes). Default: `Barrier#<id>`. */
  readonly name?: string;
}

/** What `Barrier.wait()` returns (Rust's `BarrierWaitResult`). */
export interface BarrierWaitResult {
  /** True for exactly one party per round: the one whose arrival completed it. */
  readonly isLeader: boolean;
}

const LEADER_RESULT: BarrierWaitResult = Object.freeze({ isLeader: true });
const FOLLOWER_RESULT: BarrierWaitResult = Object.freeze({ isLeader: false });

/** Rebuilds a Barrier from a handle (only the shareable registry calls it). */
const fromParts: unique symbol = Symbol("threadsafe.fromParts");
/** Reaches the per-thread core of a Barrier; not exported from the package. */
let barrierCoreOf: (object: Barrier) => BarrierCore; // a private field read through a static block: unreachable from user code

/** What one thread keeps of a barrier: its garbage collection ends the thread's count (runtime/lifetime.ts). */
interface BarrierCore {
  readonly raw: RawBarrier;
  readonly name: string;
}

/**
 * A barrier in shared memory, usable from every thread that has it (pass it to `spawn`, or through
 * `share`/`receive`): `wait()` blocks until `n` parties have called it, then all of them go on, and the barrier is
 * ready for the next round. Exactly one party per round is told it is the leader.
 *
 * A wait that times out (or, for `waitAsync`, is aborted) withdraws its arrival before it throws: the round does
 * not complete counting it. A thread that dies while waiting at a barrier has its arrival withdrawn the same way,
 * so the others never pass a round early because of a party that is gone; they wait for a live one instead (give
 * them a timeout if a party may die for good). If the round completed just before the timeout, the wait returns
 * normally: its arrival was used.
 *
 * `new Barrier(0)` behaves as `new Barrier(1)`, as in Rust: every wait returns at once, as the leader.
 *
 * @example
 * import { Barrier, spawn } from "threadsafe";
 * const barrier = new Barrier(4, { name: "step" });
 * const workers = [0, 1, 2, 3].map((i) =>
 *   spawn((barrier, i) => {
 *     for (let step = 0; step < 10; step++) {
 *       // …compute this worker's part of `step`…
 *       const { isLeader } = barrier.wait(); // nobody starts step + 1 before all 4 finished step
 *       if (isLeader) { } // one of the 4, once per round: e.g. publish the step's result
 *     }
 *   }, [barrier, i]),
 * );
 * for (const w of workers) await w.join();
 */
export class Barrier implements SharedObject {
  /** The name given at construction, or `Barrier#<id>`. */
  readonly name: string;
  readonly #core: BarrierCore;

  /**
   * Creates a barrier for `n` parties.
   * @throws TypeError or RangeError when `n` is not an integer from 0 to 65,535, or an option is malformed.
   */
  constructor(n: number, options?: BarrierOptions) {
    if (reviving) {
      this.#core = reviving;
      reviving = undefined;
      this.name = this.#core.name;
      return;
    }
    if (typeof n !== "number") {
      throw new TypeError(`threadsafe: new Barrier(n): n must be an integer from 0 to ${MAX_PARTIES} (the number of parties), got ${describe(n)}`);
    }
    if (!Number.isInteger(n) || n < 0 || n > MAX_PARTIES) {
      throw new RangeError(`threadsafe: new Barrier(n): n must be an integer from 0 to ${MAX_PARTIES} (the number of parties), got ${n}`);
    }
    const name = checkOptions(options);
    const rt = runtime();
    const id = allocateObject(rt, ObjectKind.Barrier, name, undefined, 0);
    initBarrier(rt, id, Math.max(n, 1));
    this.#core = makeCore(rt, id);
    this.name = this.#core.name;
    this.#core.raw.attach(holdsIndex(rt, countNew(rt, currentThreadId, id, this.#core)));
  }

  /**
   * Arrives, and blocks this thread until all `n` parties of the round have arrived.
   * @throws TimeoutError (`timeout` elapsed; the arrival was withdrawn), DeadlockError (every thread asleep),
   *   TypeError or RangeError for a bad option, or Error where blocking is forbidden (use `waitAsync`).
   */
  wait(options?: LockOptions): BarrierWaitResult {
    const raw = this.#core.raw;
    const timeout = options === undefined ? Infinity : timeoutOf(options, "wait");
    if (!raw.canArrive()) throw this.#tooMany();
    const generation = raw.arrive();
    if (generation === LEADER) return LEADER_RESULT;
    raw.wait(generation, timeout);
    return FOLLOWER_RESULT;
  }

  /**
   * Arrives, and waits without blocking the thread until all `n` parties of the round have arrived (the thread
   * stays alive meanwhile). Rejects with `TimeoutError`, or the signal's reason when aborted; either way the arrival
   * is withdrawn first (unless the round completed just before: then it resolves).
   */
  async waitAsync(options?: LockAsyncOptions): Promise<BarrierWaitResult> {
    const timeout = timeoutOf(options, "waitAsync");
    const signal = signalOf(options, "waitAsync");
    if (signal?.aborted) throw signal.reason;
    const raw = this.#core.raw;
    if (!raw.canArrive()) throw this.#tooMany();
    const generation = raw.arrive();
    if (generation === LEADER) return LEADER_RESULT;
    await raw.waitAsync(generation, timeout, signal);
    return FOLLOWER_RESULT;
  }

  /** How many parties a round needs (at least 1). */
  get parties(): number {
    return this.#core.raw.parties;
  }

  /** The barrier's id in the program's runtime: its `id` in errors, reports and `dumpLocks()`. */
  get lockId(): number {
    return this.#core.raw.id;
  }

  #tooMany(): RangeError {
    return new RangeError(
      `threadsafe: Barrier "${this.name}": this thread already has ${MAX_PENDING_PER_THREAD} waits pending on it; ` +
        `a thread may have at most ${MAX_PENDING_PER_THREAD} at once (use more threads, or fewer parties per thread)`,
    );
  }

  static {
    barrierCoreOf = (object) => object.#core;
  }

  /** Where this barrier lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.raw.rt, id: this.#core.raw.id, kind: ObjectKind.Barrier };
  }

  /** Rebuilds a barrier in this thread from a handle (record `id` is live and a Barrier: see shareable.ts). */
  static [fromParts](rt: Runtime, id: number, retained: boolean): Barrier {
    const core = makeCore(rt, id);
    core.raw.attach(holdsIndex(rt, countArrived(rt, currentThreadId, id, core, retained)));
    reviving = core;
    return new Barrier(0);
  }
}

registerShareable({
  kind: ObjectKind.Barrier,
  name: "Barrier",
  handleParts: () => ({}),
  checkParts() {},
  coreOf: (value) => barrierCoreOf(value as Barrier),
  wrap(core) {
    reviving = core as BarrierCore;
    return new Barrier(0);
  },
  fromHandle: (rt, id, _parts, retained) => Barrier[fromParts](rt, id, retained),
});

/** Set for the constructor call that revives a barrier (private fields need the constructor). */
let reviving: BarrierCore | undefined;

function makeCore(rt: Runtime, id: number): BarrierCore {
  return { raw: new RawBarrier(rt, id), name: rt.objectName(id) };
}

function checkOptions(options: BarrierOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`threadsafe: new Barrier(n, options): options must be an object like { name: "step" }, got ${describe(options)}`);
  }
  const { name } = options;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(`threadsafe: new Barrier(..., { name }): name must be a string, got ${describe(name)}`);
  }
  return name;
}
