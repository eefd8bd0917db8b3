// A raw worker_threads Worker (not started by spawn) that receives a Mutex through share/receive, takes it,
// writes to it, and then dies while holding it, in the way the message asks for. Used by owner-death.test.ts.
//
// Flags (Int32Array): [0] set to 1 once the lock is held, [1] this thread's library id, [2] GO from the main thread,
// [3] never set (Atomics.wait on it is a sleep), [4] set by the main thread to end a busy loop, [5] 1 when this
// thread saw the main thread (`mainId`) blocked in lock() of the mutex before dying, 2 when it gave up looking.
// Times (Float64Array): [0] when the thread is about to die (performance.timeOrigin + performance.now()).
import { parentPort } from "node:worker_threads";
import { currentThread, dumpLocks, receive } from "threadsafe";

parentPort.once("message", (message) => {
  const { m, flags, times, mode, value, mainId } = receive(message);
  const guard = m.lock();
  guard.value = value;
  Atomics.store(flags, 1, currentThread().id);
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  if (mode === "busy") {
    // Spin until terminated (or told to stop: a test that failed must not leave a spinning thread behind).
    const end = Date.now() + 20_000;
    while (Atomics.load(flags, 4) === 0 && Date.now() < end);
    return;
  }
  Atomics.wait(flags, 2, 0, 10_000); // GO: the waiters are in place, and the main thread is about to block
  // Die once the lock dump shows the main thread blocked in lock() of m.
  const giveUp = Date.now() + 10_000;
  let saw = 2;
  for (;;) {
    if (dumpLocks().threads.some((t) => t.thread.id === mainId && t.blockedOn?.id === m.lockId)) {
      saw = 1;
      break;
    }
    if (Date.now() > giveUp) break;
    Atomics.wait(flags, 3, 0, 1);
  }
  Atomics.store(flags, 5, saw);
  times[0] = performance.timeOrigin + performance.now();
  if (mode === "throw") throw new Error("raw worker failed while holding the lock");
  if (mode === "exit") process.exit(4);
  // mode "return": the handler returns with the guard still held; nothing else keeps the thread alive, so it ends.
});
