// A Web Worker (Deno's and Bun's global Worker) that receives a mutex and flags, locks the mutex, sets flags[0] = 1
// and holds it until terminated. The library is imported statically: it is in place before this code, as watch()
// needs.
import { receive } from "../../dist/index.js";

self.onmessage = (event) => {
  const { mutex, flags } = receive(event.data);
  mutex.lock();
  Atomics.store(flags, 0, 1);
  for (;;) Atomics.wait(flags, 1, 0, 50);
};
