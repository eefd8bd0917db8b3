// The Rust book's listing 16-15, "Using an Arc<T> to wrap the Mutex<T> to be able to share ownership across
// multiple threads", in TypeScript: ten threads each add 1 to a counter behind one Mutex<i32>.
import { Mutex, spawn, i32 } from "threadsafe";

const counter = new Mutex(i32, 0, { name: "counter" });
const handles = [];

for (let i = 0; i < 10; i++) {
  handles.push(
    spawn(
      (counter) => {
        using num = counter.lock();
        num.value += 1;
      },
      [counter],
    ),
  );
}

for (const handle of handles) {
  await handle.join();
}

console.log(`Result: ${counter.with((num) => num.value)}`);
