// Channels (DESIGN §1b): channel(layout, { maxBytes }) and syncChannel(layout, bound) → [Sender, Receiver], mpmc,
// typed by layouts, disconnected as in Rust for every way a side can go. Real workers, real shared memory, exact
// oracles; interleavings are ordered by polling dumpLocks() and shared flags, never by sleeping. Wake-up tests raise
// the parking slice far above their time bound, so a missing notify hangs (and fails) instead of costing 100 ms.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Arc,
  DeadlockError,
  RecvError,
  Receiver,
  SendError,
  Sender,
  TimeoutError,
  channel,
  dumpLocks,
  f64,
  i32,
  i64,
  json,
  spawn,
  string,
  struct,
  syncChannel,
  u64,
  array,
  u8,
  type JoinHandle,
} from "threadsafe";
import { terminateStopsAtOnce } from "../dist/internal.js";
import { collectUntil, flags, signal, until } from "./support/contract-helpers.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

/** Whether dumpLocks() lists a waiter of `kind` on the channel named `name`. */
function hasWaiter(name: string, kind: "sync" | "async"): boolean {
  return dumpLocks().locks.some((l) => l.lock.name === name && l.kind === "Channel" && l.waiters.some((w) => w.kind === kind));
}

// ## Basics

test("bounded: trySend is false when full, recv takes in order, capacity never exceeded", () => {
  const [tx, rx] = syncChannel(i32, 3);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(2), true);
  assert.equal(tx.trySend(3), true);
  assert.equal(tx.trySend(4), false);
  assert.equal(rx.recv(), 1);
  assert.equal(tx.trySend(4), true);
  assert.equal(tx.trySend(5), false);
  assert.deepEqual([rx.tryRecv(), rx.tryRecv(), rx.tryRecv(), rx.tryRecv()], [2, 3, 4, undefined]);
  // the ring wraps many laps
  for (let i = 0; i < 10_000; i++) {
    assert.equal(tx.trySend(i), true);
    assert.equal(rx.recv(), i);
  }
  tx.close();
  assert.throws(() => rx.recv(), RecvError);
  assert.throws(() => rx.tryRecv(), RecvError);
  rx.close();
});

test("capacity 1 alternates; capacity 0 trySend is false with no receiver waiting", () => {
  const [tx, rx] = syncChannel(i32, 1);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(2), false);
  assert.equal(rx.recv(), 1);
  assert.equal(tx.trySend(2), true);
  assert.equal(rx.tryRecv(), 2);
  const [t0, r0] = syncChannel(i32, 0);
  assert.equal(t0.trySend(1), false);
  assert.equal(r0.tryRecv(), undefined);
});

