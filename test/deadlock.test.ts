// Deadlocks caught instead of hung: a wait-for cycle throws DeadlockError in exactly one thread (the one whose wait
// closed it) and every other thread of the cycle goes on. Real workers, real shared memory, threads made to meet
// with Int32Array flags and bounded waits; every test has an exact oracle and a time bound. Workers are spawned once
// per test and run many rounds, coordinated by per-round barrier counters (spawning costs ~100 ms under tsx).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DeadlockError,
  LockTimeoutError,
  Mutex,
  configure,
  currentThread,
  dumpLocks,
  i32,
  spawn,
  type CycleEntry,
} from "threadsafe";
import { flags, joinAll, lockState, note, threadState, until, waitForWaiters } from "./support/deadlock-helpers.ts";

/** What a victim saw, copied out of its DeadlockError (a class instance does not cross threads). */
interface Caught {
  readonly name: string;
  readonly kind: string;
  readonly isDeadlockError: boolean;
  readonly message: string;
  readonly cycle: readonly CycleEntry[];
  readonly json: unknown;
  readonly dot: string;
  readonly mermaid: string;
  readonly stringified: string;
}

interface PairResult {
  readonly victimRounds: number[];
  readonly problems: string[];
  readonly caught: Caught | undefined;
}

/**
 * One thread of the two-thread deadlock, for `rounds` rounds: lock `first`, meet the other thread (both hold one
 * lock), lock `second`. Exactly one of the two gets DeadlockError, releases `first`, and the other one completes its
 * critical section. Per round r: ctl[2r] counts threads holding their first lock, ctl[2r + 1] threads done with
 * the round; stats[2r] counts victims, stats[2r + 1] completed critical sections. Every round's error is checked
 * here; the first one is also sent back whole.
 */
const pairThread = async (
  first: Mutex<number>,
  second: Mutex<number>,
  ctl: Int32Array,
  stats: Int32Array,
  rounds: number,
  otherName: string,
): Promise<PairResult> => {
  const { DeadlockError, currentThread } = await import("threadsafe");
  const me = currentThread();
  const meet = (index: number, count: number) => {
    Atomics.add(ctl, index, 1);
    Atomics.notify(ctl, index);
    const giveUp = Date.now() + 10_000;
    for (;;) {
      const seen = Atomics.load(ctl, index);
      if (seen >= count) return;
      const left = giveUp - Date.now();
      if (left <= 0) throw new Error(`${me.name}: barrier ${index} timed out with ${seen} of ${count} threads`);
      Atomics.wait(ctl, index, seen, left);
    }
  };
  const victimRounds: number[] = [];
  const problems: string[] = [];
  let caught: Caught | undefined;
  for (let r = 0; r < rounds; r++) {
    const a = first.lock();
    meet(2 * r, 2);
    try {
      const b = second.lock();
      a.value += 1; // the critical section: both counters, under both locks
      b.value += 1;
      Atomics.add(stats, 2 * r + 1, 1);
      b.unlock();
    } catch (error) {
      if (!(error instanceof DeadlockError)) {
        a.unlock();
        throw error;
      }
      Atomics.add(stats, 2 * r, 1);
      victimRounds.push(r);
      const e = error;
      const c = e.cycle;
      const expect = (ok: boolean, what: string) => {
        if (!ok && problems.length < 20) problems.push(`round ${r}: ${what}`);
      };
      expect(e.name === "DeadlockError" && e.kind === "cycle", `name ${e.name}, kind ${e.kind}`);
      expect(c.length === 2, `cycle of ${c.length}`);
      if (c.length === 2) {
        expect(c[0]!.thread.id === me.id && c[0]!.thread.name === me.name, `cycle[0].thread ${JSON.stringify(c[0]!.thread)}`);
        expect(c[0]!.waitsFor.name === second.name, `cycle[0].waitsFor ${c[0]!.waitsFor.name}`);
        expect(c[0]!.holds.length === 1 && c[0]!.holds[0]!.name === first.name, `cycle[0].holds ${JSON.stringify(c[0]!.holds)}`);
        expect(c[1]!.thread.name === otherName, `cycle[1].thread ${JSON.stringify(c[1]!.thread)}`);
        expect(c[1]!.waitsFor.name === first.name, `cycle[1].waitsFor ${c[1]!.waitsFor.name}`);
        expect(c[1]!.holds.length === 1 && c[1]!.holds[0]!.name === second.name, `cycle[1].holds ${JSON.stringify(c[1]!.holds)}`);
      }
      if (caught === undefined) {
        caught = {
          name: e.name,
          kind: e.kind,
          isDeadlockError: e instanceof DeadlockError,
          message: e.message,
          cycle: e.cycle,
          json: e.toJSON(),
          dot: e.toDot(),
          mermaid: e.toMermaid(),
          stringified: JSON.stringify(e),
        };
      }
    }
    a.unlock();
    meet(2 * r + 1, 2);
  }
  return { victimRounds, problems, caught };
};

