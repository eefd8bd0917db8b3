// An unbounded channel is a chain of rings that double (raw/raw-channel.ts, "An unbounded channel's rings"): its
// memory follows its backlog, not its traffic. Oracles, exact: which ring the tail and head are in (`channelRings`),
// how many sends fit before `trySend` refuses, the order and the multiset of what is received.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, channel, i32, spawn, type Receiver, type Sender } from "threadsafe";
import { ObjectKind, RawChannel, Runtime, allocateObject, channelRings, growingRings, initRing, ringBytes } from "../dist/internal.js";

/** i32 messages take 16 bytes: the first ring holds 4 KiB of them (256), the next twice that, and so on. */
const SLOT = 16;

/** The ring that the message `n` messages after the first one goes to, when nothing is received. */
function ringOf(first: number, n: number): number {
  let ring = 0;
  while (first * (2 ** (ring + 1) - 1) <= n) ring++;
  return ring;
}

test("the rings of channel(i32): 4 KiB first, doubling, as many as maxBytes holds in all", { timeout: 30_000 }, () => {
  const [tx] = channel(i32, { maxBytes: 1 << 20 });
  const { first, last } = channelRings(tx);
  assert.equal(first, 4096 / SLOT);
  assert.equal(last, growingRings((1 << 20) / SLOT, SLOT).last);
  assert.ok(first * (2 ** (last + 1) - 1) <= (1 << 20) / SLOT, "the rings together fit maxBytes");
  assert.ok(first * (2 ** (last + 2) - 1) > (1 << 20) / SLOT, "one more ring would not fit");
  tx.close();
});

test("a backlog that never exceeds one message keeps the channel in its first ring, however many messages pass", { timeout: 30_000 }, () => {
  const [tx, rx] = channel(i32, { maxBytes: 1 << 20 });
  for (let i = 0; i < 100_000; i++) {
    tx.send(i);
    assert.equal(rx.recv(), i);
  }
  assert.deepEqual({ ...channelRings(tx), first: 0, last: 0 }, { tail: 0, head: 0, first: 0, last: 0 });
});

test("a backlog of 3,000 grows the chain to the ring that holds it, in order; drained, the channel stays there", { timeout: 30_000 }, () => {
  const [tx, rx] = channel(i32, { maxBytes: 1 << 20 });
  const grown = ringOf(channelRings(tx).first, 2_999);
  assert.ok(grown >= 2);
  for (let i = 0; i < 3_000; i++) tx.send(i);
  assert.equal(channelRings(tx).tail, grown);
  assert.equal(channelRings(tx).head, 0);
  for (let i = 0; i < 3_000; i++) assert.equal(rx.recv(), i);
  assert.equal(rx.tryRecv(), undefined);
  assert.equal(channelRings(tx).head, grown);
  for (let i = 0; i < 50_000; i++) {
    tx.send(i);
    assert.equal(rx.recv(), i);
  }
  assert.equal(channelRings(tx).tail, grown);
  assert.equal(channelRings(tx).head, grown);
});

test("with nothing received, trySend refuses exactly when every ring is full, and a receive makes room again", { timeout: 30_000 }, () => {
  const [tx, rx] = channel(i32, { maxBytes: 64 * 1024 });
  const { first, last } = channelRings(tx);
  const total = first * (2 ** (last + 1) - 1);
  for (let i = 0; i < total; i++) assert.equal(tx.trySend(i), true, `send ${i} of ${total}`);
  assert.equal(channelRings(tx).tail, last);
  assert.equal(tx.trySend(-1), false);
  // The oldest message is in the first ring: receiving it frees a slot there, not in the last ring, which is full.
  assert.equal(rx.recv(), 0);
  assert.equal(tx.trySend(-1), false);
  // Once the head reaches the last ring, each receive frees a slot of it.
  for (let i = 1; i < total - 2 ** last * first; i++) assert.equal(rx.recv(), i);
  assert.equal(rx.recv(), total - 2 ** last * first);
  assert.equal(tx.trySend(total), true);
  for (let i = total - 2 ** last * first + 1; i <= total; i++) assert.equal(rx.recv(), i);
  assert.equal(rx.tryRecv(), undefined);
});