test("timeouts: recv, send on a full channel, rendezvous send (its message is taken back)", async () => {
  const [tx, rx] = syncChannel(i32, 1, { name: "to" });
  assert.throws(() => rx.recv({ timeout: 5 }), (e: unknown) => e instanceof TimeoutError && e.name === "TimeoutError" && /"to"/.test(e.message));
  tx.send(1);
  assert.throws(() => tx.send(2, { timeout: 5 }), TimeoutError);
  await assert.rejects(tx.sendAsync(2, { timeout: 5 }), TimeoutError);
  assert.equal(rx.recv(), 1);
  await assert.rejects(rx.recvAsync({ timeout: 5 }), TimeoutError);
  const [t0, r0] = syncChannel(i32, 0);
  assert.throws(() => t0.send(9, { timeout: 5 }), TimeoutError);
  await assert.rejects(t0.sendAsync(9, { timeout: 5 }), TimeoutError);
  assert.equal(r0.tryRecv(), undefined); // nothing was left behind
  const ac = new AbortController();
  const pending = rx.recvAsync({ signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  tx.send(3); // the aborted wait took nothing
  assert.equal(rx.recv(), 3);
});

test("arguments are validated with threadsafe: errors", () => {
  assert.throws(() => syncChannel({} as never, 1), /threadsafe: syncChannel\(layout, bound\): layout must be/);
  assert.throws(() => syncChannel(i32, -1), RangeError);
  assert.throws(() => syncChannel(i32, 1.5), RangeError);
  assert.throws(() => syncChannel(i32, "2" as never), TypeError);
  assert.throws(() => channel(i32, { maxBytes: 4 }), RangeError);
  assert.throws(() => channel(i32, { name: 3 as never }), TypeError);
  const [tx, rx] = syncChannel(i32, 1);
  assert.throws(() => rx.recv({ timeout: -1 }), RangeError);
  assert.throws(() => tx.send(1, { timeout: "x" as never }), TypeError);
  assert.throws(() => new (Sender as unknown as new () => unknown)(), /cannot be constructed/);
  tx.close();
  tx.close(); // harmless
  assert.throws(() => tx.send(1), /closed its Sender/);
  rx.close();
  assert.throws(() => rx.recv(), /closed its Receiver/);
});

// ## Layouts

test("layout round trips across threads: struct, string, i64/u64, json, array", { timeout: 30_000 }, async () => {
  const Msg = struct({ id: i32, x: f64, tag: string(16), big: i64, ubig: u64, bytes: array(u8, 3) });
  const [tx, rx] = syncChannel(Msg, 4);
  const [jtx, jrx] = channel(json(256), { maxBytes: 4096 });
  const [stx, srx] = syncChannel(string(32), 2);
  const values = [
    { id: -1, x: 0.5, tag: "héllo 🎉", big: -(2n ** 63n), ubig: 2n ** 64n - 1n, bytes: [1, 2, 255] },
    { id: 2 ** 31 - 1, x: -0, tag: "", big: 2n ** 63n - 1n, ubig: 0n, bytes: [0, 0, 0] },
  ];
  const jsonValues = [null, true, 1.5, "s", [1, [2, { a: "b" }]], { nested: { deep: [null, false] } }];
  const h = spawn(
    (tx: Sender<unknown>, jtx: Sender<unknown>, stx: Sender<string>, values: unknown[], jsonValues: unknown[]) => {
      for (const v of values) tx.send(v as never);
      for (const v of jsonValues) jtx.send(v as never);
      stx.send("ünïcödé ✓");
    },
    [tx, jtx, stx, values, jsonValues],
  );
  tx.close();
  jtx.close();
  stx.close();
  const got = [...rx];
  assert.equal(got.length, 2);
  assert.deepEqual(got[0], values[0]);
  assert.ok(Object.is(got[1]!.x, -0));
  assert.deepEqual(got[1], values[1]);
  assert.deepEqual([...jrx], jsonValues);
  assert.deepEqual([...srx], ["ünïcödé ✓"]);
  await h.join();
});

test("bad values are refused before anything is written: nothing is received", () => {
  const [tx, rx] = syncChannel(struct({ n: i32, s: string(4) }), 2);
  assert.throws(() => tx.send({ n: 1.5, s: "a" }), /value\.n/);
  assert.throws(() => tx.send({ n: 1, s: "too long" }), RangeError);
  assert.throws(() => tx.trySend({ n: "x", s: "a" } as never), TypeError);
  const [jtx, jrx] = syncChannel(json(16), 2);
  assert.throws(() => jtx.send({ a: undefined } as never), TypeError);
  assert.throws(() => jtx.send("x".repeat(100)), RangeError);
  const [btx, brx] = syncChannel(i64, 2);
  assert.throws(() => btx.send(2n ** 63n), RangeError);
  assert.throws(() => btx.send(1 as never), TypeError);
  assert.equal(rx.tryRecv(), undefined);
  assert.equal(jrx.tryRecv(), undefined);
  assert.equal(brx.tryRecv(), undefined);
  // and the channel still works
  tx.send({ n: 7, s: "ok" });
  assert.deepEqual(rx.recv(), { n: 7, s: "ok" });
});

// ## Throughput and exactness under concurrency

test("4 producers × 250,000 → 4 consumers: the multiset received is exactly the multiset sent", { timeout: 180_000 }, async () => {
  const PER = 250_000;
  const [tx, rx] = syncChannel(i32, 1024, { name: "mpmc" });
  const seen = new Int32Array(new SharedArrayBuffer(4 * 4 * PER));
  const producers = [0, 1, 2, 3].map((p) =>
    spawn(
      (tx: Sender<number>, p: number, per: number) => {
        for (let i = 0; i < per; i++) tx.send(p * per + i);
      },
      [tx, p, PER],
      { name: `producer-${p}` },
    ),
  );
  const consumers = [0, 1, 2, 3].map((c) =>
    spawn(
      (rx: Receiver<number>, seen: Int32Array) => {
        let n = 0;
        for (const v of rx) {
          Atomics.add(seen, v, 1);
          n++;
        }
        return n;
      },
      [rx, seen],
      { name: `consumer-${c}` },
    ),
  );
  tx.close();
  rx.close();
  await Promise.all(producers.map((h) => h.join()));
  const counts = await Promise.all(consumers.map((h) => h.join()));
  assert.equal(counts.reduce((a, b) => a + b, 0), 4 * PER);
  let wrong = 0;
  for (let i = 0; i < seen.length; i++) if (seen[i] !== 1) wrong++;
  assert.equal(wrong, 0, "every message received exactly once");
});

test("bounded capacity is never exceeded under a racing producer (bounds 1, 7, and 0 = one by one)", { timeout: 60_000 }, async () => {
  for (const bound of [1, 7, 0]) {
    const [tx, rx] = syncChannel(i32, bound);
    const counters = new Int32Array(new SharedArrayBuffer(8)); // [0]: sends returned
    const N = 20_000;
    const h = spawn(
      (tx: Sender<number>, counters: Int32Array, n: number) => {
        for (let i = 0; i < n; i++) {
          tx.send(i);
          Atomics.add(counters, 0, 1);
        }
      },
      [tx, counters, N],
    );
    tx.close();
    let received = 0;
    let worst = 0;
    for (;;) {
      // Every send that returned and is not received yet is in the ring: at most `bound` of them.
      const inRing = Atomics.load(counters, 0) - received;
      worst = Math.max(worst, inRing);
      let v: number;
      try {
        v = rx.recv();
      } catch (e) {
        assert.ok(e instanceof RecvError);
        break;
      }
      assert.equal(v, received);
      received++;
    }
    assert.equal(received, N);
    assert.ok(worst <= bound, `bound ${bound}: saw ${worst} messages in the ring`);
    await h.join();
  }
});

// ## The cases that break `multithreading`'s channel (primitives-anchors.md §9), as regressions

const Obj = struct({ id: i32, seq: f64, x: f64, y: f64, tag: string(24) });

function obj(i: number): { id: number; seq: number; x: number; y: number; tag: string } {
  return { id: i, seq: i * 1.25, x: -i / 3, y: i * 2.5, tag: `tag-${i % 1000}-abcdefgh` };
}

test("regression: 30,000 64-byte objects through capacity 256, blocking receiver and async receiver, exact", { timeout: 120_000 }, async () => {
  for (const mode of ["blocking", "async"] as const) {
    const [tx, rx] = syncChannel(Obj, 256);
    const h = spawn(
      (tx: Sender<unknown>, n: number) => {
        for (let i = 0; i < n; i++) tx.send({ id: i, seq: i * 1.25, x: -i / 3, y: i * 2.5, tag: `tag-${i % 1000}-abcdefgh` } as never);
      },
      [tx, 30_000],
    );
    tx.close();
    let i = 0;
    let bad = 0;
    if (mode === "blocking") {
      for (const v of rx) if (JSON.stringify(v) !== JSON.stringify(obj(i++))) bad++;
    } else {
      for await (const v of rx) if (JSON.stringify(v) !== JSON.stringify(obj(i++))) bad++;
    }
    assert.equal(i, 30_000, mode);
    assert.equal(bad, 0, mode);
    await h.join();
  }
});

test("regression: 100,000 numbers through capacity 1024 arrive exactly, in order", { timeout: 60_000 }, async () => {
  const [tx, rx] = syncChannel(i32, 1024);
  const h = spawn((tx: Sender<number>) => { for (let i = 0; i < 100_000; i++) tx.send(i); }, [tx]);
  tx.close();
  let expected = 0;
  for (const v of rx) assert.equal(v, expected++);
  assert.equal(expected, 100_000);
  await h.join();
});

test("regression: capacity 0 is a rendezvous (no hang), sync and async receivers", { timeout: 60_000 }, async () => {
  const [tx, rx] = syncChannel(i32, 0);
  const h = spawn((tx: Sender<number>) => { for (let i = 0; i < 2_000; i++) tx.send(i); }, [tx]);
  tx.close();
  let expected = 0;
  for (const v of rx) assert.equal(v, expected++);
  assert.equal(expected, 2_000);
  await h.join();
  const [tx2, rx2] = syncChannel(i32, 0);
  const h2 = spawn((rx: Receiver<number>) => { let s = 0; for (const v of rx) s += v; return s; }, [rx2]);
  rx2.close();
  for (let i = 0; i < 1_000; i++) await tx2.sendAsync(i);
  tx2.close();
  assert.equal(await h2.join(), (999 * 1000) / 2);
});

test("rendezvous trySend reaches a receiver blocked in recv even when the wake goes to an async receiver of the sending thread", { timeout: 60_000 }, async () => {
  // The publication notifies one waiter. Here the first in line is a recvAsync of this very thread, which cannot run
  // while trySend waits for the hand-off: trySend must wake the blocked receiver itself. With the parking slice
  // raised, nothing else would (a 100 ms re-check would hide a missing wake).
  await withRaisedSlice(async () => {
    const name = "try-send-past-async";
    const [tx, rx] = syncChannel(i32, 0, { name });
    const pending = rx.recvAsync();
    await until("this thread's recvAsync waits", () => hasWaiter(name, "async"));
    const h = spawn((rx: Receiver<number>) => rx.recv(), [rx]);
    await until("the worker is blocked in recv", () => hasWaiter(name, "sync"));
    assert.equal(tx.trySend(5), true);
    assert.equal(await h.join(), 5);
    tx.close(); // the only Sender: the pending recvAsync ends with RecvError, having received nothing
    await assert.rejects(pending, RecvError);
    rx.close();
  });
});

// ## Disconnection, for every way a side goes

type Way = "close" | "return" | "throw" | "exit" | "terminate";
const ways: Way[] = ["close", "return", "throw", "exit", "terminate"];

/** A thread that holds `side` (the only one of its kind), sends `sends` messages, then goes by `way` on GO (f[1]). */
function victim(side: Sender<number> | Receiver<number>, f: Int32Array, way: Way, sends: number): JoinHandle<string> {
  return spawn(
    (side: Sender<number> | Receiver<number>, f: Int32Array, way: string, sends: number) => {
      for (let i = 0; i < sends; i++) (side as Sender<number>).send(i + 1);
      Atomics.store(f, 0, 1); // READY
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 60_000); // GO
      if (way === "close") {
        side.close();
        Atomics.store(f, 3, 1); // CLOSED
        Atomics.notify(f, 3);
        Atomics.wait(f, 2, 0, 60_000); // stays alive: the close alone must disconnect
        return "closed";
      }
      if (way === "return") return "returned";
      if (way === "throw") throw new Error("victim threw");
      if (way === "exit") process.exit(3);
      Atomics.wait(f, 2, 0, 60_000); // terminate: until terminated
      return "not terminated";
    },
    [side, f, way, sends],
    { name: `victim-${way}` },
  );
}

async function finish(h: JoinHandle<string>, way: Way, f: Int32Array): Promise<void> {
  if (way === "terminate") {
    const terminated = h.terminate();
    // Where terminate() is a request (Deno, browsers: README, "Thread ends on each runtime"), a victim waiting in its
    // own Atomics.wait is not stopped: it is released from that wait after the request and obeys at the end of its
    // function, never returning. On Node and Bun the release would race the termination.
    if (!terminateStopsAtOnce) signal(f, 2);
    await terminated;
  }
  if (way === "close") {
    await until("the victim closed its side", () => Atomics.load(f, 3) === 1);
  }
}

async function settle(h: JoinHandle<string>, way: Way, f: Int32Array): Promise<void> {
  signal(f, 2);
  if (way === "close" || way === "return") assert.ok(["closed", "returned"].includes(await h.join()));
  else await assert.rejects(h.join());
}

for (const way of ways) {
  for (const mode of ["blocked-sync", "blocked-async", "not-blocked"] as const) {
    test(`senders gone by ${way}: a ${mode} receiver drains, then gets RecvError`, { timeout: 60_000 }, async () => {
      await withRaisedSlice(async () => {
        const name = `dc-recv-${way}-${mode}`;
        const [tx, rx] = syncChannel(i32, 8, { name });
        const f = flags();
        const v = victim(tx, f, way, 2);
        tx.close(); // the victim's is the only Sender left
        await until("the victim sent", () => Atomics.load(f, 0) === 1);
        if (mode === "blocked-sync") {
          const r = spawn(
            (rx: Receiver<number>, f: Int32Array) => {
              const got = [rx.recv(), rx.recv()];
              Atomics.store(f, 4, 1);
              try {
                rx.recv();
                return { got, error: "none" };
              } catch (e) {
                return { got, error: (e as Error).name };
              }
            },
            [rx, f],
            { name: "receiver" },
          );
          rx.close();
          await until("the receiver drained and blocks", () => Atomics.load(f, 4) === 1 && hasWaiter(name, "sync"));
          signal(f, 1);
          await finish(v, way, f);
          assert.deepEqual(await r.join(), { got: [1, 2], error: "RecvError" });
        } else if (mode === "blocked-async") {
          assert.deepEqual([await rx.recvAsync(), await rx.recvAsync()], [1, 2]);
          const pending = rx.recvAsync();
          pending.catch(() => {});
          await until("the async receiver waits", () => hasWaiter(name, "async"));
          signal(f, 1);
          await finish(v, way, f);
          await assert.rejects(pending, (e: unknown) => e instanceof RecvError && e.name === "RecvError");
        } else {
          signal(f, 1);
          await finish(v, way, f);
          if (way !== "close") await v.join().catch(() => {});
          assert.deepEqual([rx.recv(), rx.tryRecv()], [1, 2]);
          assert.throws(() => rx.tryRecv(), RecvError);
          assert.throws(() => rx.recv(), RecvError);
          await assert.rejects(rx.recvAsync(), RecvError);
        }
        await settle(v, way, f);
      });
    });

    test(`receivers gone by ${way}: a ${mode} sender gets SendError carrying its value`, { timeout: 60_000 }, async () => {
      await withRaisedSlice(async () => {
        const name = `dc-send-${way}-${mode}`;
        const [tx, rx] = syncChannel(i32, 1, { name });
        tx.send(7); // full
        const f = flags();
        const v = victim(rx, f, way, 0);
        rx.close();
        await until("the victim is ready", () => Atomics.load(f, 0) === 1);
        if (mode === "blocked-sync") {
          const s = spawn(
            (tx: Sender<number>, f: Int32Array) => {
              Atomics.store(f, 4, 1);
              try {
                tx.send(42);
                return { error: "none", value: 0 };
              } catch (e) {
                return { error: (e as Error).name, value: (e as SendError<number>).value };
              }
            },
            [tx, f],
            { name: "sender" },
          );
          await until("the sender blocks", () => Atomics.load(f, 4) === 1 && hasWaiter(name, "sync"));
          signal(f, 1);
          await finish(v, way, f);
          assert.deepEqual(await s.join(), { error: "SendError", value: 42 });
        } else if (mode === "blocked-async") {
          const pending = tx.sendAsync(42);
          pending.catch(() => {});
          await until("the async sender waits", () => hasWaiter(name, "async"));
          signal(f, 1);
          await finish(v, way, f);
          await assert.rejects(pending, (e: unknown) => e instanceof SendError && e.value === 42);
        } else {
          signal(f, 1);
          await finish(v, way, f);
          if (way !== "close") await v.join().catch(() => {});
          assert.throws(() => tx.send(42), (e: unknown) => e instanceof SendError && e.value === 42);
          assert.throws(() => tx.trySend(43), (e: unknown) => e instanceof SendError && e.value === 43);
          await assert.rejects(tx.sendAsync(44), (e: unknown) => e instanceof SendError && e.value === 44);
        }
        await settle(v, way, f);
      });
    });
  }

  test(`rendezvous: a sender waiting for pickup gets SendError when the receivers go by ${way}`, { timeout: 60_000 }, async () => {
    await withRaisedSlice(async () => {
      const name = `dc-pickup-${way}`;
      const [tx, rx] = syncChannel(i32, 0, { name });
      const f = flags();
      const v = victim(rx, f, way, 0);
      rx.close();
      await until("the victim is ready", () => Atomics.load(f, 0) === 1);
      const s = spawn(
        (tx: Sender<number>) => {
          try {
            tx.send(5);
            return "sent";
          } catch (e) {
            return `${(e as Error).name} ${(e as SendError<number>).value}`;
          }
        },
        [tx],
      );
      tx.close();
      await until("the sender waits for its pickup", () => hasWaiter(name, "sync"));
      signal(f, 1);
      await finish(v, way, f);
      assert.equal(await s.join(), "SendError 5");
      await settle(v, way, f);
    });
  });
}

test("a Sender garbage-collected in its thread disconnects: the blocked receiver drains and ends", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const name = "dc-gc";
    // The Sender stays reachable (never closed) until the receiver blocks, then is dropped: a collector that runs
    // on its own (JSC's, under Bun, did before the receiver had started) would otherwise disconnect the channel
    // before the wait this test is about.
    const kept: { tx?: Sender<number> } = {};
    const make = (): Receiver<number> => {
      const [tx, rx] = syncChannel(i32, 4, { name });
      tx.send(1);
      kept.tx = tx;
      return rx;
    };
    const rx = make();
    const f = flags();
    const r = spawn(
      (rx: Receiver<number>, f: Int32Array) => {
        const got: number[] = [];
        for (const v of rx) {
          got.push(v);
          Atomics.store(f, 0, 1);
        }
        return got;
      },
      [rx, f],
    );
    rx.close();
    await until("the receiver drained and blocks", () => Atomics.load(f, 0) === 1 && hasWaiter(name, "sync"));
    delete kept.tx; // unreachable from here on
    let done = false;
    const joined = r.join().then((got) => {
      done = true;
      return got;
    });
    assert.ok(await collectUntil(() => done), "the receiver ended after the Sender was collected");
    assert.deepEqual(await joined, [1]);
  });
});