test("two threads, A→B and B→A, made to meet 200 times: exactly one DeadlockError and one completed critical section every round", { timeout: 60_000 }, async () => {
  const ROUNDS = 200;
  const a = new Mutex(i32, 0, { name: "lock A" });
  const b = new Mutex(i32, 0, { name: "lock B" });
  const ctl = flags(2 * ROUNDS);
  const stats = flags(2 * ROUNDS);
  const names = ["pair-1 (A then B)", "pair-2 (B then A)"] as const;
  const started = performance.now();
  const handles = [
    spawn(pairThread, [a, b, ctl, stats, ROUNDS, names[1]], { name: names[0] }),
    spawn(pairThread, [b, a, ctl, stats, ROUNDS, names[0]], { name: names[1] }),
  ];
  const [one, two] = await joinAll(handles, 45_000, "two-thread deadlock rounds");
  const elapsed = performance.now() - started;

  // Exactly one victim and one completion in every single round.
  const perRound: string[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (stats[2 * r] !== 1 || stats[2 * r + 1] !== 1) perRound.push(`round ${r}: ${stats[2 * r]} victims, ${stats[2 * r + 1]} completions`);
  }
  assert.deepEqual(perRound, []);
  assert.equal(one!.victimRounds.length + two!.victimRounds.length, ROUNDS);
  assert.deepEqual([...one!.victimRounds, ...two!.victimRounds].sort((x, y) => x - y), Array.from({ length: ROUNDS }, (_, r) => r));
  assert.deepEqual([...one!.problems, ...two!.problems], []);
  // The survivors' critical sections all happened, under both locks.
  assert.equal(a.with((g) => g.value), ROUNDS);
  assert.equal(b.with((g) => g.value), ROUNDS);

  // One error, checked whole. Both threads were the victim at some point, almost always; check whichever we have.
  const results = [one!, two!];
  const v = results.findIndex((x) => x.caught !== undefined);
  const caught = results[v]!.caught!;
  const victim = handles[v]!;
  const other = handles[1 - v]!;
  const [victimFirst, victimSecond] = v === 0 ? [a, b] : [b, a];
  assert.equal(caught.name, "DeadlockError");
  assert.equal(caught.kind, "cycle");
  assert.equal(caught.isDeadlockError, true);
  assert.equal(caught.cycle.length, 2);
  const [c0, c1] = caught.cycle as [CycleEntry, CycleEntry];
  assert.deepEqual(c0.thread, { id: victim.threadId, name: victim.name });
  assert.deepEqual(c1.thread, { id: other.threadId, name: other.name });
  assert.equal(c0.waitsFor.name, victimSecond.name);
  assert.equal(c1.waitsFor.name, victimFirst.name);
  assert.deepEqual(c0.holds.map((l) => l.name), [victimFirst.name]);
  assert.deepEqual(c1.holds.map((l) => l.name), [victimSecond.name]);
  // Lock ids agree across entries: what one waits for is what the other holds.
  assert.equal(c0.waitsFor.id, c1.holds[0]!.id);
  assert.equal(c1.waitsFor.id, c0.holds[0]!.id);
  assert.notEqual(c0.waitsFor.id, c1.waitsFor.id);
  assert.deepEqual(Object.keys(c0).sort(), ["holds", "thread", "waitsFor"]);
  // The message names both threads and both locks, and says what to do.
  for (const name of [...names, "lock A", "lock B"]) assert.ok(caught.message.includes(`"${name}"`), `message names "${name}":\n${caught.message}`);
  assert.match(caught.message, /would deadlock/);
  assert.match(caught.message, /Fix:/);
  assert.match(caught.message, /lockAll/);
  // toJSON, toDot, toMermaid.
  assert.deepEqual(caught.json, { name: "DeadlockError", kind: "cycle", message: caught.message, cycle: caught.cycle });
  assert.deepEqual(JSON.parse(caught.stringified), caught.json);
  assert.ok(caught.dot.startsWith("digraph"), caught.dot);
  assert.ok(caught.mermaid.startsWith("flowchart"), caught.mermaid);
  for (const graph of [caught.dot, caught.mermaid]) {
    for (const name of [...names, "lock A", "lock B"]) assert.ok(graph.includes(name), `graph names ${name}:\n${graph}`);
    assert.match(graph, /waits for/);
    assert.match(graph, /held by/);
  }
  note(
    `two-thread deadlock: ${ROUNDS} rounds in ${Math.round(elapsed)} ms; victims: "${names[0]}" ${one!.victimRounds.length}×, ` +
      `"${names[1]}" ${two!.victimRounds.length}×`,
  );
});

