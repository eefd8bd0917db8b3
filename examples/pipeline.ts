// A pipeline with back-pressure: a reader thread → 4 parser threads → a writer (the main thread), joined by bounded
// channels. The reader can never run more than 64 lines ahead of the parsers, nor the parsers 64 records ahead of
// the writer. Prints an exact, checked result.
import { spawn, string, struct, syncChannel, i32, f64, type Receiver, type Sender } from "threadsafe";

const LINES = 20_000;
const Record = struct({ id: i32, value: f64 });
const [lineTx, lineRx] = syncChannel(string(64), 64, { name: "lines" });
const [recordTx, recordRx] = syncChannel(Record, 64, { name: "records" });

const reader = spawn(
  (tx: Sender<string>, n: number) => {
    for (let i = 0; i < n; i++) tx.send(`${i},${(i * 0.5).toFixed(1)}`); // blocks while the parsers are behind
  },
  [lineTx, LINES],
  { name: "reader" },
);
const parsers = [0, 1, 2, 3].map((k) =>
  spawn(
    (rx: Receiver<string>, tx: Sender<{ id: number; value: number }>) => {
      let parsed = 0;
      for (const line of rx) {
        const [id, value] = line.split(",");
        tx.send({ id: Number(id), value: Number(value) });
        parsed++;
      }
      return parsed; // the loop ended: the reader is done and the lines are drained
    },
    [lineRx, recordTx],
    { name: `parser-${k}` },
  ),
);
// This thread only writes: drop its own ends, so the channels disconnect when the threads are done.
lineTx.close();
lineRx.close();
recordTx.close();

let count = 0;
let idSum = 0;
let valueSum = 0;
for await (const record of recordRx) {
  count++;
  idSum += record.id;
  valueSum += record.value;
}
await reader.join();
const perParser = await Promise.all(parsers.map((p) => p.join()));
const expectedIds = (LINES * (LINES - 1)) / 2;
if (count !== LINES || idSum !== expectedIds || valueSum !== expectedIds / 2 || perParser.reduce((a, b) => a + b) !== LINES) {
  throw new Error(`pipeline lost or duplicated records: ${count} records, id sum ${idSum}`);
}
console.log(`${count} records through 4 parsers, id sum ${idSum}, value sum ${valueSum}: exact`);