test("Arc.strongCount(sender) counts threads; a Sender in flight keeps the channel connected", { timeout: 30_000 }, async () => {
  const [tx, rx] = syncChannel(i32, 4);
  assert.equal(Arc.strongCount(tx), 1);
  const f = flags();
  const h = spawn(
    async (tx: Sender<number>, f: Int32Array) => {
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      Atomics.wait(f, 1, 0, 20_000);
      tx.send(99);
    },
    [tx, f],
  );
  tx.close(); // at once: the spawn message still carries a Sender
  await until("the thread has its Sender", () => Atomics.load(f, 0) === 1);
  assert.equal(rx.tryRecv(), undefined); // not disconnected
  signal(f, 1);
  assert.deepEqual([...rx], [99]);
  await h.join();
});

test("all threads asleep: two threads each blocked in recv on a channel only the other sends to", { timeout: 60_000 }, async () => {
  const [toWorker, workerRx] = syncChannel(i32, 1, { name: "to-worker" });
  const [toMain, mainRx] = syncChannel(i32, 1, { name: "to-main" });
  const h = spawn(
    (rx: Receiver<number>, tx: Sender<number>) => {
      try {
        rx.recv();
        return "received";
      } catch (e) {
        const kind = (e as { kind?: string }).kind;
        return `${(e as Error).name}${kind ? ` ${kind}` : ""}`;
      }
      // (tx stays held until this thread ends)
    },
    [workerRx, toMain],
  );
  workerRx.close();
  toMain.close();
  await until("the worker blocks", () => hasWaiter("to-worker", "sync"));
  let mine: string;
  try {
    mainRx.recv();
    mine = "received";
  } catch (e) {
    mine = `${(e as Error).name}${(e as { kind?: string }).kind ? ` ${(e as { kind?: string }).kind}` : ""}`;
  }
  toWorker.close(); // if main was the one told, the worker wakes with RecvError
  const theirs = await h.join();
  const outcomes = [mine, theirs].sort();
  assert.equal(outcomes.filter((o) => o === "DeadlockError all-asleep").length, 1, `outcomes: ${outcomes.join(", ")}`);
  assert.ok(outcomes.includes("RecvError"), `outcomes: ${outcomes.join(", ")}`);
  void DeadlockError;
});