test("the main thread closing a cycle with a worker gets the DeadlockError itself (a real instance), and the worker goes on", { timeout: 30_000 }, async () => {
  const me = currentThread();
  const a = new Mutex(i32, 0, { name: "main's A" });
  const b = new Mutex(i32, 0, { name: "worker's B" });
  const sync = flags(2);
  const ga = a.lock();
  const worker = spawn(
    (a: Mutex<number>, b: Mutex<number>, sync: Int32Array) => {
      const gb = b.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      const ga = a.lock(); // blocks: the main thread holds it
      ga.value += 1;
      gb.value += 1;
      ga.unlock();
      gb.unlock();
    },
    [a, b, sync],
    { name: "B then A" },
  );
  await until("the worker is blocked on A", () => dumpLocks().threads.some((t) => t.thread.id === worker.threadId && t.blockedOn?.name === "main's A"));
  let caught: unknown;
  try {
    b.lock();
  } catch (error) {
    caught = error;
  }
  ga.unlock(); // the victim releases: the worker goes on
  await joinAll([worker], 15_000, "worker in a cycle with main");
  assert.ok(caught instanceof DeadlockError, String(caught));
  assert.equal(caught.kind, "cycle");
  assert.deepEqual(
    caught.cycle.map((entry) => [entry.thread, entry.waitsFor.name, entry.holds.map((l) => l.name)]),
    [
      [{ id: me.id, name: me.name }, "worker's B", ["main's A"]],
      [{ id: worker.threadId, name: "B then A" }, "main's A", ["worker's B"]],
    ],
  );
  assert.match(caught.message, /^locking Mutex "worker's B" would deadlock: 2 threads are waiting for each other in a cycle/);
  assert.match(caught.message, /thread "B then A" \(id \d+\) {2}blocked for \d+ ms/);
  const [mine, theirs] = caught.cycle as [CycleEntry, CycleEntry];
  const dot = caught.toDot();
  assert.ok(dot.startsWith("digraph"));
  assert.ok(dot.includes(`"t${me.id}" -> "l${mine.waitsFor.id}" [label="waits for"`), dot);
  assert.ok(dot.includes(`"l${mine.waitsFor.id}" -> "t${theirs.thread.id}" [label="held by"]`), dot);
  const mermaid = caught.toMermaid();
  assert.ok(mermaid.startsWith("flowchart"));
  assert.ok(mermaid.includes(`t${theirs.thread.id} -- waits for --> l${theirs.waitsFor.id}`), mermaid);
  assert.ok(mermaid.includes(`l${theirs.waitsFor.id} -- held by --> t${me.id}`), mermaid);
  assert.deepEqual(JSON.parse(JSON.stringify(caught)), { name: "DeadlockError", kind: "cycle", message: caught.message, cycle: caught.cycle });
  assert.equal(a.with((g) => g.value), 1);
  assert.equal(b.with((g) => g.value), 1);
});

interface RingResult {
  readonly victims: number;
  readonly completions: number;
  readonly problems: string[];
}

/**
 * Thread `i` of a ring of n (for each round's n in `plan`): holds lock i, meets the others, then wants lock
 * (i + 1) mod n. Threads with i >= n sit the round out. ctl[2r]: ring members holding their first lock;
 * ctl[2r + 1]: all threads done with round r. stats[3r]: victims, stats[3r + 1]: completions, stats[3r + 2]: the
 * victim's index.
 */
const ringThread = async (
  i: number,
  locks: Mutex<number>[],
  ctl: Int32Array,
  stats: Int32Array,
  plan: number[],
): Promise<RingResult> => {
  const { DeadlockError, currentThread } = await import("threadsafe");
  const me = currentThread();
  const meet = (index: number, count: number) => {
    Atomics.add(ctl, index, 1);
    Atomics.notify(ctl, index);
    const giveUp = Date.now() + 15_000;
    for (;;) {
      const seen = Atomics.load(ctl, index);
      if (seen >= count) return;
      const left = giveUp - Date.now();
      if (left <= 0) throw new Error(`${me.name}: barrier ${index} timed out with ${seen} of ${count} threads`);
      Atomics.wait(ctl, index, seen, left);
    }
  };
  let victims = 0;
  let completions = 0;
  const problems: string[] = [];
  for (let r = 0; r < plan.length; r++) {
    const n = plan[r]!;
    if (i < n) {
      const mine = locks[i]!.lock();
      meet(2 * r, n);
      try {
        const next = locks[(i + 1) % n]!.lock();
        mine.value += 1;
        next.value += 1;
        completions++;
        Atomics.add(stats, 3 * r + 1, 1);
        next.unlock();
      } catch (error) {
        if (!(error instanceof DeadlockError)) {
          mine.unlock();
          throw error;
        }
        victims++;
        Atomics.add(stats, 3 * r, 1);
        Atomics.store(stats, 3 * r + 2, i);
        const c = error.cycle;
        const expect = (ok: boolean, what: string) => {
          if (!ok && problems.length < 20) problems.push(`ring of ${n}, round ${r}, thread ${i}: ${what}`);
        };
        expect(error.kind === "cycle", `kind ${error.kind}`);
        expect(c.length === n, `cycle of ${c.length}`);
        // In wait order from this thread: ring-(i+k) holds lock (i+k) and waits for lock (i+k+1).
        c.forEach((entry, k) => {
          const t = (i + k) % n;
          expect(entry.thread.name === `ring-${t}`, `cycle[${k}].thread ${entry.thread.name}`);
          expect(entry.waitsFor.name === `ring lock ${(t + 1) % n}`, `cycle[${k}].waitsFor ${entry.waitsFor.name}`);
          expect(entry.holds.length === 1 && entry.holds[0]!.name === `ring lock ${t}`, `cycle[${k}].holds ${JSON.stringify(entry.holds)}`);
        });
        for (let t = 0; t < n; t++) expect(error.message.includes(`"ring-${t}"`) && error.message.includes(`"ring lock ${t}"`), `message misses ring-${t}`);
      }
      mine.unlock();
    }
    meet(2 * r + 1, locks.length);
  }
  return { victims, completions, problems };
};

