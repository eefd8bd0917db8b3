// A simulation stepping in lockstep with a Barrier: 4 threads each own a quarter of a ring of 64 cells. Every step
// each cell becomes (left + itself + right) mod 1000, read from the previous step's buffer; nobody may start step
// s + 1 before all 4 finished step s (they read each other's cells), which barrier.wait() guarantees. The leader
// of each round counts the steps. The result is checked against the same simulation run on one thread.
import { Barrier, spawn } from "threadsafe";

const CELLS = 64;
const THREADS = 4;
const STEPS = 100;

const buffers = [new Int32Array(new SharedArrayBuffer(4 * CELLS)), new Int32Array(new SharedArrayBuffer(4 * CELLS))];
for (let i = 0; i < CELLS; i++) buffers[0]![i] = (i * 37) % 1000;
const steps = new Int32Array(new SharedArrayBuffer(4)); // bumped by each round's leader
const barrier = new Barrier(THREADS, { name: "step" });

const workers = [];
for (let t = 0; t < THREADS; t++) {
  workers.push(
    spawn(
      (barrier: Barrier, a: Int32Array, b: Int32Array, steps: Int32Array, t: number, threads: number, count: number) => {
        const n = a.length;
        const from = (t * n) / threads;
        const to = ((t + 1) * n) / threads;
        for (let s = 0; s < count; s++) {
          const [src, dst] = s % 2 === 0 ? [a, b] : [b, a];
          for (let i = from; i < to; i++) dst[i] = (src[(i + n - 1) % n]! + src[i]! + src[(i + 1) % n]!) % 1000;
          if (barrier.wait().isLeader) steps[0]! += 1; // one leader per round: no race on this plain increment
        }
      },
      [barrier, buffers[0], buffers[1], steps, t, THREADS, STEPS],
      { name: `cells-${t}` },
    ),
  );
}
for (const w of workers) await w.join();

// The same simulation on one thread.
let cells = Array.from({ length: CELLS }, (_, i) => (i * 37) % 1000);
for (let s = 0; s < STEPS; s++) cells = cells.map((c, i) => (cells[(i + CELLS - 1) % CELLS]! + c + cells[(i + 1) % CELLS]!) % 1000);

const result = buffers[STEPS % 2]!;
const same = cells.every((c, i) => c === result[i]);
const checksum = Array.from(result).reduce((x, y) => x + y, 0);
console.log(`${steps[0]} steps by ${THREADS} threads in lockstep; checksum ${checksum}; same as one thread: ${same}`);
if (!same || steps[0] !== STEPS) process.exit(1);
