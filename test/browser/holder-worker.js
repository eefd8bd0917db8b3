// A raw Web Worker that holds a mutex: it locks it, sets flags[0] = 1, and holds it until flags[1] becomes 1
// (never, if the page does not set it), then unlocks and posts "released". The library is imported statically, so it
// is in place before this worker's own code, as watch() needs.
import { receive } from "../../dist/browser/index.js";

self.onmessage = (event) => {
  const { mutex, flags } = receive(event.data);
  const guard = mutex.lock();
  guard.value = 42;
  Atomics.store(flags, 0, 1);
  while (Atomics.load(flags, 1) === 0) Atomics.wait(flags, 1, 0, 50);
  guard.unlock();
  postMessage("released");
};
