// The soak scenario, written once for test/soak.test.ts (CI-sized) and scripts/soak.mjs (`--minutes N`).
//
// `workers` threads (spawned from test/support/soak-worker.mjs) hammer `mutexes` struct mutexes with every way of
// locking: lock(), tryLock(), lock({ timeout }), lockAsync() (with and without timeout), with() whose callback
// sometimes throws mid-update (poisoning), and two mutexes at once. Meanwhile this (main) thread terminates a
// random worker every few hundred milliseconds, often in the middle of a critical section, and spawns a
// replacement for its slot. Survivors recover poisoned mutexes with intoInner() + roll-back + clearPoison().
// See soak-worker.mjs for the ledger that makes the final accounting exact.
//
// runSoak resolves with the accounting; `ok` is true when every check held. It never hangs: a stall (no
// committed update for `stallMs`) or a worker that does not stop in time ends the run with a failure and a
// dumpLocks() report.

import { Mutex, ThreadError, array, dumpLocks, f64, i32, spawn, struct } from "threadsafe";
import { CTL, STAT, STAT_FIELDS, idSum, ledgerProblems, rollBack } from "./soak-worker.mjs";

const WORKER = new URL("./soak-worker.mjs", import.meta.url);

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `promise`'s outcome, or with { timedOut: true } after `ms`. */
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error) => ({ error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @param {object} [options]
 * @param {number} [options.durationMs] how long the workers run (default 30 s)
 * @param {number} [options.workers] concurrent worker threads (default 8)
 * @param {number} [options.mutexes] mutexes (default 4)
 * @param {[number, number]} [options.terminateEveryMs] a random worker is terminated every min..max ms
 * @param {number} [options.spinUs] up to this many microseconds of busy work inside each critical section
 * @param {number} [options.throwRate] the share of with() callbacks that throw mid-update
 * @param {number} [options.seed]
 * @param {number} [options.stallMs] no committed update for this long ends the run as a failure
 * @param {number} [options.aimAtCriticalSections] how often the killer picks a worker that is inside a critical section
 * @param {number} [options.minTerminations] the run goes on past `durationMs` (up to three times as long) until this
 *   many workers were terminated: where a termination takes longer (Deno, a loaded machine) it still does them
 * @param {(line: string) => void} [options.log]
 */
export async function runSoak(options = {}) {
  const {
    durationMs = 30_000,
    workers = 8,
    mutexes: M = 4,
    terminateEveryMs = [100, 400],
    spinUs = 40,
    throwRate = 0.05,
    seed = Date.now() >>> 0,
    stallMs = 15_000,
    aimAtCriticalSections = 0.7,
    minTerminations = 0,
    log = () => {},
  } = options;
  const started = performance.now();
  let x = seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };

  const layout = struct({
    dirty: i32,
    preSeq: i32,
    count: i32,
    preCount: i32,
    sum: f64,
    preSum: f64,
    applied: array(i32, workers),
  });
  const initial = { dirty: 0, preSeq: 0, count: 0, preCount: 0, sum: 0, preSum: 0, applied: new Array(workers).fill(0) };
  const mutexes = Array.from({ length: M }, (_, k) => new Mutex(layout, initial, { name: `soak-mutex-${k}` }));
  const ledger = new Int32Array(new SharedArrayBuffer(4 * workers * M)); // the committed log
  const reported = new Int32Array(new SharedArrayBuffer(4 * workers)); // updates reported after their unlock
  const stats = new Int32Array(new SharedArrayBuffer(4 * workers * STAT_FIELDS));
  const ctl = new Int32Array(new SharedArrayBuffer(4 * 4));
  // inside[slot] = 1 while that worker is inside a critical section: a hint that lets the killer aim for the
  // worst moment (it is not part of the accounting).
  const inside = new Int32Array(new SharedArrayBuffer(4 * workers));
  const deadline = Date.now() + 3 * durationMs + 60_000; // workers stop by themselves if this thread is gone

  const failures = [];
  const terminationsBySlot = new Array(workers).fill(0);
  let terminations = 0;
  let terminatedHolding = 0;
  let spawned = 0;
  /** @type {{ handle: import("threadsafe").JoinHandle<unknown>, generation: number }[]} */
  const running = new Array(workers);
  const generations = new Array(workers).fill(0);

  const start = (slot) => {
    const generation = generations[slot]++;
    Atomics.store(inside, slot, 0);
    const config = {
      slot,
      seed: (seed ^ Math.imul(slot + 1, 0x9e3779b1) ^ Math.imul(generation + 1, 0x85ebca6b)) >>> 0,
      mutexes,
      log: ledger,
      reported,
      stats,
      ctl,
      inside,
      slots: workers,
      spinUs,
      throwRate,
      deadline,
    };
    running[slot] = { handle: spawn(WORKER, [config], { name: `soak-${slot}.${generation}` }), generation };
    spawned++;
  };
  for (let slot = 0; slot < workers; slot++) start(slot);
  log(`soak: ${workers} workers, ${M} mutexes, ${Math.round(durationMs / 1000)} s, seed ${seed}`);

  // The killer: terminate a random worker now and then, and replace it.
  let lastProgress = 0;
  let lastProgressAt = performance.now();
  let nextReport = performance.now() + 10_000;
  const killing = () => {
    const elapsed = performance.now() - started;
    return elapsed < durationMs || (terminations < minTerminations && elapsed < 3 * durationMs);
  };
  while (killing()) {
    const [min, max] = terminateEveryMs;
    await sleep(min + rand() * (max - min));
    const progress = Atomics.load(ctl, CTL.progress);
    if (progress !== lastProgress) {
      lastProgress = progress;
      lastProgressAt = performance.now();
    } else if (performance.now() - lastProgressAt > stallMs) {
      failures.push(`stall: no committed update for ${stallMs} ms\n${dumpLocks().toString()}`);
      break;
    }
    if (performance.now() > nextReport) {
      nextReport += 10_000;
      log(`soak: ${Math.round((performance.now() - started) / 1000)} s, ${progress} updates, ${terminations} terminations`);
    }
    // Usually aim at a worker that is inside a critical section right now; otherwise anyone.
    const busy = [];
    for (let s = 0; s < workers; s++) if (Atomics.load(inside, s) === 1) busy.push(s);
    const slot = busy.length > 0 && rand() < aimAtCriticalSections ? busy[Math.floor(rand() * busy.length)] : Math.floor(rand() * workers);
    const { handle } = running[slot];
    await handle.terminate();
    const outcome = await within(handle.join(), 10_000);
    if (outcome.timedOut) {
      failures.push(`join() of terminated ${handle.name} did not settle within 10 s`);
    } else if (outcome.error) {
      const e = outcome.error;
      if (!(e instanceof ThreadError) || e.how !== "terminated") {
        failures.push(`terminated ${handle.name}: join rejected with ${e?.name} (${e?.how}): ${e?.message}`);
      }
      if (/still held/.test(e?.message ?? "")) terminatedHolding++;
    } else {
      failures.push(`terminated ${handle.name}, yet join() resolved with ${JSON.stringify(outcome.value)}`);
    }
    terminations++;
    terminationsBySlot[slot]++;
    start(slot);
  }

  // Stop everyone and collect the survivors' own counts.
  Atomics.store(ctl, CTL.stop, 1);
  const survivors = [];
  for (const { handle } of running) {
    const outcome = await within(handle.join(), 30_000);
    if (outcome.timedOut) {
      failures.push(`${handle.name} did not stop within 30 s\n${dumpLocks().toString()}`);
      await handle.terminate();
    } else if (outcome.error) {
      failures.push(`${handle.name} failed: ${outcome.error?.message}`);
    } else {
      survivors.push(outcome.value);
    }
  }
  const runMs = performance.now() - started;

  // Final accounting, under each lock (the last terminated worker may have left one poisoned and half-updated).
  const finals = [];
  let finalRollBacks = 0;
  let finalPoisoned = 0;
  for (let k = 0; k < M; k++) {
    let guard;
    try {
      guard = mutexes[k].lock({ timeout: 10_000 });
    } catch (error) {
      if (error?.name !== "PoisonError") {
        failures.push(`final lock of mutex ${k}: ${error?.name}: ${error?.message}`);
        continue;
      }
      finalPoisoned++;
      guard = error.intoInner();
      if (rollBack(guard.value, k, ledger, M) >= 0) finalRollBacks++;
      mutexes[k].clearPoison();
    }
    try {
      const v = guard.value;
      for (const problem of ledgerProblems(v, k, ledger, M, workers)) failures.push(`final ledger of mutex ${k}: ${problem}`);
      let expectCount = 0;
      let expectSum = 0;
      for (let s = 0; s < workers; s++) {
        expectCount += ledger[s * M + k];
        expectSum += idSum(s, k, ledger[s * M + k]);
      }
      if (v.count !== expectCount) failures.push(`mutex ${k}: count ${v.count}, committed log says ${expectCount}`);
      if (v.sum !== expectSum) failures.push(`mutex ${k}: sum ${v.sum}, committed log says ${expectSum}`);
      finals.push({ mutex: k, count: v.count, sum: v.sum });
    } finally {
      guard.unlock();
    }
  }

  // Completed updates (reported after their unlock returned) are all in the log; the log may hold at most two more
  // per terminated incarnation (committed, then killed before reporting: one per mutex it held).
  let committed = 0;
  let reportedTotal = 0;
  for (let s = 0; s < workers; s++) {
    let inLog = 0;
    for (let k = 0; k < M; k++) inLog += ledger[s * M + k];
    committed += inLog;
    reportedTotal += reported[s];
    const unreported = inLog - reported[s];
    if (unreported < 0) failures.push(`slot ${s}: ${reported[s]} updates completed but only ${inLog} are in the data: ${-unreported} LOST`);
    if (unreported > 2 * terminationsBySlot[s]) {
      failures.push(`slot ${s}: ${unreported} committed updates never reported, with only ${terminationsBySlot[s]} terminations: DOUBLED?`);
    }
  }

  const total = (field) => {
    let n = 0;
    for (let s = 0; s < workers; s++) n += stats[s * STAT_FIELDS + field];
    return n;
  };
  const violations = total(STAT.violations);
  if (violations > 0 || Atomics.load(ctl, CTL.violations) > 0) failures.push(`${violations} invariant violations inside critical sections (see [soak violation] lines)`);
  if (!survivors.every((r) => r.isMutex)) failures.push("a worker received something that is not a Mutex");

  const result = {
    ok: failures.length === 0,
    failures,
    seed,
    runMs: Math.round(runMs),
    workers,
    mutexes: M,
    threadsSpawned: spawned,
    operations: {
      lock: total(STAT.lock),
      tryLock: total(STAT.tryLock),
      timedLock: total(STAT.timedLock),
      lockAsync: total(STAT.lockAsync),
      with: total(STAT.with),
      nested: total(STAT.nested),
    },
    committedUpdates: committed,
    reportedUpdates: reportedTotal,
    committedNotReported: committed - reportedTotal,
    tryLockMisses: total(STAT.tryMiss),
    timeouts: total(STAT.timeouts),
    withThrows: total(STAT.withThrows),
    terminations,
    terminatedWhileHolding: terminatedHolding,
    poisonRecovered: {
      rolledBackAfterTermination: total(STAT.rolledBackTerminated),
      rolledBackAfterThrow: total(STAT.rolledBackThrew),
      cleanAfterTermination: total(STAT.cleanTerminated),
      cleanOther: total(STAT.cleanOther),
      atTheEnd: finalPoisoned,
      rolledBackAtTheEnd: finalRollBacks,
    },
    poisonAttribution: { namedTheHalfDoneThread: total(STAT.attributed), namedAnother: total(STAT.misattributed) },
    violations,
    finals,
    survivors: survivors.map((r) => ({ name: r.name, operations: r.operations, committed: r.committed })),
  };
  const ops = Object.values(result.operations).reduce((a, b) => a + b, 0);
  result.operationsTotal = ops;
  return result;
}

/** The accounting as readable lines. */
export function formatSoak(result) {
  const p = result.poisonRecovered;
  const lines = [
    `soak ${result.ok ? "OK" : "FAILED"} — ${result.workers} workers, ${result.mutexes} mutexes, ${(result.runMs / 1000).toFixed(1)} s, seed ${result.seed}`,
    `  operations        ${result.operationsTotal} (lock ${result.operations.lock}, tryLock ${result.operations.tryLock}, lock({timeout}) ${result.operations.timedLock}, lockAsync ${result.operations.lockAsync}, with ${result.operations.with}, nested ${result.operations.nested})`,
    `  committed updates ${result.committedUpdates} (reported after unlock ${result.reportedUpdates}; committed by a thread killed before it could report ${result.committedNotReported})`,
    `  tryLock misses    ${result.tryLockMisses}; timeouts ${result.timeouts}; with() callbacks thrown ${result.withThrows}`,
    `  terminations      ${result.terminations}, ${p.rolledBackAfterTermination + p.cleanAfterTermination} of them left a lock poisoned (their ThreadError said "still held": ${result.terminatedWhileHolding}); threads spawned ${result.threadsSpawned}`,
    `  poison recovered  ${p.rolledBackAfterTermination + p.rolledBackAfterThrow + p.cleanAfterTermination + p.cleanOther + p.atTheEnd}: rolled back after termination ${p.rolledBackAfterTermination}, after a throw ${p.rolledBackAfterThrow}; nothing half-done after termination ${p.cleanAfterTermination}, other ${p.cleanOther}; at the end ${p.atTheEnd} (rolled back ${p.rolledBackAtTheEnd})`,
    `  poison messages   named the thread that left the update half-done ${result.poisonAttribution.namedTheHalfDoneThread}, another ${result.poisonAttribution.namedAnother}`,
    `  violations        ${result.violations}`,
    ...result.finals.map((f) => `  mutex ${f.mutex}          count ${f.count}, sum of ids ${f.sum}`),
    ...result.failures.map((f) => `  FAILURE: ${f}`),
  ];
  return lines.join("\n");
}
