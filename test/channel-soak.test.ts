// Channels under terminations (issue "Channels": "producers killed mid-send never leave a half-written message
// visible"). Producers are terminated at random points of their send loops while two consumers (one blocking, one
// async) drain. A send that is cut between claiming a ring slot and publishing it leaves the slot claimed and
// unpublished; the receivers must skip it (raw/raw-channel.ts, "A sender that dies …") instead of waiting for it
// forever. Oracle, exact: every message received is whole (every word of its body matches its id) and was sent, none
// is received twice, every send that returned before the kill is received, and nothing hangs (the consumers end with
// RecvError once the last producer is gone). Nothing is timed; the bounds only turn a hang into a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { array, channel, f64, i32, spawn, struct, syncChannel, type JoinHandle } from "threadsafe";
import { T_CHANNEL_POS, channelRings, currentRuntime, terminateStopsAtOnce } from "../dist/internal.js";
import { sleep, until } from "./support/contract-helpers.ts";

/** Body words per message: writing them is most of a send, so a kill often lands between claim and publication. */
const BODY = 1024;
const Msg = struct({ p: i32, seq: i32, id: f64, body: array(i32, BODY) });
type MsgValue = { p: number; seq: number; id: number; body: number[] };
const makeChannel = () => syncChannel(Msg, 64, { name: "soak" });
/**
 * The unbounded variant: rings of 1, 2, 4, … 64 messages (127 in all: a message takes 4,120 bytes), so that the
 * kills land in every ring of the chain and the receivers skip dead claims across ring switches.
 */
const makeGrowingChannel = (): ReturnType<typeof makeChannel> => channel(Msg, { maxBytes: 127 * 4120, name: "soak-unbounded" });
type Tx = ReturnType<typeof makeChannel>[0];
type Rx = ReturnType<typeof makeChannel>[1];
/** Most messages one producer sends (it then waits to be killed). */
const SEQ_LIMIT = 1 << 14;
const PRODUCERS_PER_ROUND = 1;
const MAX_ROUNDS = 60;
/** Kills that must land between a claim and its publication before the soak stops early. */
const WANTED_MID_CLAIM = 4;

/** Consumer: receives until every Sender is gone, checking each message whole, counting it in `counts`. */
function consume(rx: Rx, counts: Int32Array, errors: Int32Array, seqLimit: number, asyncMode: boolean): Promise<number> | number {
  const check = (m: MsgValue): void => {
    let whole = m.id === m.p * seqLimit + m.seq && m.body.length > 0 && m.seq >= 0 && m.seq < seqLimit;
    for (let k = 0; whole && k < m.body.length; k++) if (m.body[k] !== ((m.p * 7919 + m.seq * 31 + k) | 0)) whole = false;
    if (!whole) {
      Atomics.add(errors, 0, 1); // a torn or foreign message
      return;
    }
    Atomics.add(counts, m.p * seqLimit + m.seq, 1);
  };
  if (!asyncMode) {
    let n = 0;
    for (const m of rx) {
      check(m as unknown as MsgValue);
      n++;
    }
    return n;
  }
  return (async () => {
    let n = 0;
    for await (const m of rx) {
      check(m as unknown as MsgValue);
      n++;
    }
    return n;
  })();
}

/** Producer `p`: sends seq 0, 1, … and records in acked[p] how many sends have returned. */
function produce(tx: Tx, acked: Int32Array, p: number, seqLimit: number, bodyWords: number): number {
  for (let seq = 0; seq < seqLimit; seq++) {
    const body = new Array<number>(bodyWords);
    for (let k = 0; k < bodyWords; k++) body[k] = (p * 7919 + seq * 31 + k) | 0;
    tx.send({ p, seq, id: p * seqLimit + seq, body });
    Atomics.store(acked, p, seq + 1);
  }
  Atomics.wait(acked, acked.length - 1, 0); // never notified: waits to be killed
  return seqLimit;
}

// Where terminate() is a request (Deno, browsers), a thread obeys it only where the library waits or takes or
// releases a mutex, never between a channel claim and its publication: no kill can land mid-send there, so this
// soak (which fails when none did) cannot apply.
const midSendKillsImpossible = terminateStopsAtOnce
  ? undefined
  : "terminate() is a request here, obeyed only at library waits and mutex calls: a send is never cut between its claim and its publication";
if (midSendKillsImpossible !== undefined) console.log(`# skipping the channel soak: ${midSendKillsImpossible}`);

