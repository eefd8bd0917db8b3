// A raw worker_threads Worker for arc.test.ts: it gets one share() message by postMessage, calls receive() on it and
// reports what happened: what receive() threw, or the name and value of the mutex `m` it gave back.
import { parentPort } from "node:worker_threads";
import { receive } from "threadsafe";

parentPort.once("message", (message) => {
  try {
    const { m } = receive(message);
    let value;
    try {
      value = m.with((g) => g.value);
    } catch (error) {
      value = `read failed: ${error?.name}: ${error?.message}`;
    }
    parentPort.postMessage({ outcome: "returned", name: m.name, value });
  } catch (error) {
    parentPort.postMessage({
      outcome: "threw",
      isTypeError: error instanceof TypeError,
      name: error?.name,
      message: String(error?.message ?? error),
    });
  }
});