test("a slot still being read is not a reason to grow: trySend refuses it, and the chain stays in its first ring", { timeout: 30_000 }, () => {
  // One thread plays a sender and two receivers on the raw ring (raw/raw-channel.ts): r1 takes message 0 and pauses
  // before freeing it; r2 keeps the backlog at one until the tail comes back to r1's slot.
  const rt = Runtime.create(64);
  const shape = growingRings((1 << 20) / SLOT, SLOT);
  const data = new SharedArrayBuffer(ringBytes(shape));
  initRing(data, shape);
  const id = allocateObject(rt, ObjectKind.Channel, "stalled-take", undefined, 0);
  const [s, r1, r2] = ["s", "r1", "r2"].map((name) => new RawChannel(rt, id, data, rt.allocateThread(name)));
  s!.publishSend(s!.claimSend());
  const held = r1!.claimRecv();
  for (let i = 1; i < shape.first; i++) {
    s!.publishSend(s!.claimSend());
    r2!.finishRecv(r2!.claimRecv());
  }
  assert.equal(s!.claimSend(), -1, "the slot r1 is reading is busy, not full of an unreceived message");
  assert.equal(s!.hasRoom(), false);
  assert.equal(s!.rings().tail, 0);
  r1!.finishRecv(held);
  assert.ok(s!.claimSend() >= 0);
  assert.equal(s!.rings().tail, 0);
});

/** Producer `p`: sends p·n … p·n + n − 1, waiting at the barrier after the first `burst`. */
function produce(tx: Sender<number>, barrier: Barrier, p: number, n: number, burst: number): number {
  for (let i = 0; i < n; i++) {
    if (i === burst) barrier.wait();
    tx.send(p * n + i);
  }
  return n;
}

/** Consumer: waits at the barrier, then receives until every Sender is gone; checks each producer's order. */
function consume(rx: Receiver<number>, barrier: Barrier, n: number, producers: number): number[] {
  barrier.wait();
  const last = new Array<number>(producers).fill(-1);
  let sum = 0;
  let count = 0;
  let disorder = 0;
  for (const v of rx) {
    const p = Math.floor(v / n);
    if (v <= last[p]!) disorder++;
    last[p] = v;
    sum += v;
    count++;
  }
  return [count, sum, disorder];
}

test("4 producers → 4 consumers through the chain while it grows: every message exactly once, each producer's in order", { timeout: 120_000 }, async () => {
  const PRODUCERS = 4;
  const CONSUMERS = 4;
  const N = 50_000;
  const BURST = 2_000; // 8,000 in flight before any receive: the chain grows past its first rings
  const [tx, rx] = channel(i32, { maxBytes: 1 << 20 });
  const barrier = new Barrier(PRODUCERS + CONSUMERS + 1);
  const consumers = Array.from({ length: CONSUMERS }, () => spawn(consume, [rx, barrier, N, PRODUCERS]));
  const producers = Array.from({ length: PRODUCERS }, (_, p) => spawn(produce, [tx, barrier, p, N, BURST]));
  tx.close();
  rx.close();
  barrier.wait();
  const grown = channelRings(tx).tail;
  assert.deepEqual(await Promise.all(producers.map((h) => h.join())), [N, N, N, N]);
  const results = await Promise.all(consumers.map((h) => h.join()));
  const total = PRODUCERS * N;
  assert.equal(results.reduce((a, r) => a + r[0]!, 0), total);
  assert.equal(results.reduce((a, r) => a + r[1]!, 0), (total * (total - 1)) / 2);
  assert.equal(results.reduce((a, r) => a + r[2]!, 0), 0, "a consumer saw a producer's messages out of order");
  const needed = ringOf(channelRings(tx).first, PRODUCERS * BURST - 1);
  assert.ok(needed >= 3);
  assert.ok(grown >= needed, `${PRODUCERS * BURST} messages in flight need ring ${needed}, the tail was in ring ${grown}`);
});
