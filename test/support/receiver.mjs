// A raw worker_threads Worker that has not joined any threadsafe runtime: it receives `workerData.messages` one by
// one (forged or real) and reports, for each, whether receive() returned or what it threw; for a returned message
// it also reads the mutex `m` inside it. Used by receive-fuzz.test.ts. The worker never locks for long.
import { parentPort, workerData } from "node:worker_threads";
import { receive } from "threadsafe";

const results = [];
for (const message of workerData.messages) {
  try {
    const value = receive(message);
    let read;
    const m = value !== null && typeof value === "object" ? value.m : undefined;
    if (m !== undefined && typeof m === "object" && m !== null && typeof m.lock === "function") {
      let guard;
      try {
        guard = m.lock({ timeout: 1000 });
        read = JSON.parse(JSON.stringify(guard.value));
      } catch (error) {
        if (error?.name === "PoisonError") error.intoInner().unlock();
        read = `read failed: ${error?.name}: ${error?.message}`;
      } finally {
        if (guard?.held) guard.unlock();
      }
    }
    results.push({ outcome: "returned", read });
  } catch (error) {
    results.push({
      outcome: "threw",
      isError: error instanceof Error,
      ctor: error?.constructor?.name,
      name: error?.name,
      message: String(error?.message ?? error),
    });
  }
}
parentPort.postMessage(results);
