// A raw worker_threads Worker (not started by spawn) that is the first thread of the program to call spawn(), so the
// supervisor would be started from inside it. Used by thread-lifecycle.test.ts. It spawns one thread, joins it,
// reports, and ends.
import { parentPort } from "node:worker_threads";
import { receive, spawn } from "threadsafe";

parentPort.once("message", async (message) => {
  const { m } = receive(message);
  const h = spawn((m) => m.with((g) => { g.value += 1; return g.value; }), [m], { name: "spawned-by-raw" });
  parentPort.postMessage({ joined: await h.join() });
});
