// Run by test/program-exit.test.ts in a process of its own: a whole program that uses the library and then simply
// runs out of work. It must end by itself, as any program does; the test kills it if it does not.
import { Mutex, i32, spawn } from "threadsafe";

const counter = new Mutex(i32, 0, { name: "counter" });
counter.with((g) => {
  g.value += 1;
});
const h = spawn(
  (counter) => {
    counter.with((g) => {
      g.value += 10;
    });
    return "thread done";
  },
  [counter],
  { name: "adder" },
);
const joined = await h.join();
const g = await counter.lockAsync();
const total = g.value;
g.unlock();
console.log(JSON.stringify([joined, total]));