test("wake-ups (long parking slices): blocked receivers are woken by sends, blocked senders by receives, sync and async", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    for (const bound of [1, 0]) {
      // ping-pong: each side blocks on every message, so each round needs the other side's notify
      const [ping, pingRx] = syncChannel(i32, bound, { name: `ping-${bound}` });
      const [pongTx, pong] = syncChannel(i32, bound, { name: `pong-${bound}` });
      const h = spawn(
        (rx: Receiver<number>, tx: Sender<number>) => {
          for (const v of rx) tx.send(v + 1);
          return "done";
        },
        [pingRx, pongTx],
      );
      pingRx.close();
      pongTx.close();
      for (let i = 0; i < 300; i++) {
        if (i % 2 === 0) {
          ping.send(i);
          assert.equal(pong.recv(), i + 1);
        } else {
          await ping.sendAsync(i);
          assert.equal(await pong.recvAsync(), i + 1);
        }
      }
      ping.close();
      assert.equal(await h.join(), "done");
      // a sender blocked on a full channel is woken by a receive on another thread
      const [tx, rx] = syncChannel(i32, 1, { name: `full-${bound}` });
      const f = flags();
      const s = spawn(
        (tx: Sender<number>, f: Int32Array) => {
          for (let i = 0; i < 50; i++) {
            tx.send(i);
            Atomics.store(f, 0, i + 1);
          }
        },
        [tx, f],
      );
      tx.close();
      for (let i = 0; i < 50; i++) {
        await until("the sender blocks (or is done)", () => hasWaiter(`full-${bound}`, "sync") || Atomics.load(f, 0) === 50);
        assert.equal(rx.recv(), i);
      }
      await s.join();
    }
  });
});
