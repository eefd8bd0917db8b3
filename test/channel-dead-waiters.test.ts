// A thread that dies waiting on a channel (raw/raw-channel.ts, "A thread that dies waiting"): its registrations on
// the channel's waiter counts are withdrawn by its reaper. Left behind, every later send and receive would find a
// "waiter" registered and bump and notify for nobody (three times slower per message, measured), and a rendezvous
// trySend would wait for a receiver that will never come. Real workers, exact counts before and after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dumpLocks, i32, spawn, syncChannel, type Receiver, type Sender } from "threadsafe";
import { PoisonCause, channelWaiterCounts, currentRuntime, reapThread } from "../dist/internal.js";
import { until } from "./support/contract-helpers.ts";
import { withRaisedSlice } from "./support/park-slice.ts";

/** Whether dumpLocks() lists a thread blocked on the channel named `name`. */
function hasWaiter(name: string): boolean {
  return blockedOn(name) > 0;
}

/** How many threads dumpLocks() lists as blocked on the channel named `name`. */
function blockedOn(name: string): number {
  const lock = dumpLocks().locks.find((l) => l.lock.name === name && l.kind === "Channel");
  return lock === undefined ? 0 : lock.waiters.filter((w) => w.kind === "sync").length;
}

test("a thread killed while waiting (recv, recvAsync, select, send, rendezvous pickup) leaves no registration behind", { timeout: 60_000 }, async () => {
  const [tx, rx] = syncChannel(i32, 2, { name: "dead-waiters" });
  const [tx2, rx2] = syncChannel(i32, 2, { name: "dead-waiters-2" });
  const [full, fullRx] = syncChannel(i32, 1, { name: "dead-waiters-full" });
  const [rendezvous, pickupRx] = syncChannel(i32, 0, { name: "dead-waiters-rendezvous" });
  full.send(0); // a sender now waits for room
  // Set by the async victim once its three receives have registered (and recorded) their waits.
  const started = new Int32Array(new SharedArrayBuffer(4));

  const victims = [
    spawn((rx: Receiver<number>) => rx.recv(), [rx], { name: "blocked-recv" }),
    spawn(
      async (rx: Receiver<number>, started: Int32Array) => {
        const all = Promise.all([rx.recvAsync(), rx.recvAsync(), rx.recvAsync()]);
        Atomics.store(started, 0, 1);
        return (await all).length;
      },
      [rx, started],
      { name: "pending-recvAsync" },
    ),
    spawn(
      async (rx: Receiver<number>, rx2: Receiver<number>) => {
        const { select } = await import("threadsafe");
        return select([rx, rx2]).value;
      },
      [rx, rx2],
      { name: "blocked-select" },
    ),
    spawn((tx: Sender<number>) => tx.send(1), [full], { name: "blocked-send" }),
    spawn((tx: Sender<number>) => tx.send(2), [rendezvous], { name: "waiting-for-pickup" }),
  ];
  // Every wait registered: recv 1 + recvAsync 3 + select 1 on the first channel; the select on the second. And
  // recorded (a thread killed between its registration and its record leaks it: raw-channel.ts, "A thread that dies
  // waiting"): a blocking wait is listed in dumpLocks only after its first attempt, which records it; the async
  // victim says when its receives have made theirs.
  await until("every victim is waiting", () => {
    const a = channelWaiterCounts(rx);
    const b = channelWaiterCounts(rx2);
    return (
      Atomics.load(started, 0) === 1 &&
      blockedOn("dead-waiters") === 2 &&
      blockedOn("dead-waiters-full") === 1 &&
      blockedOn("dead-waiters-rendezvous") === 1 &&
      a.receiving === 5 &&
      a.selecting === 1 &&
      b.receiving === 1 &&
      b.selecting === 1 &&
      channelWaiterCounts(full).sending === 1 &&
      channelWaiterCounts(rendezvous).sending === 1
    );
  });

  for (const victim of victims) await victim.terminate();
  for (const victim of victims) await assert.rejects(victim.join());

  await until("the reapers withdrew every registration", () =>
    [rx, rx2, full, rendezvous].every((side) => {
      const counts = channelWaiterCounts(side);
      return counts.receiving === 0 && counts.sending === 0 && counts.selecting === 0;
    }),
  );
  assert.deepEqual(channelWaiterCounts(rx), { receiving: 0, sending: 0, selecting: 0 });
  assert.deepEqual(channelWaiterCounts(rx2), { receiving: 0, sending: 0, selecting: 0 });
  assert.deepEqual(channelWaiterCounts(full), { receiving: 0, sending: 0, selecting: 0 });
  assert.deepEqual(channelWaiterCounts(rendezvous), { receiving: 0, sending: 0, selecting: 0 });

  // The channels still work, and the killed sender that waited for room sent nothing.
  tx.send(7);
  assert.equal(rx.recv(), 7);
  assert.equal(fullRx.recv(), 0);
  assert.equal(fullRx.tryRecv(), undefined);
  for (const side of [tx, rx, tx2, rx2, full, fullRx, rendezvous, pickupRx]) side.close();
});

test("a thread declared dead that still runs (Deno, browsers) does not take its registration off a second time", { timeout: 60_000 }, async () => {
  // On Deno and in browsers `watch` reaps a raw worker when terminate() is called, and the worker runs on until its
  // event loop: a receive it was blocked in can still end. Its reaper has withdrawn the registration; the receive's
  // own cleanup must not withdraw it again (the count would go to -1, and the next receiver to sleep would be
  // counted as 0 and never woken). Simulated here on any runtime by reaping a worker that is blocked in recv.
  const name = "zombie-receiver";
  const [tx, rx] = syncChannel(i32, 4, { name });
  const zombie = spawn((rx: Receiver<number>) => rx.recv(), [rx], { name: "zombie" });
  await until("the zombie is blocked in recv", () => hasWaiter(name));
  reapThread(currentRuntime()!, zombie.threadId, PoisonCause.Terminated);
  assert.deepEqual(channelWaiterCounts(rx), { receiving: 0, sending: 0, selecting: 0 }, "its reaper withdrew it");
  tx.send(1); // notifies nobody (nobody is counted): the zombie finds it at its next slice, takes it and ends
  await zombie.join().catch(() => undefined);
  assert.deepEqual(channelWaiterCounts(rx), { receiving: 0, sending: 0, selecting: 0 }, "not withdrawn twice");

  // With the slice raised, a receiver that the count missed would sleep for good.
  await withRaisedSlice(async () => {
    const next = spawn((rx: Receiver<number>) => rx.recv(), [rx], { name: "next" });
    await until("the next receiver sleeps", () => hasWaiter(name));
    assert.deepEqual(channelWaiterCounts(rx), { receiving: 1, sending: 0, selecting: 0 });
    tx.send(2); // notifies it: the count says someone sleeps
    assert.equal(await next.join(), 2);
  });
  tx.close();
  rx.close();
});
