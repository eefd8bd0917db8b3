// Dining philosophers, once per deadlock strategy. Five philosophers sit at a round table with one fork between
// each pair; to eat, a philosopher needs both forks beside them. Everyone taking the left fork first is the classic
// deadlock. Each strategy below avoids, breaks or forbids it; the table shows what it cost.
//
//   npx tsx examples/philosophers.ts [meals per philosopher, default 2000]
import { Mutex, i32, spawn } from "threadsafe";

type Strategy = "detect" | "levels" | "lockAll" | "transaction" | "timeout";
interface Outcome {
  meals: number;
  deadlocks: number;
  retries: number;
}

const PHILOSOPHERS = 5;
const MEALS = Number(process.argv[2] ?? 2000);

/** One philosopher: eats `meals` times with `strategy`, counting what it took. */
const philosopher = async (
  strategy: Strategy,
  seat: number,
  left: Mutex<number>,
  right: Mutex<number>,
  meals: number,
  start: Int32Array,
): Promise<Outcome> => {
  const { lockAll, transaction } = await import("threadsafe");
  while (Atomics.load(start, 0) === 0) Atomics.wait(start, 0, 0, 100); // everyone sits down at once
  const outcome = { meals: 0, deadlocks: 0, retries: 0 };
  const eat = (a: { value: number }, b: { value: number }) => {
    a.value += 1; // each fork counts the meals eaten with it
    b.value += 1;
    outcome.meals += 1;
  };
  const backOff = () => Atomics.wait(start, 1, 0, Math.random() * 2);
  const ponder = () => Atomics.wait(start, 1, 0, 0.05); // a moment's thought between the first fork and the second
  for (let meal = 0; meal < meals; meal++) {
    switch (strategy) {
      case "detect": // naive order (left first), relying on deadlock detection to break cycles
        for (;;) {
          const a = left.lock();
          ponder();
          try {
            const b = right.lock();
            eat(a, b);
            b.unlock();
            a.unlock();
            break;
          } catch (error) {
            a.unlock();
            if ((error as Error).name !== "DeadlockError") throw error;
            outcome.deadlocks += 1;
            backOff();
          }
        }
        break;
      case "levels": { // forks have levels = their number: always take the lower-numbered fork first
        const [first, second] = (left.level ?? 0) < (right.level ?? 0) ? [left, right] : [right, left];
        const a = first.lock();
        ponder();
        const b = second.lock();
        eat(a, b);
        b.unlock();
        a.unlock();
        break;
      }
      case "lockAll": { // both forks at once, never holding one while waiting for the other
        const [a, b] = lockAll([left, right]);
        eat(a, b);
        a.unlock();
        b.unlock();
        break;
      }
      case "transaction": // wound-wait: take forks in any order; the younger diner rolls back on conflict
        transaction((tx) => {
          if (tx.retries > 0) outcome.retries += 1;
          const a = seat % 2 === 0 ? tx.lock(left) : tx.lock(right);
          ponder();
          const b = seat % 2 === 0 ? tx.lock(right) : tx.lock(left);
          eat(a, b);
        });
        break;
      case "timeout": // take left, try right for a short while, put left back and retry on timeout
        for (;;) {
          const a = left.lock();
          ponder();
          try {
            const b = right.lock({ timeout: 1 });
            eat(a, b);
            b.unlock();
            a.unlock();
            break;
          } catch (error) {
            a.unlock();
            const name = (error as Error).name;
            if (name !== "LockTimeoutError" && name !== "DeadlockError") throw error;
            if (name === "DeadlockError") outcome.deadlocks += 1;
            outcome.retries += 1;
            backOff();
          }
        }
        break;
    }
  }
  return outcome;
};

const strategies: Strategy[] = ["detect", "levels", "lockAll", "transaction", "timeout"];
const rows: string[] = [];
for (const strategy of strategies) {
  const forks = Array.from({ length: PHILOSOPHERS }, (_, i) => new Mutex(i32, 0, { name: `fork ${i}`, level: strategy === "levels" ? i : undefined }));
  const start = new Int32Array(new SharedArrayBuffer(8));
  const diners = forks.map((_, seat) =>
    spawn(philosopher, [strategy, seat, forks[seat]!, forks[(seat + 1) % PHILOSOPHERS]!, MEALS, start], { name: `philosopher ${seat}` }),
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // let every thread start
  const began = performance.now();
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const outcomes = await Promise.all(diners.map((d) => d.join()));
  const ms = performance.now() - began;
  const total = (key: keyof Outcome) => outcomes.reduce((sum, o) => sum + o[key], 0);
  const forkUses = forks.reduce((sum, fork) => sum + fork.with((f) => f.value), 0);
  const exact = forkUses === 2 * total("meals") && total("meals") === PHILOSOPHERS * MEALS;
  rows.push(
    `| ${strategy.padEnd(11)} | ${String(total("meals")).padStart(6)} | ${exact ? "exact" : "WRONG"} | ${String(total("deadlocks")).padStart(15)} | ${String(total("retries")).padStart(7)} | ${ms.toFixed(0).padStart(6)} |`,
  );
}

console.log(`Dining philosophers: ${PHILOSOPHERS} threads × ${MEALS} meals, one run per strategy\n`);
console.log("| strategy    |  meals | forks | deadlocks caught | retries |   ms   |");
console.log("|-------------|--------|-------|------------------|---------|--------|");
for (const row of rows) console.log(row);
