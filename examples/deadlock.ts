// The Rust book's exercise at the end of "Shared-State Concurrency": "try creating a program that has a deadlock;
// then research deadlock mitigation strategies for mutexes in any language and have a go at implementing them."
//
// Two threads, two mutexes, opposite order. In Rust (and every other JS lock library) this program hangs forever
// with no message. Here the thread whose wait closes the cycle gets a DeadlockError that explains it, and the other
// thread finishes. Then the same program, fixed with each strategy the library has.
import { LockOrderError, Mutex, configure, i32, lockAll, spawn, type Report } from "threadsafe";

type Transfer = (first: Mutex<number>, second: Mutex<number>, meet: Int32Array) => string;

/** Each thread locks `first`, waits (up to 5 s) until the other thread holds one lock too, then locks `second`. */
const transfer: Transfer = (first, second, meet) => {
  using a = first.lock();
  Atomics.add(meet, 0, 1);
  Atomics.notify(meet, 0);
  const giveUp = Date.now() + 5000; // make the threads meet: each holds one lock before taking the other
  while (Atomics.load(meet, 0) < 2 && Date.now() < giveUp) Atomics.wait(meet, 0, 1, 100);
  try {
    using b = second.lock();
    a.value -= 10;
    b.value += 10;
    return "done";
  } catch (error) {
    if ((error as Error).name !== "DeadlockError") throw error;
    return (error as Error).message;
  }
};

const meeting = () => new Int32Array(new SharedArrayBuffer(8)); // [0] meeting count, [1] a word to sleep on
const line = "─".repeat(100);

// 1. The deadlock, caught and explained.
{
  const left = new Mutex(i32, 100, { name: "account A" });
  const right = new Mutex(i32, 100, { name: "account B" });
  const meet = meeting();
  const results = await Promise.all([
    spawn(transfer, [left, right, meet], { name: "thread 1 (A then B)" }).join(),
    spawn(transfer, [right, left, meet], { name: "thread 2 (B then A)" }).join(),
  ]);
  const caught = results.filter((r) => r !== "done");
  console.log(`${line}\n1. Two threads take two mutexes in opposite order. Rust would hang here forever. threadsafe says:\n${line}`);
  console.log(`DeadlockError: ${caught[0]}\n`);
  console.log(`(${caught.length} thread got the error, ${results.length - caught.length} finished its transfer)\n`);
}

// 2. Fix: one consistent order everywhere.
{
  const a = new Mutex(i32, 100, { name: "account A" });
  const b = new Mutex(i32, 100, { name: "account B" });
  const meet = meeting();
  meet[0] = 2; // no meeting this time: the second thread waits at "account A" until the first is done
  const results = await Promise.all([
    spawn(transfer, [a, b, meet], { name: "thread 1" }).join(),
    spawn(transfer, [a, b, meet], { name: "thread 2" }).join(),
  ]);
  // Both take A first: the second simply waits at A until the first is done.
  console.log(`${line}\n2. Fix by order: both threads take "account A" before "account B" → ${results.join(", ")}`);
}

// 3. Fix: lockAll takes the set without ever holding one while waiting for another, in any order given.
{
  const a = new Mutex(i32, 100, { name: "account A" });
  const b = new Mutex(i32, 100, { name: "account B" });
  const both = (first: Mutex<number>, second: Mutex<number>) => {
    return (async () => {
      const { lockAll } = await import("threadsafe");
      for (let i = 0; i < 10_000; i++) {
        const [x, y] = lockAll([first, second]);
        x.value -= 1;
        y.value += 1;
        x.unlock();
        y.unlock();
      }
      return "10000 transfers";
    })();
  };
  const results = await Promise.all([
    spawn(both, [a, b], { name: "thread 1" }).join(),
    spawn(both, [b, a], { name: "thread 2" }).join(),
  ]);
  const [ga, gb] = lockAll([a, b]);
  console.log(`3. Fix with lockAll([a, b]) in opposite orders → ${results.join(", ")}; total still ${ga.value + gb.value}`);
  ga.unlock();
  gb.unlock();
}

