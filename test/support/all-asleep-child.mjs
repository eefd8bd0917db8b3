// Run by test/all-asleep.test.ts in a process of its own: "all threads asleep" needs every thread of the program
// in the scenario, its main thread included (a main thread that is free to run its event loop could still wake
// the others). The process is killed by the test if it hangs.
//
//   node all-asleep-child.mjs stuck   three threads (main and two workers) wait on condvars nobody notifies
//   node all-asleep-child.mjs slow    the same, plus a fourth thread that is busy for a while, then notifies
import { Condvar, Mutex, i32, spawn } from "threadsafe";

const mode = process.argv[2];
const state = new Mutex(i32, 0, { name: "state" }); // 0: waiting, 1: released
const cv = new Condvar({ name: "never-notified" });
const up = new Int32Array(new SharedArrayBuffer(8));

// Waits until released; a DeadlockError releases everyone (so the process can end) and is reported.
const sleeper = (state, cv, up) => {
  Atomics.add(up, 0, 1);
  Atomics.notify(up, 0);
  const g = state.lock();
  try {
    while (g.value === 0) cv.wait(g);
    return "woken";
  } catch (e) {
    if (e.name !== "DeadlockError") throw e;
    g.value = 1;
    cv.notifyAll();
    return `DeadlockError ${e.kind}`;
  } finally {
    if (g.held) g.unlock();
  }
};

const workers = [spawn(sleeper, [state, cv, up], { name: "w1" }), spawn(sleeper, [state, cv, up], { name: "w2" })];
if (mode === "slow") {
  // Busy (not in any wait the library can see) until the others sleep, then a little longer; then it wakes them.
  workers.push(
    spawn(
      (state, cv, up) => {
        while (Atomics.load(up, 0) < 3) Atomics.wait(up, 0, Atomics.load(up, 0), 50);
        const until = performance.now() + 300;
        while (performance.now() < until);
        state.with((g) => {
          g.value = 1;
        });
        cv.notifyAll();
        return "notifier";
      },
      [state, cv, up],
      { name: "slow-notifier" },
    ),
  );
}
while (Atomics.load(up, 0) < 2) Atomics.wait(up, 0, Atomics.load(up, 0), 50); // both workers are on their way
const mine = sleeper(state, cv, up);
const theirs = await Promise.all(workers.map((h) => h.join()));
console.log(JSON.stringify([mine, ...theirs]));
