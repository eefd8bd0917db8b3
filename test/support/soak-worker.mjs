// One soak worker (run by spawn(moduleUrl) from soak-scenario.mjs), plus the ledger rules that the workers and
// the final accounting share. Plain ESM JavaScript: Node 20 cannot parse `using`, so guards are released by hand.
//
// THE LEDGER (one per mutex k, inside the mutex's struct, so it is only ever touched under the lock):
//   applied[s]   how many updates of worker slot s this mutex holds (the update ids are (s, k, 0..applied[s]-1))
//   count, sum   the number of updates and the sum of their ids (derived; must equal what applied[] implies)
//   dirty        0, or s+1 while slot s is in the middle of an update (begin marker)
//   pre*         the pre-images of count, sum and applied[s], written before dirty is set
// and, OUTSIDE the mutex, the committed log: log[s * M + k] = applied[s] as slot s last wrote it, written inside the
// same critical section. An update is:
//   pre* := current values; dirty := s+1          (begin: one write makes the pre-images authoritative)
//   sum += id; count += 1; applied[s] += 1; log[s*M+k] = applied[s]
//   dirty := 0                                     (COMMIT: one write at the end of the critical section)
// A critical section that ends without its commit (its `with` callback threw, or its thread was terminated) leaves
// dirty != 0 and a poisoned lock. The next locker gets PoisonError, takes the guard with intoInner(), rolls the
// update back from the pre-images (data AND committed log, both under this lock, idempotently, dirty := 0 last),
// then clearPoison(). So "in the data" ⇔ "in the committed log" ⇔ "the commit write happened", exactly, whatever
// instant a thread died at. Any locker that gets the lock WITHOUT PoisonError and finds dirty != 0, or a ledger
// that does not add up, has caught a library bug (two holders at once, or a dead holder released unpoisoned).

import { Mutex, currentThread } from "threadsafe";

/** Indexes of the per-slot statistics (Int32Array, `STAT_FIELDS` per slot, accumulated over incarnations). */
export const STAT = {
  lock: 0, // updates attempted through lock()
  tryLock: 1, // tryLock() calls
  timedLock: 2, // lock({ timeout }) calls
  lockAsync: 3, // lockAsync() calls (half with a timeout)
  with: 4, // with() calls (some with a timeout)
  nested: 5, // two mutexes at once, in index order
  tryMiss: 6, // tryLock() found the lock held
  timeouts: 7, // LockTimeoutError (lock, lockAsync, with)
  rolledBackTerminated: 8, // PoisonError recovered, half-done update of a terminated thread rolled back
  rolledBackThrew: 9, // PoisonError recovered, half-done update of a thrown with() callback rolled back
  cleanTerminated: 10, // PoisonError recovered, a terminated thread held the lock but nothing was half-done
  cleanOther: 11, // PoisonError recovered, other causes with nothing half-done
  withThrows: 12, // with() callbacks that threw on purpose mid-update
  violations: 13, // invariant violations (library bugs): must stay 0
  attributed: 14, // rollbacks whose PoisonError named the thread that left the update half-done
  misattributed: 15, // rollbacks whose PoisonError named another thread (a recoverer died mid-repair, or a bug)
};
export const STAT_FIELDS = 16;

/** Control words (Int32Array). */
export const CTL = { stop: 0, progress: 1, violations: 2 };



/** The first id of slot s's updates on mutex k: update q has id base + q. */
export function idBase(s, k) {
  return (s + 1) * 1_000_003 + k * 7_919;
}

/** Sum of the ids of slot s's first n updates on mutex k (exact in a double for any n a soak reaches). */
export function idSum(s, k, n) {
  return n * idBase(s, k) + (n * (n - 1)) / 2;
}

/**
 * Checks the ledger of mutex k (guard held). Returns a list of problems (empty when consistent). `v` is the live
 * struct view.
 */
