// The Rust book's §16.2 ("Using Message Passing to Transfer Data Between Threads"), listings 16-6 to 16-11,
// translated. Prints exactly what the book's programs print (order of the two producers' lines aside, which is
// checked as a multiset).
import { channel, spawn, string, type Sender } from "threadsafe";

// Listings 16-6 to 16-8: one value from a spawned thread.
{
  const [tx, rx] = channel(string(16));
  const h = spawn((tx: Sender<string>) => { tx.send("hi"); }, [tx]);
  tx.close();
  const received = rx.recv();
  console.log(`Got: ${received}`); // Got: hi
  await h.join();
}

// Listing 16-10: several values, the receiver as an iterator.
{
  const [tx, rx] = channel(string(16));
  const h = spawn(
    async (tx: Sender<string>) => {
      for (const val of ["hi", "from", "the", "thread"]) {
        tx.send(val);
        await new Promise((r) => setTimeout(r, 100)); // thread::sleep(Duration::from_secs(1)), shortened
      }
    },
    [tx],
  );
  tx.close();
  const got: string[] = [];
  for (const received of rx) {
    console.log(`Got: ${received}`);
    got.push(received);
  }
  if (got.join(" ") !== "hi from the thread") throw new Error(`wrong order: ${got.join(" ")}`);
  await h.join();
}

// Listing 16-11: two producers (Rust clones tx; here each thread that has the Sender is one sender).
{
  const [tx, rx] = channel(string(16));
  const a = spawn(
    async (tx: Sender<string>) => {
      for (const val of ["hi", "from", "the", "thread"]) { tx.send(val); await new Promise((r) => setTimeout(r, 50)); }
    },
    [tx],
  );
  const b = spawn(
    async (tx: Sender<string>) => {
      for (const val of ["more", "messages", "for", "you"]) { tx.send(val); await new Promise((r) => setTimeout(r, 50)); }
    },
    [tx],
  );
  tx.close();
  const got: string[] = [];
  for (const received of rx) {
    console.log(`Got: ${received}`);
    got.push(received);
  }
  const expected = ["hi", "from", "the", "thread", "more", "messages", "for", "you"];
  if (got.slice().sort().join() !== expected.slice().sort().join()) throw new Error(`lost or extra messages: ${got.join(" ")}`);
  await Promise.all([a.join(), b.join()]);
  console.log(`all ${got.length} messages received once`);
}
