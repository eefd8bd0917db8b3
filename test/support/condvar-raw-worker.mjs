// A raw worker_threads Worker (not started by spawn) that gets a Mutex and a Condvar only through share/receive.
// Used by condvar.test.ts: it waits on the condvar until the mutex's value is not 0, then replies with share(...)
// of { value, isCondvar }.
import { parentPort } from "node:worker_threads";
import { Condvar, receive, share } from "threadsafe";

parentPort.once("message", (message) => {
  const { m, cv } = receive(message);
  let value;
  {
    const g = m.lock();
    cv.waitWhile(g, (v) => v === 0);
    value = g.value;
    g.unlock();
  }
  parentPort.postMessage(share({ value, isCondvar: cv instanceof Condvar }));
});