export function ledgerProblems(v, k, log, M, slots) {
  const problems = [];
  if (v.dirty !== 0) problems.push(`dirty=${v.dirty} (slot ${v.dirty - 1} is mid-update) with no PoisonError`);
  const applied = v.applied.toArray();
  let count = 0;
  let sum = 0;
  for (let s = 0; s < slots; s++) {
    count += applied[s];
    sum += idSum(s, k, applied[s]);
    const logged = log[s * M + k];
    if (logged !== applied[s]) problems.push(`applied[${s}]=${applied[s]} but the committed log says ${logged}`);
  }
  if (v.count !== count) problems.push(`count=${v.count} but applied[] adds up to ${count}`);
  if (v.sum !== sum) problems.push(`sum=${v.sum} but applied[] implies ${sum}`);
  return problems;
}

/**
 * Repairs mutex k after a PoisonError (guard held, taken with intoInner()): rolls a half-done update back from its
 * pre-images, data and committed log alike. Idempotent: a recoverer that dies half-way leaves dirty set and the
 * next one redoes it. Returns the slot whose update was rolled back, or -1.
 */
export function rollBack(v, k, log, M) {
  const dirty = v.dirty;
  if (dirty === 0) return -1;
  const s = dirty - 1;
  v.sum = v.preSum;
  v.count = v.preCount;
  v.applied[s] = v.preSeq;
  log[s * M + k] = v.preSeq;
  v.dirty = 0;
  return s;
}

class SoakPanic extends Error {
  name = "SoakPanic";
}

