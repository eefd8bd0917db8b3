// Run by test/one-victim.test.ts in a process of its own, so that its main thread can be the third thread of the
// scenario: blocked with no timeout (the test's process would be frozen by that; this one is killed if it hangs).
import { Mutex, i32, spawn } from "threadsafe";

const rounds = Number(process.argv[2] ?? 12);
const spin = (ms) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const outcomes = [];
for (let round = 0; round < rounds; round++) {
  const a = new Mutex(i32, 0, { name: `A-${round}` });
  const b = new Mutex(i32, 0, { name: `B-${round}` });
  const flags = new Int32Array(new SharedArrayBuffer(16));
  const body = (mine, other, flags, role) => {
    const first = mine.lock();
    try {
      Atomics.add(flags, 0, 1);
      while (Atomics.load(flags, 0) < 2);
      if (role === "B") {
        const until = performance.now() + 5;
        while (performance.now() < until);
        Atomics.store(flags, 1, 1);
      }
      other.lock().unlock();
      return `${role} ok`;
    } catch (e) {
      return `${role} ${e.kind ?? e.name}`;
    } finally {
      first.unlock();
    }
  };
  const hA = spawn(body, [a, b, flags, "A"], { name: "A" });
  const hB = spawn(body, [b, a, flags, "B"], { name: "B" });
  // C (this main thread) blocks with no timeout on A shortly after B's wait has closed the cycle.
  while (Atomics.load(flags, 0) < 2 || Atomics.load(flags, 1) === 0) Atomics.wait(flags, 2, 0, 0.2);
  spin(0.5 + (round % 10) * 0.3);
  let c;
  try {
    a.lock().unlock();
    c = "C ok";
  } catch (e) {
    c = `C ${e.kind ?? e.name}`;
  }
  outcomes.push([...(await Promise.all([hA.join(), hB.join()])), c]);
}
console.log(JSON.stringify(outcomes));
