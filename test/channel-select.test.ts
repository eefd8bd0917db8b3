// select([rx1, rx2], { timeout }) → { index, value } and selectAsync (crossbeam's select! over recv arms): fair, one
// wait for every receiver, RecvError once every receiver is disconnected and drained, TimeoutError on timeout. Real
// workers, exact oracles; interleavings are ordered by polling dumpLocks(), never by sleeping. Wake-up tests raise the
// parking slice far above their bound, so a missing notify hangs (and fails) instead of costing 100 ms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RecvError, TimeoutError, dumpLocks, i32, json, select, selectAsync, spawn, string, syncChannel, channel, type Receiver, type Sender } from "threadsafe";
import { until } from "./support/contract-helpers.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

/** Whether dumpLocks() lists a waiter of `kind` on the channel named `name` (a select publishes on its first channel). */
function hasWaiter(name: string, kind: "sync" | "async"): boolean {
  return dumpLocks().locks.some((l) => l.lock.name === name && l.waiters.some((w) => w.kind === kind));
}

test("select takes whichever receiver has a message; index and value exact; typed per receiver", () => {
  const [numTx, numRx] = syncChannel(i32, 4);
  const [strTx, strRx] = syncChannel(string(16), 4);
  strTx.send("hello");
  const first = select([numRx, strRx]);
  assert.deepEqual(first, { index: 1, value: "hello" });
  numTx.send(7);
  assert.deepEqual(select([numRx, strRx], { timeout: 1000 }), { index: 0, value: 7 });
  assert.throws(() => select([numRx, strRx], { timeout: 5 }), (e: unknown) => e instanceof TimeoutError && e.name === "TimeoutError");
});

test("select is fair: with messages on both, each receiver is chosen about half the time", () => {
  const [aTx, aRx] = syncChannel(i32, 4);
  const [bTx, bRx] = syncChannel(i32, 4);
  const picked = [0, 0];
  for (let i = 0; i < 2000; i++) {
    if (aTx.trySend(i)) { /* kept full */ }
    if (bTx.trySend(i)) { /* kept full */ }
    picked[select([aRx, bRx]).index]!++;
  }
  assert.ok(picked[0]! > 600 && picked[1]! > 600, `picked ${picked}`);
});

test("select skips receivers whose senders are gone once drained; RecvError when all are", () => {
  const [aTx, aRx] = syncChannel(i32, 4);
  const [bTx, bRx] = syncChannel(i32, 4);
  aTx.send(1);
  aTx.close();
  assert.deepEqual(select([aRx, bRx]), { index: 0, value: 1 }); // drained first
  bTx.send(2);
  assert.deepEqual(select([aRx, bRx]), { index: 1, value: 2 }); // a is disconnected: passed over
  assert.throws(() => select([aRx, bRx], { timeout: 5 }), TimeoutError); // b still has a sender
  bTx.close();
  assert.throws(() => select([aRx, bRx]), (e: unknown) => e instanceof RecvError && e.name === "RecvError");
});

test("select validates its arguments with threadsafe: errors", async () => {
  const [, rx] = syncChannel(i32, 1);
  const [, closed] = syncChannel(i32, 1);
  closed.close();
  assert.throws(() => select([] as unknown as [Receiver<number>]), /threadsafe: select: receivers must be a non-empty array/);
  assert.throws(() => select([rx, {}] as unknown as [Receiver<number>]), /threadsafe: select: receivers\[1\] must be a Receiver/);
  assert.throws(() => select([rx], { timeout: -1 }), /threadsafe:/);
  assert.throws(() => select([rx, closed]), /threadsafe: select: this thread closed its Receiver/);
  await assert.rejects(selectAsync("x" as unknown as [Receiver<number>]), /threadsafe: selectAsync: receivers must be/);
});