/** The worker: mixes every way of locking over `mutexes` until told to stop. Returns its own counts. */
export default async function soakWorker(config) {
  const { slot, seed, mutexes, log, reported, stats, ctl, inside, slots, spinUs, throwRate, deadline } = config;
  const M = mutexes.length;
  const me = currentThread();
  let x = seed >>> 0 || 0x9e3779b9;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const bump = (field, n = 1) => Atomics.add(stats, slot * STAT_FIELDS + field, n);
  const local = { committed: 0, operations: 0 };
  /** applied[slot] of each mutex as this incarnation last left it (-1: not seen yet). */
  const mine = new Array(M).fill(-1);

  const violation = (k, text) => {
    bump(STAT.violations);
    Atomics.add(ctl, CTL.violations, 1);
    console.error(`[soak violation] ${me.name} on mutex ${k}: ${text}`);
  };

  const spin = () => {
    const us = rand() * spinUs;
    if (us < 1) return;
    const end = performance.now() + us / 1000;
    while (performance.now() < end);
  };

  /** After acquiring mutex k (poisonError set when it came through a PoisonError): recover, then check. */
  const enter = (k, guard, poisonError) => {
    Atomics.store(inside, slot, 1);
    const v = guard.value;
    if (poisonError) {
      const terminated = /was terminated/.test(poisonError.message);
      const dirty = v.dirty;
      const s = rollBack(v, k, log, M);
      if (s >= 0) {
        bump(terminated ? STAT.rolledBackTerminated : STAT.rolledBackThrew);
        bump(poisonError.message.includes(`"soak-${s}.`) ? STAT.attributed : STAT.misattributed);
      } else bump(terminated ? STAT.cleanTerminated : STAT.cleanOther);
      mutexes[k].clearPoison();
      if (dirty !== 0 && v.dirty !== 0) violation(k, "roll-back did not clear dirty");
    }
    const problems = ledgerProblems(v, k, log, M, slots);
    if (problems.length > 0) {
      violation(k, problems.join("; "));
      // Repair so one bug is reported once, not on every later entry.
      const applied = v.applied.toArray();
      for (let s = 0; s < slots; s++) log[s * M + k] = applied[s];
      v.count = applied.reduce((a, b) => a + b, 0);
      v.sum = applied.reduce((a, n, s) => a + idSum(s, k, n), 0);
      v.dirty = 0;
    }
    return v;
  };

  /** One update of mutex k through its view; `panic` throws before the commit (inside with()). */
  const update = (k, v, panic) => {
    const q = v.applied[slot];
    if (mine[k] !== -1 && mine[k] !== q) violation(k, `applied[${slot}] is ${q}, this thread left it at ${mine[k]}`);
    v.preSum = v.sum;
    v.preCount = v.count;
    v.preSeq = q;
    v.dirty = slot + 1; // begin
    v.sum = v.sum + idBase(slot, k) + q;
    spin();
    v.count = v.count + 1;
    v.applied[slot] = q + 1;
    log[slot * M + k] = q + 1;
    if (panic) throw new SoakPanic(`planned panic in slot ${slot}, mutex ${k}`);
    spin();
    v.dirty = 0; // COMMIT
    mine[k] = q + 1;
  };

  /** Runs `take` (a lock call); returns [guard, poisonError] or undefined on a timeout. */
  const acquire = (k, take) => {
    try {
      return [take(), undefined];
    } catch (error) {
      return caught(k, error);
    }
  };
  const acquireAsync = async (k, take) => {
    try {
      return [await take(), undefined];
    } catch (error) {
      return caught(k, error);
    }
  };
  const caught = (k, error) => {
    if (error?.name === "PoisonError") return [error.intoInner(), error];
    if (error?.name === "LockTimeoutError") {
      bump(STAT.timeouts);
      return undefined;
    }
    violation(k, `unexpected ${error?.name}: ${error?.message}`);
    return undefined;
  };

  /** Updates and releases; reports the update only after the unlock returned. */
  const commitAndRelease = (k, guard, poisonError, panic = false) => {
    let committed = false;
    try {
      const v = enter(k, guard, poisonError);
      update(k, v, panic);
      committed = true;
    } finally {
      Atomics.store(inside, slot, 0);
      guard.unlock();
    }
    if (committed) {
      local.committed++;
      Atomics.add(reported, slot, 1);
      Atomics.add(ctl, CTL.progress, 1);
    }
  };

  while (Atomics.load(ctl, CTL.stop) === 0 && Date.now() < deadline) {
    local.operations++;
    const r = rand();
    const k = Math.floor(rand() * M);
    const m = mutexes[k];
    try {
      if (r < 0.25) {
        bump(STAT.lock);
        const got = acquire(k, () => m.lock());
        if (got) commitAndRelease(k, got[0], got[1]);
      } else if (r < 0.4) {
        bump(STAT.tryLock);
        const got = acquire(k, () => m.tryLock());
        if (got && got[0] === undefined) bump(STAT.tryMiss);
        else if (got) commitAndRelease(k, got[0], got[1]);
      } else if (r < 0.55) {
        bump(STAT.timedLock);
        const got = acquire(k, () => m.lock({ timeout: 1 + rand() * 4 }));
        if (got) commitAndRelease(k, got[0], got[1]);
      } else if (r < 0.75) {
        bump(STAT.lockAsync);
        const options = rand() < 0.5 ? { timeout: 1 + rand() * 9 } : undefined;
        const got = await acquireAsync(k, () => m.lockAsync(options));
        if (got) commitAndRelease(k, got[0], got[1]);
      } else if (r < 0.95) {
        bump(STAT.with);
        const panic = rand() < throwRate;
        const options = rand() < 0.3 ? { timeout: 2 + rand() * 8 } : undefined;
        let committed = false;
        try {
          m.with((guard) => {
            try {
              update(k, enter(k, guard, undefined), panic);
              committed = true;
            } finally {
              Atomics.store(inside, slot, 0);
            }
          }, options);
        } catch (error) {
          if (error instanceof SoakPanic) bump(STAT.withThrows);
          else {
            // with() itself threw before running the callback: the lock was poisoned or timed out.
            const got = caught(k, error);
            if (got) commitAndRelease(k, got[0], got[1]);
          }
        }
        if (committed) {
          local.committed++;
          Atomics.add(reported, slot, 1);
          Atomics.add(ctl, CTL.progress, 1);
        }
      } else {
        bump(STAT.nested);
        const k2 = (k + 1 + Math.floor(rand() * (M - 1))) % M;
        const [a, b] = k < k2 ? [k, k2] : [k2, k];
        const first = acquire(a, () => mutexes[a].lock());
        if (first) {
          try {
            const second = acquire(b, () => mutexes[b].lock());
            if (second) commitAndRelease(b, second[0], second[1]);
            commitAndRelease(a, first[0], first[1]);
          } finally {
            if (first[0].held) first[0].unlock();
          }
        }
      }
    } catch (error) {
      violation(k, `operation failed: ${error?.name}: ${error?.message}\n${error?.stack}`);
    }
    // Let the event loop run now and then (unclaimed-guard timers, async bookkeeping).
    if ((local.operations & 255) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return { slot, name: me.name, ...local, isMutex: mutexes.every((m) => m instanceof Mutex) };
}