test("rings of 3 to 8 threads (thread i holds lock i, wants lock i+1 mod n): exactly one victim per ring, all others complete", { timeout: 60_000 }, async () => {
  const WORKERS = 8;
  const PER_SIZE = 6;
  const plan: number[] = [];
  for (let n = 3; n <= WORKERS; n++) for (let k = 0; k < PER_SIZE; k++) plan.push(n);
  const locks = Array.from({ length: WORKERS }, (_, i) => new Mutex(i32, 0, { name: `ring lock ${i}` }));
  const ctl = flags(2 * plan.length);
  const stats = flags(3 * plan.length);
  const started = performance.now();
  const handles = Array.from({ length: WORKERS }, (_, i) => spawn(ringThread, [i, locks, ctl, stats, plan], { name: `ring-${i}` }));
  const results = await joinAll(handles, 45_000, "rings");
  const elapsed = performance.now() - started;
  const wrong: string[] = [];
  plan.forEach((n, r) => {
    if (stats[3 * r] !== 1 || stats[3 * r + 1] !== n - 1) wrong.push(`ring of ${n} (round ${r}): ${stats[3 * r]} victims, ${stats[3 * r + 1]} completions`);
  });
  assert.deepEqual(wrong, []);
  assert.deepEqual(results.flatMap((x) => x.problems), []);
  assert.equal(results.reduce((s, x) => s + x.victims, 0), plan.length);
  assert.equal(results.reduce((s, x) => s + x.completions, 0), plan.reduce((s, n) => s + n - 1, 0));
  // Every member but the victim incremented its own lock and the next one, under both.
  const expected = locks.map(() => 0);
  plan.forEach((n, r) => {
    for (let t = 0; t < n; t++) {
      if (t === stats[3 * r + 2]) continue;
      expected[t]! += 1;
      expected[(t + 1) % n]! += 1;
    }
  });
  assert.deepEqual(locks.map((m) => m.with((g) => g.value)), expected);
  const victimsAt = plan.map((n, r) => `${n}:${stats[3 * r + 2]}`);
  note(`rings of 3..8 threads: ${plan.length} rings (${PER_SIZE} per size) in ${Math.round(elapsed)} ms, one victim each (size:victim ${victimsAt.join(" ")})`);
});

/** The subsets of test 3: size 2 or 3 out of `locks`, ascending; the same generator runs in the workers. */
function orderedSubsets(seed: number, iterations: number, locks: number): { perLock: number[]; acquisitions: number } {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const perLock = Array.from({ length: locks }, () => 0);
  let acquisitions = 0;
  const pool = Array.from({ length: locks }, (_, i) => i);
  for (let it = 0; it < iterations; it++) {
    const size = 2 + (next() % 2);
    for (let k = 0; k < size; k++) {
      const j = k + (next() % (locks - k));
      const t = pool[k]!;
      pool[k] = pool[j]!;
      pool[j] = t;
    }
    for (let k = 0; k < size; k++) perLock[pool[k]!]! += 1;
    acquisitions += size;
  }
  return { perLock, acquisitions };
}

test("8 workers, over 1,000,000 acquisitions of random 2–3-lock subsets of 6 locks taken in ascending order: zero DeadlockErrors, exact totals", { timeout: 90_000 }, async () => {
  const WORKERS = 8;
  const LOCKS = 6;
  const ITERATIONS = 52_000; // × 8 workers × 2.5 locks on average ≈ 1,040,000 acquisitions
  const locks = Array.from({ length: LOCKS }, (_, i) => new Mutex(i32, 0, { name: `ordered ${i}` }));
  const start = flags(1);
  const started = performance.now();
  const handles = Array.from({ length: WORKERS }, (_, w) =>
    spawn(
      (seed: number, locks: Mutex<number>[], iterations: number, start: Int32Array) => {
        // Same xorshift32 and partial Fisher–Yates as orderedSubsets() in the test file.
        let x = seed >>> 0 || 1;
        const next = () => {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          return x;
        };
        const n = locks.length;
        const pool = Array.from({ length: n }, (_, i) => i);
        const perLock = Array.from({ length: n }, () => 0);
        const chosen = [0, 0, 0];
        const guards: Array<{ value: number; unlock(): void }> = [];
        let deadlocks = 0;
        let otherErrors = 0;
        // Everyone starts together, for contention from the first iteration.
        Atomics.add(start, 0, 1);
        Atomics.notify(start, 0);
        const giveUp = Date.now() + 20_000;
        for (let seen = Atomics.load(start, 0); seen < 8 && Date.now() < giveUp; seen = Atomics.load(start, 0)) Atomics.wait(start, 0, seen, 50);
        for (let it = 0; it < iterations; it++) {
          const size = 2 + (next() % 2);
          for (let k = 0; k < size; k++) {
            const j = k + (next() % (n - k));
            const t = pool[k]!;
            pool[k] = pool[j]!;
            pool[j] = t;
          }
          for (let k = 0; k < size; k++) chosen[k] = pool[k]!;
          // Ascending: the one consistent order.
          if (chosen[0]! > chosen[1]!) [chosen[0], chosen[1]] = [chosen[1]!, chosen[0]!];
          if (size === 3) {
            if (chosen[1]! > chosen[2]!) [chosen[1], chosen[2]] = [chosen[2]!, chosen[1]!];
            if (chosen[0]! > chosen[1]!) [chosen[0], chosen[1]] = [chosen[1]!, chosen[0]!];
          }
          try {
            for (let k = 0; k < size; k++) guards.push(locks[chosen[k]!]!.lock());
            for (let k = 0; k < size; k++) {
              const g = guards[k]!;
              g.value = g.value + 1; // read, then write: exact only under the lock
              perLock[chosen[k]!]! += 1;
            }
          } catch (error) {
            if ((error as Error).name === "DeadlockError") deadlocks++;
            else otherErrors++;
          }
          while (guards.length > 0) guards.pop()!.unlock();
        }
        return { perLock, deadlocks, otherErrors };
      },
      [0x9e3779b9 ^ (w + 1) * 7919, locks, ITERATIONS, start],
      { name: `ordered-${w}` },
    ),
  );
  const results = await joinAll(handles, 80_000, "ordered subsets");
  const elapsed = performance.now() - started;
  assert.deepEqual(results.map((x) => x.deadlocks), Array(WORKERS).fill(0));
  assert.deepEqual(results.map((x) => x.otherErrors), Array(WORKERS).fill(0));
  // The oracle, computed here from the same generator: what each worker did, and so what each counter must hold.
  const expected = Array.from({ length: LOCKS }, () => 0);
  let acquisitions = 0;
  results.forEach((result, w) => {
    const plan = orderedSubsets(0x9e3779b9 ^ (w + 1) * 7919, ITERATIONS, LOCKS);
    assert.deepEqual(result.perLock, plan.perLock, `worker ${w} did what it was told`);
    plan.perLock.forEach((count, i) => (expected[i]! += count));
    acquisitions += plan.acquisitions;
  });
  assert.ok(acquisitions >= 1_000_000, `${acquisitions} acquisitions`);
  assert.deepEqual(locks.map((m) => m.with((g) => g.value)), expected);
  note(`ordered subsets: ${acquisitions} acquisitions by ${WORKERS} workers in ${Math.round(elapsed)} ms (${((elapsed * 1e6) / acquisitions).toFixed(0)} ns each), 0 deadlocks`);
});