for (const [kind, make] of [
  ["syncChannel(…, 64)", makeChannel],
  ["an unbounded channel (a chain of rings)", makeGrowingChannel],
] as const) {
  test(`soak, ${kind}: producers terminated mid-send never block the ring, never tear or duplicate a message, never lose a returned send`, { timeout: 600_000, skip: midSendKillsImpossible }, async () => {
    const maxProducers = MAX_ROUNDS * PRODUCERS_PER_ROUND;
    const counts = new Int32Array(new SharedArrayBuffer(4 * maxProducers * SEQ_LIMIT));
    const acked = new Int32Array(new SharedArrayBuffer(4 * (maxProducers + 1)));
    const errors = new Int32Array(new SharedArrayBuffer(4));
    const [tx, rx] = make();
    const consumers: JoinHandle<number>[] = [
      spawn(consume, [rx, counts, errors, SEQ_LIMIT, false], { name: "consumer-sync" }),
      spawn(consume, [rx, counts, errors, SEQ_LIMIT, true], { name: "consumer-async" }),
    ];
    rx.close();
    const everyone: JoinHandle<number>[] = [...consumers];
    try {
      await soak(tx, consumers, everyone, counts, acked, errors);
    } finally {
      // A failure must not leave blocked workers keeping the test process alive.
      await Promise.all(everyone.map((h) => h.terminate().catch(() => {})));
    }
  });
}

async function soak(
  tx: Tx,
  consumers: JoinHandle<number>[],
  everyone: JoinHandle<number>[],
  counts: Int32Array,
  acked: Int32Array,
  errors: Int32Array,
): Promise<void> {
  const rt = currentRuntime()!;
  let midClaim = 0;
  let producers = 0;
  for (let round = 0; round < MAX_ROUNDS && midClaim < WANTED_MID_CLAIM; round++) {
    const handles: { p: number; h: JoinHandle<number> }[] = [];
    for (let k = 0; k < PRODUCERS_PER_ROUND; k++) {
      const p = producers++;
      handles.push({ p, h: spawn(produce, [tx, acked, p, SEQ_LIMIT, BODY], { name: `producer-${p}` }) });
      everyone.push(handles.at(-1)!.h);
    }
    for (const { p, h } of handles) {
      const target = 1 + Math.floor(Math.random() * 200);
      await until(`producer ${p} has sent ${target} (if not, the ring is jammed: ${midClaim} kills landed mid-claim so far)`, () => Atomics.load(acked, p) >= target, 60_000);
      const spin = performance.now() + Math.random() * 2; // a random point inside the send loop
      while (performance.now() < spin);
      await h.terminate();
      // The thread record keeps the announcement of a claim the thread died in (until its slot is reused).
      if (Atomics.load(rt.words, rt.threadBase(h.threadId & 1023) + T_CHANNEL_POS) !== 0) midClaim++;
      await assert.rejects(h.join());
    }
  }
  const rings = channelRings(tx);
  tx.close(); // the last Sender: the consumers drain and end
  const deadline = performance.now() + 90_000;
  const done = consumers.map(() => false);
  const received = consumers.map(() => 0);
  consumers.forEach((h, i) =>
    h.join().then(
      (n) => ((received[i] = n), (done[i] = true)),
      () => (done[i] = true),
    ),
  );
  while (!done.every(Boolean) && performance.now() < deadline) await sleep(20);
  if (!done.every(Boolean)) {
    assert.fail(`hang: the consumers never ended (${midClaim} producers died between a claim and its publication)`);
  }
  assert.equal(Atomics.load(errors, 0), 0, "a torn or foreign message was received");
  let total = 0;
  for (let p = 0; p < producers; p++) {
    const returned = Atomics.load(acked, p);
    for (let seq = 0; seq < SEQ_LIMIT; seq++) {
      const c = counts[p * SEQ_LIMIT + seq]!;
      total += c;
      if (seq < returned) assert.equal(c, 1, `producer ${p}: send ${seq} returned before the kill, received ${c} times`);
      else if (seq === returned) assert.ok(c <= 1, `producer ${p}: the send cut by the kill was received ${c} times`);
      else assert.equal(c, 0, `producer ${p}: message ${seq} was never sent, received ${c} times`);
    }
  }
  assert.equal(received[0]! + received[1]!, total);
  assert.ok(midClaim >= 1, `no kill landed between a claim and its publication in ${producers} producers: the soak tested nothing`);
  if (rings.last > 0) assert.ok(rings.tail > 0, "the unbounded channel never left its first ring: the chain was not tested");
  console.log(`# soak: ${producers} producers killed, ${midClaim} between a claim and its publication, ${total} messages received; rings ${rings.tail}/${rings.last}`);
}
