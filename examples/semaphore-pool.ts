// A pool limited by a Semaphore: 8 jobs on 8 threads share 3 "connections". Each job holds a permit while it uses
// one, so at most 3 run at once, whatever the scheduling; the others wait for a permit. A shared counter of jobs
// inside the pool, and the most ever seen inside, check it.
import { Semaphore, spawn } from "threadsafe";

const CONNECTIONS = 3;
const JOBS = 8;

const pool = new Semaphore(CONNECTIONS, { name: "connections" });
const stats = new Int32Array(new SharedArrayBuffer(12)); // [inside now, most inside at once, jobs done]

const jobs = [];
for (let j = 0; j < JOBS; j++) {
  jobs.push(
    spawn(
      (pool: Semaphore, stats: Int32Array, j: number) =>
        pool.with(() => {
          const inside = Atomics.add(stats, 0, 1) + 1;
          for (let most = Atomics.load(stats, 1); inside > most; most = Atomics.load(stats, 1)) {
            if (Atomics.compareExchange(stats, 1, most, inside) === most) break;
          }
          Atomics.wait(stats, 2, -1, 20); // "use the connection" for 20 ms
          Atomics.sub(stats, 0, 1);
          Atomics.add(stats, 2, 1);
          return j * j;
        }),
      [pool, stats, j],
      { name: `job-${j}` },
    ),
  );
}
const results = await Promise.all(jobs.map((job) => job.join()));

const ok = stats[1]! <= CONNECTIONS && stats[2] === JOBS && pool.available === CONNECTIONS;
console.log(
  `${stats[2]} jobs done (results ${results.join(", ")}); never more than ${CONNECTIONS} at once: ${stats[1]! <= CONNECTIONS}; ` +
    `all ${pool.available} connections free again`,
);
if (!ok) process.exit(1);
