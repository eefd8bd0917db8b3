// A bounded producer/consumer queue built from one Mutex and two Condvars, the textbook way: producers wait on
// "not-full" while the ring is full, consumers wait on "not-empty" while it is empty, and each side notifies the
// other after changing the ring. 3 producers send the numbers 1..30,000 (10,000 each) through a 32-slot ring to
// 3 consumers; the totals printed at the end are checked exactly.
//
//   npx tsx examples/bounded-queue.ts
import { Condvar, Mutex, array, i32, spawn, struct } from "threadsafe";

const CAPACITY = 32;
const PRODUCERS = 3;
const CONSUMERS = 3;
const PER_PRODUCER = 10_000;
const TOTAL = PRODUCERS * PER_PRODUCER;

const Ring = struct({ slots: array(i32, CAPACITY), head: i32, len: i32, taken: i32 });
type RingValue = { slots: { get(i: number): number; set(i: number, v: number): void }; head: number; len: number; taken: number };

const queue = new Mutex(Ring, { slots: Array(CAPACITY).fill(0), head: 0, len: 0, taken: 0 }, { name: "queue" });
const notEmpty = new Condvar({ name: "not-empty" });
const notFull = new Condvar({ name: "not-full" });

const producers = Array.from({ length: PRODUCERS }, (_, p) =>
  spawn(
    (queue: Mutex<RingValue>, notEmpty: Condvar, notFull: Condvar, first: number, count: number, capacity: number) => {
      for (let n = first; n < first + count; n++) {
        using ring = queue.lock();
        notFull.waitWhile(ring, (r) => r.len === capacity); // sleeps (mutex released) while the ring is full
        const r = ring.value;
        r.slots.set((r.head + r.len) % capacity, n);
        r.len += 1;
        notEmpty.notifyOne();
      }
    },
    [queue, notEmpty, notFull, p * PER_PRODUCER + 1, PER_PRODUCER, CAPACITY],
    { name: `producer-${p}` },
  ),
);

const consumers = Array.from({ length: CONSUMERS }, (_, c) =>
  spawn(
    (queue: Mutex<RingValue>, notEmpty: Condvar, notFull: Condvar, total: number, capacity: number) => {
      let count = 0;
      let sum = 0;
      for (;;) {
        using ring = queue.lock();
        notEmpty.waitWhile(ring, (r) => r.len === 0 && r.taken < total); // sleeps while empty and more will come
        const r = ring.value;
        if (r.len === 0) return { count, sum }; // all taken
        sum += r.slots.get(r.head);
        r.head = (r.head + 1) % capacity;
        r.len -= 1;
        r.taken += 1;
        count += 1;
        if (r.taken === total) notEmpty.notifyAll(); // wake the other consumers: nothing more will come
        notFull.notifyOne();
      }
    },
    [queue, notEmpty, notFull, TOTAL, CAPACITY],
    { name: `consumer-${c}` },
  ),
);

await Promise.all(producers.map((h) => h.join()));
const results = await Promise.all(consumers.map((h) => h.join()));
const count = results.reduce((a, r) => a + r.count, 0);
const sum = results.reduce((a, r) => a + r.sum, 0);
const expectedSum = (TOTAL * (TOTAL + 1)) / 2;

console.log(`consumed ${count} items, sum ${sum} (expected ${TOTAL} items, sum ${expectedSum})`);
if (count !== TOTAL || sum !== expectedSum) {
  console.error("MISMATCH: an item was lost or duplicated");
  process.exit(1);
}
console.log("OK: every item arrived exactly once");
