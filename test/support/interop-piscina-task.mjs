// A piscina task module (interop.test.ts): each task receives a shared mutex through share() in its data,
// increments it `n` times non-atomically under the lock, and reports which library thread ran it and whether
// this pool thread's earlier receive of the same mutex gave the same object.
import { currentThread, receive } from "threadsafe";

let previous;

export default function task({ message, n }) {
  const { m } = receive(message);
  const sameAsBefore = previous === undefined ? null : previous === m;
  previous = m;
  for (let i = 0; i < n; i++) {
    const g = m.lock();
    g.value = g.value + 1;
    g.unlock();
  }
  return { thread: currentThread(), sameAsBefore };
}
