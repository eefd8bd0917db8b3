// A thread that dies waiting on a channel (raw/raw-channel.ts, "A thread that dies waiting"): its registrations on
// the channel's waiter counts are withdrawn by its reaper. Left behind, every later send and receive would find a
// "waiter" registered and bump and notify for nobody (three times slower per message, measured), and a rendezvous
// trySend would wait for a receiver that will never come. Real workers, exact counts before and after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { i32, spawn, syncChannel, type Receiver, type Sender } from "threadsafe";
import { channelWaiterCounts } from "../dist/internal.js";
import { until } from "./support/contract-helpers.ts";

test("a thread killed while waiting (recv, recvAsync, select, send, rendezvous pickup) leaves no registration behind", { timeout: 60_000 }, async () => {
  const [tx, rx] = syncChannel(i32, 2, { name: "dead-waiters" });
  const [tx2, rx2] = syncChannel(i32, 2, { name: "dead-waiters-2" });
  const [full, fullRx] = syncChannel(i32, 1, { name: "dead-waiters-full" });
  const [rendezvous, pickupRx] = syncChannel(i32, 0, { name: "dead-waiters-rendezvous" });
  full.send(0); // a sender now waits for room

  const victims = [
    spawn((rx: Receiver<number>) => rx.recv(), [rx], { name: "blocked-recv" }),
    spawn(async (rx: Receiver<number>) => (await Promise.all([rx.recvAsync(), rx.recvAsync(), rx.recvAsync()])).length, [rx], {
      name: "pending-recvAsync",
    }),
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
  // Every wait registered: recv 1 + recvAsync 3 + select 1 on the first channel; the select on the second.
  await until("every victim is waiting", () => {
    const a = channelWaiterCounts(rx);
    const b = channelWaiterCounts(rx2);
    return (
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
