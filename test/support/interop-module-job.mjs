// A module run by spawn(moduleUrl, args) (interop.test.ts): its default export gets the revived args.
import { Mutex, currentThread } from "threadsafe";

export default async function job(m, n, label) {
  for (let i = 0; i < n; i++) {
    m.with((g) => {
      g.value = g.value + 1;
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 1)); // an async default export is awaited
  return { label, isMutex: m instanceof Mutex, thread: currentThread(), value: m.with((g) => g.value) };
}
