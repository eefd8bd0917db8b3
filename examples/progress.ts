// A progress counter across a pool: four workers process their items and count them in one AtomicU64 (items) and
// one AtomicU64 (bytes), while the main thread reports progress without taking any lock. The totals are exact.
import assert from "node:assert/strict";
import { AtomicU64, spawn } from "threadsafe";

const ITEMS_PER_WORKER = 250_000;
const done = new AtomicU64(0n, { name: "items-done" });
const bytes = new AtomicU64(0n, { name: "bytes-done" });

const pool = [0, 1, 2, 3].map((w) =>
  spawn(
    (done: AtomicU64, bytes: AtomicU64, w: number, n: number) => {
      let checksum = 0;
      for (let i = 0; i < n; i++) {
        const item = `item-${w}-${i}`; // "process" an item: its length is its size in bytes
        checksum = (checksum + item.length) | 0;
        bytes.fetchAdd(BigInt(item.length));
        done.fetchAdd(1n);
      }
      return checksum;
    },
    [done, bytes, w, ITEMS_PER_WORKER],
    { name: `worker-${w}` },
  ),
);

const total = BigInt(4 * ITEMS_PER_WORKER);
const timer = setInterval(() => {
  const n = done.load();
  if (n < total) console.log(`progress: ${((Number(n) / Number(total)) * 100).toFixed(1)}%`);
}, 20);
const checksums = await Promise.all(pool.map((h) => h.join()));
clearInterval(timer);

// Every item's size, counted here: the exact total the workers must have added.
let expectedBytes = 0n;
for (let w = 0; w < 4; w++) for (let i = 0; i < ITEMS_PER_WORKER; i++) expectedBytes += BigInt(`item-${w}-${i}`.length);
assert.equal(done.load(), total);
assert.equal(bytes.load(), expectedBytes);
assert.equal(BigInt(checksums.reduce((a, b) => a + b, 0)), expectedBytes);
console.log(`processed ${done.load()} of ${total} items, ${bytes.load()} bytes`);
