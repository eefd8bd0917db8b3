// A read-mostly cache behind an RwLock: 4 worker threads look prices up many times (read locks, taken side by side),
// while one refresher thread rewrites the whole table now and then (a write lock: readers never see it half done).
// Every lookup checks the table's invariant (all prices of one version agree), so a torn read would be counted.
import { RwLock, array, i32, spawn, struct } from "threadsafe";

const ITEMS = 8;
const LOOKUPS = 20_000;
const REFRESHES = 50;

// version n: price of item i is 100 * n + i; `version` says which n the table holds.
const Table = struct({ version: i32, prices: array(i32, ITEMS) });
const cache = new RwLock(Table, { version: 0, prices: Array.from({ length: ITEMS }, (_, i) => i) }, { name: "price cache" });

const readers = [];
for (let t = 0; t < 4; t++) {
  readers.push(
    spawn(
      (cache: RwLock<{ version: number; prices: { get(i: number): number; length: number } }>, lookups: number, items: number) => {
        let torn = 0;
        let lastVersion = 0;
        for (let k = 0; k < lookups; k++) {
          using g = cache.read(); // many readers at once; a waiting refresher holds new readers back
          const table = g.value;
          const item = k % items;
          if (table.prices.get(item) !== 100 * table.version + item) torn++;
          if (table.version < lastVersion) torn++; // versions only go forward
          lastVersion = table.version;
        }
        return torn;
      },
      [cache, LOOKUPS, ITEMS],
      { name: `reader-${t}` },
    ),
  );
}

const refresher = spawn(
  (cache: RwLock<{ version: number; prices: { set(i: number, v: number): void } }>, refreshes: number, items: number) => {
    for (let n = 1; n <= refreshes; n++) {
      cache.withWrite((g) => {
        const table = g.value;
        for (let i = 0; i < items; i++) table.prices.set(i, 100 * n + i); // readers never see this loop half done
        table.version = n;
      });
    }
  },
  [cache, REFRESHES, ITEMS],
  { name: "refresher" },
);

const torn = (await Promise.all(readers.map((h) => h.join()))).reduce((a, b) => a + b, 0);
await refresher.join();

const final = cache.get();
console.log(`lookups: ${4 * LOOKUPS}, torn reads: ${torn}`);
console.log(`final version: ${final.version}, prices: ${final.prices.join(" ")}`);
if (torn !== 0 || final.version !== REFRESHES) {
  console.error("unexpected result");
  process.exit(1);
}
