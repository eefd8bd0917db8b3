// One participant of test/postgres.test.ts and bench/postgres.mjs, in a process of its own (child_process.fork):
// argv[2] is a JSON job; results go to the parent over IPC. Real processes, so that a SIGKILL is a real death.
import { i32, struct } from "threadsafe";
import { connect } from "threadsafe/postgres";

const job = JSON.parse(process.argv[2]);
const send = (message) => new Promise((resolve) => process.send(message, resolve));
const next = () => new Promise((resolve) => process.once("message", resolve));

if (job.role === "increment-sql") {
  // bench/postgres.mjs's baseline: the same increments written by hand on one connection (see handIncrement).
  const { default: pg } = await import("pg");
  const { handIncrement } = await import("../../bench/lib/postgres-sql.mjs");
  const client = new pg.Client({ connectionString: job.connectionString, application_name: job.name });
  await client.connect();
  await send({ ready: true });
  await next();
  for (let i = 0; i < job.times; i++) await handIncrement(client, job.key);
  await send({ done: true });
  await client.end();
  process.exit(0);
}


const db = await connect({ connectionString: job.connectionString, name: job.name });
try {
  switch (job.role) {
    case "increment": {
      // The book's counter: each process adds 1, `times` times, under one distributed mutex.
      const counter = db.mutex(job.lock, i32, 0);
      await send({ ready: true });
      await next(); // everyone starts together, so the increments really contend
      for (let i = 0; i < job.times; i++) await counter.withAsync((num) => void (num.value += 1));
      await send({ done: true });
      break;
    }
    case "hold": {
      // Takes the lock, changes the value through the guard, and never releases: the parent kills this process.
      const account = db.mutex(job.lock, struct({ balance: i32, updates: i32 }), { balance: 0, updates: 0 });
      const guard = await account.lockAsync();
      guard.value.balance = -999_999; // half an update: must never be seen
      await send({ holding: true, previousHolderDied: guard.previousHolderDied, value: guard.value.toJSON() });
      await new Promise(() => {});
      break;
    }
    case "update": {
      // A clean holder: one update, released, then exits.
      const account = db.mutex(job.lock, struct({ balance: i32, updates: i32 }), { balance: 0, updates: 0 });
      const guard = await account.lockAsync();
      const seen = { previousHolderDied: guard.previousHolderDied, value: guard.value.toJSON() };
      guard.value.balance += job.amount;
      guard.value.updates += 1;
      await guard.unlock();
      await send(seen);
      break;
    }
    case "cross": {
      // Takes `first`, waits for the parent's go, then wants `second`: two of these in opposite orders deadlock.
      const first = db.mutex(job.first, i32, 0);
      const second = db.mutex(job.second, i32, 0);
      const held = await first.lockAsync();
      await send({ holding: job.first });
      await next();
      let outcome;
      try {
        const g = await second.lockAsync({ timeout: job.timeout });
        g.value += 1;
        await g.unlock();
        outcome = { completed: true };
      } catch (error) {
        outcome = { error: { name: error.name, message: error.message, kind: error.kind, cycle: error.cycle } };
      }
      held.value += 1;
      await held.unlock();
      await send(outcome);
      break;
    }
    default:
      throw new Error(`unknown role ${job.role}`);
  }
} finally {
  await db.close();
}
