// threadsafe/postgres against the same work written by hand in SQL, on one embedded PostgreSQL (started here:
// 127.0.0.1, a temp folder, fsync off so the disk does not drown the protocol; both sides get the same server).
//
//   node bench/postgres.mjs            # uncontended: 2,000 round trips per side; contended: 8 processes × 1,000
//   node bench/postgres.mjs --quick    # 300 round trips; 8 processes × 100
//
// 1. Uncontended: `counter.withAsync((g) => { g.value += 1 })` on one connection, against the hand-written
//    increment on another connection of the same process (lock, read, write, unlock; bench/lib/postgres-sql.mjs),
//    and against that increment batched into two round trips like the library's. Rounds alternate between the
//    sides; the ratio is of medians of per-round µs/op. Goal: library ÷ hand-written ≤ 1.2×.
// 2. Contended: 8 processes (child_process.fork) × 1,000 increments of one counter, all released at once; exact
//    total checked; ops/s for the library and for the hand-written SQL.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { i32 } from "../dist/index.js";
import { connect } from "../dist/postgres.js";
import { cannotRun, startServer } from "../test/support/embedded-postgres.mjs";
import { handIncrement, handIncrementBatched, handValue, prepareHand } from "./lib/postgres-sql.mjs";

const quick = process.argv.includes("--quick");
const uncontendedOps = quick ? 300 : 2000;
const rounds = quick ? 3 : 5;
const processes = 8;
const perProcess = quick ? 100 : 1000;

const skip = await cannotRun();
if (skip !== undefined) {
  console.log(`bench/postgres.mjs skipped: ${skip}`);
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = await startServer();
try {
  const { connectionString } = server;
  console.log(`threadsafe/postgres bench (${quick ? "quick" : "full"}), PostgreSQL on 127.0.0.1:${server.port}, Node ${process.version}\n`);

  // --- 1. uncontended round trip ---
  const db = await connect({ connectionString, name: "bench" });
  const counter = db.mutex("bench-uncontended", i32, 0);
  const client = new pg.Client({ connectionString, application_name: "bench-sql" });
  await client.connect();
  await prepareHand(client, 1);
  const sides = {
    "threadsafe withAsync": () => counter.withAsync((g) => void (g.value += 1)),
    "hand-written SQL (4 round trips)": () => handIncrement(client, 1),
    "hand-written SQL, batched (2 round trips)": () => handIncrementBatched(client, 1),
  };
  const perOp = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (const run of Object.values(sides)) for (let i = 0; i < 100; i++) await run(); // warm-up
  for (let round = 0; round < rounds; round++) {
    const order = Object.entries(sides);
    if (round % 2 === 1) order.reverse();
    for (const [name, run] of order) {
      const start = performance.now();
      for (let i = 0; i < uncontendedOps; i++) await run();
      perOp[name].push(((performance.now() - start) * 1000) / uncontendedOps);
    }
  }
  const expectedLib = 100 + rounds * uncontendedOps;
  const libValue = await counter.withAsync((g) => g.value);
  const handTotal = await handValue(client, 1);
  if (libValue !== expectedLib || handTotal !== 2 * expectedLib) throw new Error(`wrong totals: ${libValue} (want ${expectedLib}), ${handTotal} (want ${2 * expectedLib})`);
  const lib = median(perOp["threadsafe withAsync"]);
  const hand = median(perOp["hand-written SQL (4 round trips)"]);
  const batched = median(perOp["hand-written SQL, batched (2 round trips)"]);
  console.log(`1. uncontended increment, one connection each, ${rounds} rounds × ${uncontendedOps} (median µs/op; totals exact)`);
  for (const [name, xs] of Object.entries(perOp)) console.log(`   ${name.padEnd(44)} ${median(xs).toFixed(0).padStart(6)} µs/op   rounds: ${xs.map((x) => x.toFixed(0)).join(", ")}`);
  console.log(`   library ÷ hand-written: ${(lib / hand).toFixed(2)}× (goal ≤ 1.2×); library ÷ batched by hand: ${(lib / batched).toFixed(2)}×\n`);
  await db.close();

  // --- 2. contended: 8 processes × perProcess ---
  const child = fileURLToPath(new URL("../test/support/postgres-child.mjs", import.meta.url));
  const contended = async (role, label) => {
    const workers = Array.from({ length: processes }, (_, i) => {
      const p = fork(child, [JSON.stringify({ role, connectionString, name: `${label}-${i}`, lock: "bench-contended", key: 2, times: perProcess })], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const messages = [];
      const waiters = [];
      p.on("message", (m) => (waiters.length ? waiters.shift()(m) : messages.push(m)));
      p.on("exit", (code) => code !== 0 && console.error(`${label}-${i} exited with ${code}`));
      return { p, next: () => new Promise((r) => (messages.length ? r(messages.shift()) : waiters.push(r))) };
    });
    for (const w of workers) await w.next();
    const start = performance.now();
    for (const w of workers) w.p.send("go");
    for (const w of workers) await w.next();
    const seconds = (performance.now() - start) / 1000;
    return (processes * perProcess) / seconds;
  };
  await client.query("UPDATE bench_counters SET value = 0 WHERE id = 2").then(() => prepareHand(client, 2));
  const check = await connect({ connectionString, name: "bench-check" });
  const shared = check.mutex("bench-contended", i32, 0);
  const libOps = await contended("increment", "lib");
  const libCount = await shared.withAsync((g) => g.value);
  const handOps = await contended("increment-sql", "sql");
  const handCount = await handValue(client, 2);
  const total = processes * perProcess;
  if (libCount !== total || handCount !== total) throw new Error(`wrong totals: library ${libCount}, hand-written ${handCount}, want ${total}`);
  console.log(`2. contended: ${processes} processes × ${perProcess} increments of one counter (totals exact: ${total})`);
  console.log(`   threadsafe withAsync               ${libOps.toFixed(0).padStart(6)} ops/s`);
  console.log(`   hand-written SQL (4 round trips)   ${handOps.toFixed(0).padStart(6)} ops/s`);
  console.log(`   library ÷ hand-written throughput: ${(libOps / handOps).toFixed(2)}×`);
  await check.close();
  await client.end();
} finally {
  await server.stop();
}