test("8 workers take random pairs of 5 locks in random order and retry on DeadlockError: all finish in time, exact counters", { timeout: 60_000 }, async () => {
  const WORKERS = 8;
  const LOCKS = 5;
  const TRANSFERS = 1_000; // successful ones, per worker
  const locks = Array.from({ length: LOCKS }, (_, i) => new Mutex(i32, 0, { name: `random ${i}` }));
  const start = flags(2);
  const started = performance.now();
  const handles = Array.from({ length: WORKERS }, (_, w) =>
    spawn(
      async (seed: number, locks: Mutex<number>[], transfers: number, start: Int32Array, workers: number) => {
        const { DeadlockError } = await import("threadsafe");
        let x = seed >>> 0 || 1;
        const next = () => {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          return x;
        };
        const perLock = locks.map(() => 0);
        let deadlocks = 0;
        let retriesMax = 0;
        Atomics.add(start, 0, 1);
        Atomics.notify(start, 0);
        const giveUp = Date.now() + 20_000;
        for (let seen = Atomics.load(start, 0); seen < workers && Date.now() < giveUp; seen = Atomics.load(start, 0)) Atomics.wait(start, 0, seen, 50);
        for (let done = 0; done < transfers; done++) {
          const i = next() % locks.length;
          const j = (i + 1 + (next() % (locks.length - 1))) % locks.length; // != i, random order
          for (let retries = 0; ; retries++) {
            const first = locks[i]!.lock();
            // Hold the first lock a little while, so that opposite orders really collide.
            const until = performance.now() + 0.02;
            while (performance.now() < until);
            let second;
            try {
              second = locks[j]!.lock();
            } catch (error) {
              first.unlock();
              if (!(error instanceof DeadlockError)) throw error;
              deadlocks++;
              retriesMax = Math.max(retriesMax, retries + 1);
              Atomics.wait(start, 1, 0, (next() % 1000) / 1000); // random back-off, up to 1 ms
              continue;
            }
            first.value = first.value + 1; // non-atomic read-modify-write on both, under both locks
            second.value = second.value + 1;
            perLock[i]! += 1;
            perLock[j]! += 1;
            second.unlock();
            first.unlock();
            break;
          }
        }
        return { perLock, deadlocks, retriesMax };
      },
      [(w + 1) * 2654435761, locks, TRANSFERS, start, WORKERS],
      { name: `random-${w}` },
    ),
  );
  const results = await joinAll(handles, 45_000, "random pairs with retry");
  const elapsed = performance.now() - started;
  const expected = locks.map((_, i) => results.reduce((s, x) => s + x.perLock[i]!, 0));
  assert.equal(expected.reduce((s, n) => s + n, 0), 2 * WORKERS * TRANSFERS);
  assert.deepEqual(locks.map((m) => m.with((g) => g.value)), expected);
  const deadlocks = results.reduce((s, x) => s + x.deadlocks, 0);
  const retriesMax = Math.max(...results.map((x) => x.retriesMax));
  note(
    `random pairs with retry: ${WORKERS * TRANSFERS} transfers by ${WORKERS} workers in ${Math.round(elapsed)} ms; ` +
      `${deadlocks} deadlocks detected and resolved (per worker ${results.map((x) => x.deadlocks).join(", ")}; at most ${retriesMax} retries in a row)`,
  );
});

