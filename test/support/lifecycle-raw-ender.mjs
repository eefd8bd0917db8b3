// A raw worker_threads Worker (not started by spawn) for thread-lifecycle.test.ts: it joins the runtime through
// receive(), reports its library thread id, and ends on its own when told to (so it reaps itself, and its thread slot
// is free again while the thread that created it has not yet heard its 'exit').
//
// Flags (Int32Array): [0] this thread's library id, [1] END from the main thread, [2] set once the library's exit
// hook has run (the slot is free).
import { parentPort } from "node:worker_threads";
import { currentThread, receive } from "threadsafe";

parentPort.once("message", (message) => {
  const { flags } = receive(message); // with a mutex of the runtime in the message: this thread joins it
  // Registered after the library's own exit hook (installed by receive), so it runs after the thread was reaped.
  process.on("exit", () => {
    Atomics.store(flags, 2, 1);
    Atomics.notify(flags, 2);
  });
  Atomics.store(flags, 0, currentThread().id);
  Atomics.notify(flags, 0);
  Atomics.wait(flags, 1, 0, 20_000); // END (the bound only keeps a failed test from leaving a thread behind)
  // Returns: nothing keeps the thread alive, so it ends, with exit code 0.
});