test("a blocked select is woken by a send on any of its channels (long parking slices), sync and async", { timeout: 120_000 }, async () => {
  await withRaisedSlice(async () => {
    for (const mode of ["sync", "async"] as const) {
      for (const which of [0, 1, 2]) {
        const names = [0, 1, 2].map((k) => `sel-wake-${mode}-${which}-${k}`);
        const pairs = names.map((name) => syncChannel(json(64), 2, { name }));
        const rxs = pairs.map(([, rx]) => rx);
        let got: Promise<unknown>;
        if (mode === "sync") {
          const selector = spawn(
            async (rxs: Receiver<unknown>[]) => {
              const { select } = await import("threadsafe");
              return select(rxs);
            },
            [rxs],
            { name: `selector-${which}` },
          );
          got = selector.join();
        } else {
          got = selectAsync(rxs);
        }
        await until("the select is parked", () => hasWaiter(names[0]!, mode));
        assert.ok(pairs[which]![0].trySend({ from: which }));
        assert.deepEqual(await got, { index: which, value: { from: which } });
      }
    }
  });
});

test("a blocked select ends with RecvError when the last sender of the last connected channel goes (long slices)", { timeout: 60_000 }, async () => {
  await withRaisedSlice(async () => {
    const [aTx, aRx] = syncChannel(i32, 2, { name: "sel-dc-a" });
    const [bTx, bRx] = syncChannel(i32, 2, { name: "sel-dc-b" });
    aTx.close();
    const pending = selectAsync([aRx, bRx]);
    await until("the select is parked", () => hasWaiter("sel-dc-a", "async"));
    const holder = spawn((tx: Sender<number>) => tx.send(5), [bTx]);
    bTx.close();
    assert.deepEqual(await pending, { index: 1, value: 5 });
    await holder.join(); // its thread ended: b has no sender left
    await assert.rejects(selectAsync([aRx, bRx]), RecvError);
  });
});

test("selectAsync: timeout and abort", async () => {
  // The Senders are kept until the end: one garbage-collected during a wait disconnects its channel, and the select
  // would then end with RecvError instead of its timeout (seen on Node 26).
  const [aTx, aRx] = syncChannel(i32, 1);
  const [bTx, bRx] = channel(i32);
  await assert.rejects(selectAsync([aRx, bRx], { timeout: 5 }), TimeoutError);
  const ac = new AbortController();
  const pending = selectAsync([aRx, bRx], { signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  aTx.close();
  bTx.close();
});

test("2 producers on 2 channels → 2 threads selecting: the multiset received is exactly the multiset sent", { timeout: 120_000 }, async () => {
  const N = 20_000;
  const [aTx, aRx] = syncChannel(i32, 16);
  const [bTx, bRx] = channel(i32, { maxBytes: 1024 });
  const producers = [aTx, bTx].map((tx, k) =>
    spawn(
      (tx: Sender<number>, k: number, n: number) => {
        for (let i = 0; i < n; i++) tx.send(k * n + i);
      },
      [tx, k, N],
    ),
  );
  aTx.close();
  bTx.close();
  const consumers = [0, 1].map((c) =>
    spawn(
      async (aRx: Receiver<number>, bRx: Receiver<number>, asyncMode: boolean) => {
        const { select, selectAsync, RecvError } = await import("threadsafe");
        const got: number[] = [];
        for (;;) {
          try {
            const { index, value } = asyncMode ? await selectAsync([aRx, bRx]) : select([aRx, bRx]);
            got.push(index * 1e9 + value);
          } catch (e) {
            if (e instanceof RecvError) return got;
            throw e;
          }
        }
      },
      [aRx, bRx, c === 1],
    ),
  );
  aRx.close();
  bRx.close();
  await Promise.all(producers.map((h) => h.join()));
  const all = (await Promise.all(consumers.map((h) => h.join()))).flat();
  assert.equal(all.length, 2 * N);
  const seen = new Set(all);
  assert.equal(seen.size, 2 * N);
  for (let k = 0; k < 2; k++) for (let i = 0; i < N; i++) assert.ok(seen.has(k * 1e9 + k * N + i), `missing ${k}:${i}`);
});