// 4. Fix: lock levels. Taking a lower level while holding a higher one fails at once, in every run.
{
  const a = new Mutex(i32, 100, { name: "account A", level: 1 });
  const b = new Mutex(i32, 100, { name: "account B", level: 2 });
  const g = b.lock();
  try {
    a.lock();
  } catch (error) {
    if (!(error instanceof LockOrderError)) throw error;
    console.log(`4. Fix with levels: locking level 1 while holding level 2 throws at once:\n   ${error.message.split(". ")[0]}.`);
  }
  g.unlock();
}

// 5. Fix: timeouts, with back-off and retry.
{
  const a = new Mutex(i32, 100, { name: "account A" });
  const b = new Mutex(i32, 100, { name: "account B" });
  const meet = meeting();
  const polite = (first: Mutex<number>, second: Mutex<number>, meet: Int32Array) => {
    let retries = 0;
    for (;;) {
      const x = first.lock();
      Atomics.add(meet, 0, 1);
      Atomics.notify(meet, 0);
      const giveUp = Date.now() + 5000; // meet, so the first attempt collides
      while (retries === 0 && Atomics.load(meet, 0) < 2 && Date.now() < giveUp) Atomics.wait(meet, 0, 1, 100);
      try {
        const y = second.lock({ timeout: 5 + Math.random() * 10 });
        x.value -= 10;
        y.value += 10;
        y.unlock();
        x.unlock();
        return retries;
      } catch (error) {
        x.unlock();
        if ((error as Error).name !== "LockTimeoutError" && (error as Error).name !== "DeadlockError") throw error;
        retries++;
        Atomics.wait(meet, 1, 0, Math.random() * 20); // back off for a random while before trying again
      }
    }
  };
  const retries = await Promise.all([
    spawn(polite, [a, b, meet], { name: "thread 1" }).join(),
    spawn(polite, [b, a, meet], { name: "thread 2" }).join(),
  ]);
  console.log(`5. Fix with timeouts and retry: both transfers done after ${retries[0]! + retries[1]!} ${retries[0]! + retries[1]! === 1 ? "retry" : "retries"} with random back-off (the detector or a timeout broke each collision)`);
}

// 6. Fix: wound-wait transactions. Locks in any order; on a conflict the younger transaction rolls back and reruns.
{
  const a = new Mutex(i32, 100, { name: "account A" });
  const b = new Mutex(i32, 100, { name: "account B" });
  const transfers = (first: Mutex<number>, second: Mutex<number>, meet: Int32Array) => {
    return (async () => {
      const { transaction } = await import("threadsafe");
      let rollbacks = 0;
      for (let i = 0; i < 2_000; i++) {
        transaction((tx) => {
          rollbacks += tx.retries > 0 ? 1 : 0;
          const x = tx.lock(first);
          Atomics.wait(meet, 1, 0, 0.02); // a moment between the two locks, so the orders really collide
          const y = tx.lock(second);
          x.value -= 1;
          y.value += 1;
        });
      }
      return rollbacks;
    })();
  };
  const meet = meeting();
  const rollbacks = await Promise.all([
    spawn(transfers, [a, b, meet], { name: "thread 1" }).join(),
    spawn(transfers, [b, a, meet], { name: "thread 2" }).join(),
  ]);
  const [ga, gb] = lockAll([a, b]);
  console.log(`6. Fix with transaction(): 2 × 2000 transfers in opposite orders, ${rollbacks[0]! + rollbacks[1]!} rollbacks, no deadlock; total still ${ga.value + gb.value}`);
  ga.unlock();
  gb.unlock();
}

// 7. Find it before it happens: lock-order checking reports the inversion even in a run that did not deadlock.
{
  const reports: Report[] = [];
  configure({ lockOrder: "warn", onReport: (report) => reports.push(report) });
  const a = new Mutex(i32, 100, { name: "account A" });
  const b = new Mutex(i32, 100, { name: "account B" });
  // One thread, one after the other: no deadlock can happen in this run…
  {
    using x = a.lock({ timeout: 1000 });
    using y = b.lock({ timeout: 1000 });
    y.value += x.value - x.value;
  }
  {
    using y = b.lock({ timeout: 1000 });
    using x = a.lock({ timeout: 1000 });
    x.value += y.value - y.value;
  }
  configure({ lockOrder: "off" });
  console.log(`7. Lock-order checking (configure({ lockOrder: "warn" })), same thread, no deadlock in this run:\n`);
  console.log(reports.map((r) => r.message).join("\n\n") || "(no report?)");
}