test("self-deadlock: lock() twice in one thread, or lock() on a mutex held by a pending async task of the same thread, throws DeadlockError 'self' at once", { timeout: 20_000 }, async () => {
  const me = currentThread();
  const m = new Mutex(i32, 0, { name: "twice" });
  const g = m.lock();
  // With a 5 s timeout too: a lock() that blocked instead would end in LockTimeoutError, not DeadlockError "self".
  for (const attempt of [() => m.lock(), () => m.lock({ timeout: 5_000 }), () => m.with(() => 0), () => m.with(() => 0, { timeout: 5_000 })]) {
    assert.throws(attempt, (e: unknown) => {
      assert.ok(e instanceof DeadlockError, `expected DeadlockError "self", got ${String(e)}`);
      assert.equal(e.name, "DeadlockError");
      assert.equal(e.kind, "self");
      assert.equal(e.cycle.length, 1);
      assert.deepEqual(e.cycle[0]!.thread, { id: me.id, name: me.name });
      assert.equal(e.cycle[0]!.waitsFor.name, "twice");
      assert.deepEqual(e.cycle[0]!.holds, [e.cycle[0]!.waitsFor]);
      assert.match(e.message, /"twice"/);
      assert.ok(e.message.includes(`"${me.name}"`), e.message);
      assert.match(e.message, /already holds/);
      return true;
    });
    // Refused before waiting: this thread was never published as blocked, and still holds the lock once.
    assert.equal(lockState(m)?.owner?.id, me.id);
    assert.deepEqual(lockState(m)?.waiters, []);
  }
  g.value = 5; // the first guard is untouched by the failed attempts
  g.unlock();
  assert.equal(m.with((x) => x.value), 5);

  // The holder is another async task of this thread, between awaits.
  const n = new Mutex(i32, 0, { name: "held by my async task" });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  const task = (async () => {
    const guard = await n.lockAsync();
    holding = true;
    await released;
    guard.value += 1;
    guard.unlock();
  })();
  await until("the async task holds the mutex", () => holding);
  // A blocking wait would end in LockTimeoutError after 5 s (or never, without a timeout): DeadlockError "self" is
  // only thrown by the check made before waiting.
  assert.throws(
    () => n.lock({ timeout: 5_000 }),
    (e: unknown) => e instanceof DeadlockError && e.kind === "self" && /held by my async task/.test(e.message) && /lockAsync/.test(e.message),
  );
  assert.throws(() => n.lock(), (e: unknown) => e instanceof DeadlockError && e.kind === "self");
  assert.equal(holding, true);
  assert.deepEqual(lockState(n)?.waiters, [], "the refused lock() calls left no waiter behind");
  // An async waiter on it simply waits for the task (the holder releases after an await).
  const waiter = n.lockAsync({ timeout: 5_000 });
  release();
  await task;
  const w = await waiter;
  assert.equal(w.value, 1);
  w.unlock();
  assert.equal(n.with((x) => x.value), 1);
});

/**
 * Two threads that deadlock once; for the stack test. Named functions so the frames are recognizable. Their lock()
 * is not their last act: JSC (Bun) makes proper tail calls in strict code, so `return m.lock()` would leave no frame
 * of theirs in the stack (and Bun's transpiler turns `const g = m.lock(); return g;` into exactly that).
 */
const stackPair = async (first: Mutex<number>, second: Mutex<number>, meet: Int32Array) => {
  function takeFirstLock() {
    const guard = first.lock();
    Atomics.load(meet, 0);
    return guard;
  }
  function takeSecondLock() {
    const guard = second.lock();
    Atomics.load(meet, 0);
    return guard;
  }
  const a = takeFirstLock();
  Atomics.add(meet, 0, 1);
  Atomics.notify(meet, 0);
  const giveUp = Date.now() + 10_000;
  for (let seen = Atomics.load(meet, 0); seen < 2; seen = Atomics.load(meet, 0)) {
    if (Date.now() > giveUp) throw new Error("the other thread never came");
    Atomics.wait(meet, 0, seen, 100);
  }
  try {
    const b = takeSecondLock();
    b.unlock();
    return undefined;
  } catch (error) {
    if ((error as Error).name !== "DeadlockError") throw error;
    return (error as Error).message;
  } finally {
    a.unlock();
  }
};

/** Runs stackPair once with `stacks` configured before spawning; returns the victim's message and whom it names. */
async function deadlockOnce(stacks: "blocking" | "all"): Promise<{ message: string; otherHeld: string }> {
  configure({ stacks });
  try {
    const a = new Mutex(i32, 0, { name: `stack A (${stacks})` });
    const b = new Mutex(i32, 0, { name: `stack B (${stacks})` });
    const meet = flags(1);
    const handles = [
      spawn(stackPair, [a, b, meet], { name: `stacks-1 (${stacks})` }),
      spawn(stackPair, [b, a, meet], { name: `stacks-2 (${stacks})` }),
    ];
    const messages = await joinAll(handles, 20_000, "stack pair");
    assert.equal(messages.filter((m) => m !== undefined).length, 1, "exactly one victim");
    const victim = messages[0] !== undefined ? 0 : 1;
    return { message: messages[victim]!, otherHeld: victim === 0 ? b.name : a.name };
  } finally {
    configure({ stacks: "off" });
  }
}

test("with configure({ stacks: 'blocking' }) set before spawning, the report shows where the other thread is blocked, and says how to see acquisition sites", { timeout: 30_000 }, async () => {
  const { message, otherHeld } = await deadlockOnce("blocking");
  const lines = message.split("\n");
  // The other thread's section: its "wants" line is followed by where it waits (captured when it started to wait).
  const holds = lines.findIndex((line) => line.includes(`holds  Mutex "${otherHeld}"`));
  assert.ok(holds >= 0, message);
  const wants = lines.slice(0, holds).findLastIndex((line) => line.includes("wants  Mutex"));
  assert.match(lines[wants + 1] ?? "", /^\s+at takeSecondLock \(/, `where the other thread is blocked:\n${message}`);
  // Its locks were taken without contention, so "blocking" has no acquisition site for them: the hint says what does.
  assert.match(message, /configure\(\{ stacks: "all" \}\) records where every lock is acquired\)/, message);
  assert.doesNotMatch(message, /"blocking" shows where each thread waits/, "blocking is on: no hint to turn it on");
});

