// A shared lookup table built once, by whichever worker needs it first: a CRC-32 table (256 u32) in a
// OnceLock. Four workers checksum their share of the messages; the first to call getOrInit builds the table, the
// others wait for it (or find it ready) and read the same shared memory. The build count proves it ran once.
import assert from "node:assert/strict";
import { AtomicI32, OnceLock, array, spawn, u32 } from "threadsafe";

const table = new OnceLock(array(u32, 256), { name: "crc32-table" });
type Table = typeof table;
const builds = new AtomicI32(0, { name: "builds" });
const messages = Array.from({ length: 40 }, (_, i) => `message number ${i}`);

const workers = [0, 1, 2, 3].map((w) =>
  spawn(
    (table: Table, builds: AtomicI32, mine: string[]) => {
      // The builder is defined in the worker: a spawned function sees nothing of the scope around it.
      const crcTable = table.getOrInit(() => {
        builds.fetchAdd(1);
        return Array.from({ length: 256 }, (_, n) => {
          let c = n;
          for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
          return c >>> 0;
        });
      });
      return mine.map((text) => {
        let crc = 0xffffffff;
        for (const byte of new TextEncoder().encode(text)) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
        return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
      });
    },
    [table, builds, messages.filter((_, i) => i % 4 === w)],
    { name: `checksummer-${w}` },
  ),
);
const sums = (await Promise.all(workers.map((w) => w.join()))).flat();

// CRC-32 of "message number 0", computed here without the table: the reference value.
let crc = 0xffffffff;
for (const byte of new TextEncoder().encode(messages[0]!)) {
  crc ^= byte;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
}
assert.equal(sums[0], ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0"));
assert.equal(builds.load(), 1);
assert.equal(table.get()![1], 0x77073096);
console.log(`checksummed ${sums.length} messages in 4 workers; table built ${builds.load()} time; table[1] = 0x${table.get()![1]!.toString(16)}`);