test("with configure({ stacks: 'all' }), the report's frames name the functions of a spawned thread that took and wanted the locks", { timeout: 30_000 }, async () => {
  const { message, otherHeld } = await deadlockOnce("all");
  const lines = message.split("\n");
  const holds = lines.findIndex((line) => line.includes(`holds  Mutex "${otherHeld}"`));
  assert.ok(holds >= 0, message);
  assert.match(lines[holds + 1] ?? "", /^\s+acquired at /, message);
  // Where each lock was taken and where each thread is blocked: named functions in the spawned code.
  assert.match(message, /acquired at takeFirstLock \(/, message);
  assert.match(message, /^\s+at takeSecondLock \(/m, message);
});

test("lock({ timeout }) on a lock held by a thread that is itself blocked: LockTimeoutError says who holds it and what that thread waits for", { timeout: 30_000 }, async () => {
  const a = new Mutex(i32, 0, { name: "outer A" });
  const b = new Mutex(i32, 0, { name: "inner B" });
  const sync = flags(4); // 0: blocker holds B; 1: release B; 2: chain holds A
  const blocker = spawn(
    (b: Mutex<number>, sync: Int32Array) => {
      const g = b.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      Atomics.wait(sync, 1, 0, 15_000);
      g.unlock();
    },
    [b, sync],
    { name: "blocker" },
  );
  await until("blocker holds B", () => Atomics.load(sync, 0) === 1);
  const chain = spawn(
    (a: Mutex<number>, b: Mutex<number>, sync: Int32Array) => {
      const ga = a.lock();
      Atomics.store(sync, 2, 1);
      Atomics.notify(sync, 2);
      const gb = b.lock({ timeout: 15_000 });
      ga.value += 1;
      gb.value += 1;
      gb.unlock();
      ga.unlock();
    },
    [a, b, sync],
    { name: "chain" },
  );
  await until("chain is blocked on B", () => dumpLocks().threads.some((t) => t.thread.name === "chain" && t.blockedOn?.name === "inner B"));
  assert.throws(
    () => a.lock({ timeout: 200 }),
    (e: unknown) => {
      assert.ok(e instanceof LockTimeoutError, String(e));
      assert.equal(e.name, "LockTimeoutError");
      assert.equal(e.lock.name, "outer A");
      assert.deepEqual(e.owner, { id: chain.threadId, name: "chain" });
      assert.ok(Number.isFinite(e.waitedMs), `waitedMs ${e.waitedMs}`);
      assert.match(e.message, /Mutex "outer A"/);
      assert.match(e.message, /held by thread "chain"/);
      assert.match(e.message, /itself blocked waiting for Mutex "inner B" \(held by thread "blocker"\)/);
      return true;
    },
  );
  // The state the error describes is the state at that moment: neither thread can move before sync[1] is set.
  assert.deepEqual(lockState(a)?.owner, { id: chain.threadId, name: "chain" });
  assert.deepEqual(lockState(b)?.owner, { id: blocker.threadId, name: "blocker" });
  assert.equal(threadState(chain.threadId)?.blockedOn?.name, "inner B");
  assert.ok(!lockState(a)!.waiters.some((w) => w.thread.id === currentThread().id), "the timed-out wait is withdrawn");
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  await joinAll([blocker, chain], 15_000, "timeout chain");
  assert.equal(a.with((g) => g.value), 1);
  assert.equal(b.with((g) => g.value), 1);
});

test("dumpLocks() while a worker holds a lock and another waits on it: lock, owner, sync waiter with its waiting time, all by name", { timeout: 30_000 }, async () => {
  const m = new Mutex(i32, 0, { name: "dumped" });
  const sync = flags(4); // 0: holder holds; 1: release
  const holder = spawn(
    (m: Mutex<number>, sync: Int32Array) => {
      const g = m.lock();
      Atomics.store(sync, 0, 1);
      Atomics.notify(sync, 0);
      Atomics.wait(sync, 1, 0, 15_000);
      g.value += 1;
      g.unlock();
    },
    [m, sync],
    { name: "dump-holder" },
  );
  await until("holder holds the lock", () => Atomics.load(sync, 0) === 1);
  const waiter = spawn(
    (m: Mutex<number>) => {
      const g = m.lock({ timeout: 15_000 });
      g.value += 10;
      g.unlock();
    },
    [m],
    { name: "dump-waiter" },
  );
  await waitForWaiters(m, [{ thread: "dump-waiter", kind: "sync" }]);
  const dump = dumpLocks();
  const state = dump.locks.find((l) => l.lock.name === "dumped");
  assert.ok(state, String(dump));
  assert.deepEqual(state.owner, { id: holder.threadId, name: "dump-holder" });
  assert.equal(state.poisoned, false);
  assert.equal(state.waiters.length, 1);
  const [w] = state.waiters;
  assert.deepEqual(w!.thread, { id: waiter.threadId, name: "dump-waiter" });
  assert.equal(w!.kind, "sync");
  assert.equal(typeof w!.waitingMs, "number");
  assert.ok(Number.isFinite(w!.waitingMs) && w!.waitingMs! >= 0, `waiting ${w!.waitingMs} ms`);
  assert.equal(state.heldAtLeastMs, w!.waitingMs, "held at least as long as its only sync waiter has waited");
  const blocked = dump.threads.find((t) => t.thread.id === waiter.threadId);
  assert.equal(blocked?.blockedOn?.name, "dumped");
  assert.equal(dump.threads.find((t) => t.thread.id === holder.threadId)?.blockedOn, undefined);
  const text = String(dump);
  assert.match(text, /Mutex "dumped" \(id \d+\): held by thread "dump-holder"/);
  assert.match(text, new RegExp(`waiting: thread "dump-waiter" \\(id ${waiter.threadId}\\) \\(sync, \\d+ ms\\)`));
  assert.match(text, /thread "dump-waiter" \(id \d+\): blocked on Mutex "dumped"/);
  // The waiting time is measured, not a constant: a later dump shows the same wait grown.
  const first = w!.waitingMs!;
  await until("the waiter's waitingMs grows", () => (lockState(m)?.waiters[0]?.waitingMs ?? -1) > first);
  assert.deepEqual(lockState(m)?.waiters.map((x) => x.thread.id), [waiter.threadId], "still the same single waiter");
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  await joinAll([holder, waiter], 15_000, "dump pair");
  assert.equal(m.with((g) => g.value), 11);
  assert.deepEqual(dumpLocks().locks.filter((l) => l.lock.name === "dumped"), []);
});

test("configure({ stallWarnMs: 100, onReport }): each wait that outlasts stallWarnMs gives exactly one 'stall' report, a wait shorter than it none", { timeout: 30_000 }, async () => {
  configure({ stallWarnMs: 100 }); // before spawning: the workers inherit it
  try {
    const m = new Mutex(i32, 0, { name: "stalled" });
    // Rounds 0 and 1 outlast the threshold: the holder keeps the lock until the waiter has reported its stall, so
    // the order does not depend on how fast this machine is. In round 2 the waiter's own threshold is 60 s, longer
    // than anything in this test may last, and the holder keeps the lock until the waiter is listed as blocked.
    const ROUNDS = 3;
    // Round k: 3k the holder holds; 3k + 1 the waiter reported a stall; 3k + 2 the round is done. 15: never set.
    const sync = flags(16);
    const holder = spawn(
      async (m: Mutex<number>, sync: Int32Array, rounds: number) => {
        const { dumpLocks } = await import("threadsafe");
        const waiterListed = () =>
          dumpLocks().locks.some((l) => l.lock.id === m.lockId && l.waiters.some((w) => w.thread.name === "stall-waiter" && w.kind === "sync"));
        for (let k = 0; k < rounds; k++) {
          const g = m.lock();
          Atomics.store(sync, 3 * k, 1);
          Atomics.notify(sync, 3 * k);
          if (k < 2) {
            if (Atomics.wait(sync, 3 * k + 1, 0, 10_000) === "timed-out") throw new Error(`round ${k}: no stall report within 10 s`);
          } else {
            const giveUp = Date.now() + 10_000;
            while (!waiterListed()) {
              if (Date.now() > giveUp) throw new Error(`round ${k}: the waiter never blocked`);
              Atomics.wait(sync, 15, 0, 1);
            }
          }
          // Part of the scenario, not of the oracle: hold on while the waiter wakes up a few more times (a second
          // report for the same wait would show here; a shorter hold makes the test weaker, never wrong).
          Atomics.wait(sync, 15, 0, 300);
          g.unlock();
          if (Atomics.wait(sync, 3 * k + 2, 0, 10_000) === "timed-out") throw new Error("the waiter never finished its round");
        }
      },
      [m, sync, ROUNDS],
      { name: "stall-holder" },
    );
    const waiter = spawn(
      async (m: Mutex<number>, sync: Int32Array, rounds: number) => {
        const { configure } = await import("threadsafe");
        const reports: Array<{ kind: string; message: string; round: number }> = [];
        let round = -1;
        configure({
          onReport: (report) => {
            reports.push({ kind: report.kind, message: report.message, round });
            if (report.kind === "stall" && round >= 0) {
              Atomics.store(sync, 3 * round + 1, 1);
              Atomics.notify(sync, 3 * round + 1);
            }
          },
        });
        const perWait: number[] = [];
        for (let k = 0; k < rounds; k++) {
          if (k === 2) configure({ stallWarnMs: 60_000 }); // this thread's threshold only; no wait here lasts that long
          if (Atomics.wait(sync, 3 * k, 0, 10_000) === "timed-out") throw new Error("the holder never took the lock");
          round = k;
          const before = reports.length;
          const g = m.lock({ timeout: 10_000 });
          g.unlock();
          perWait.push(reports.length - before);
          Atomics.store(sync, 3 * k + 2, 1);
          Atomics.notify(sync, 3 * k + 2);
        }
        return { reports, perWait };
      },
      [m, sync, ROUNDS],
      { name: "stall-waiter" },
    );
    const [, result] = await joinAll<unknown>([holder, waiter], 20_000, "stall");
    const { reports, perWait } = result as { reports: Array<{ kind: string; message: string; round: number }>; perWait: number[] };
    assert.deepEqual(perWait, [1, 1, 0], `one report per wait that outlasted the threshold, none for the other: ${JSON.stringify(reports)}`);
    assert.deepEqual(reports.map((r) => [r.kind, r.round]), [["stall", 0], ["stall", 1]]);
    for (const report of reports) {
      assert.match(report.message, /stall: thread "stall-waiter" \(id \d+\) has waited \d+ ms for Mutex "stalled", held by thread "stall-holder"/);
    }
  } finally {
    configure({ stallWarnMs: 30_000 });
  }
});
