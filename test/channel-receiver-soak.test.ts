// Channels under terminations of receivers (raw/raw-channel.ts, "A receiver that dies between taking a slot and
// freeing it"). One producer sends numbered messages through a small bounded ring without pause while receivers,
// blocking and async in turn, are terminated at random points of their receive loops. A receive cut between its claim
// of the head and the free of the slot leaves the slot taken; a lap later the producer needs that slot, and without
// recovery it would wait for it forever. Oracle, exact: the ring never jams (every victim gets messages, the producer
// keeps sending, the final drain ends with RecvError), every message received is whole and was sent, none is received
// twice, and at most one message is lost per receiver killed (the one it had taken: received, as Rust would say, by a
// thread that died with it). Kills that landed mid-receive are counted from the thread records and must be > 0 (the
// announcement is withdrawn after the free and its wake-up, so a kill in those few steps counts too; nearly all of a
// take's time is reading the 4 KiB body). Run over a bounded ring and a rendezvous.
// Nothing is timed; the bounds only turn a hang into a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { array, f64, i32, spawn, struct, syncChannel, type JoinHandle } from "threadsafe";
import { T_CHANNEL_TAKE_POS, currentRuntime, terminateStopsAtOnce } from "../dist/internal.js";
import { until } from "./support/contract-helpers.ts";

/** Body words per message: reading them is most of a receive, so a kill often lands between claim and free. */
const BODY = 1024;
const Msg = struct({ seq: i32, id: f64, body: array(i32, BODY) });
type MsgValue = { seq: number; id: number; body: number[] };
const makeChannel = (bound = 4) => syncChannel(Msg, bound, { name: `receiver-soak-${bound}` });
type Tx = ReturnType<typeof makeChannel>[0];
type Rx = ReturnType<typeof makeChannel>[1];
/** Most messages the producer may send (it stops earlier when told). */
const SEQ_LIMIT = 1 << 21;
const MAX_ROUNDS = 80;
/** Kills that must land between a take and its free before the soak stops early. */
const WANTED_MID_TAKE = 4;
/** control[0]: stop (the producer ends); control[1 + v]: messages victim v has received. */
const STOP = 0;

/** Receives until killed (or until every Sender is gone), checking each message whole, counting it in `counts`. */
function receive(rx: Rx, counts: Int32Array, errors: Int32Array, control: Int32Array, v: number, asyncMode: boolean): Promise<number> | number {
  const check = (m: MsgValue): void => {
    let whole = m.id === m.seq * 3 && m.seq >= 0 && m.seq < counts.length && m.body.length === 1024;
    for (let k = 0; whole && k < m.body.length; k++) if (m.body[k] !== ((m.seq * 31 + k) | 0)) whole = false;
    if (!whole) {
      Atomics.add(errors, 0, 1); // torn, foreign, or read from a slot freed under the reader
      return;
    }
    Atomics.add(counts, m.seq, 1);
    Atomics.add(control, 1 + v, 1);
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

/** Sends seq 0, 1, … until told to stop; `sent[0]` is how many sends have returned. */
function produce(tx: Tx, sent: Int32Array, control: Int32Array, seqLimit: number, bodyWords: number): number {
  const body = new Array<number>(bodyWords);
  let seq = 0;
  for (; seq < seqLimit && Atomics.load(control, 0) === 0; seq++) {
    for (let k = 0; k < bodyWords; k++) body[k] = (seq * 31 + k) | 0;
    tx.send({ seq, id: seq * 3, body });
    Atomics.store(sent, 0, seq + 1);
  }
  return seq;
}

// Where terminate() is a request (Deno, browsers), a thread obeys it only where the library waits or takes or releases
// a mutex, never between a channel take and its free: no kill can land mid-receive there, so this soak cannot apply.
const midReceiveKillsImpossible = terminateStopsAtOnce
  ? undefined
  : "terminate() is a request here, obeyed only at library waits and mutex calls: a receive is never cut between its take and its free";
if (midReceiveKillsImpossible !== undefined) console.log(`# skipping the receiver soak: ${midReceiveKillsImpossible}`);

for (const bound of [4, 0]) {
  test(
    `soak (bound ${bound}): receivers terminated mid-receive never jam the ring, never receive a message twice, lose at most the message each one held`,
    { timeout: 600_000, skip: midReceiveKillsImpossible },
    async () => {
      const counts = new Int32Array(new SharedArrayBuffer(4 * SEQ_LIMIT));
      const sent = new Int32Array(new SharedArrayBuffer(4));
      const errors = new Int32Array(new SharedArrayBuffer(4));
      const control = new Int32Array(new SharedArrayBuffer(4 * (2 + MAX_ROUNDS)));
      const [tx, rx] = makeChannel(bound);
      const producer = spawn(produce, [tx, sent, control, SEQ_LIMIT, BODY], { name: "producer" });
      tx.close(); // the producer is the only sender: once it returns, the drain ends with RecvError
      const everyone: JoinHandle<number>[] = [producer];
      try {
        await soak(rx, producer, everyone, counts, sent, errors, control);
      } finally {
        Atomics.store(control, STOP, 1);
        // A failure must not leave blocked workers keeping the test process alive.
        await Promise.all(everyone.map((h) => h.terminate().catch(() => {})));
      }
    },
  );
}

async function soak(
  rx: Rx,
  producer: JoinHandle<number>,
  everyone: JoinHandle<number>[],
  counts: Int32Array,
  sent: Int32Array,
  errors: Int32Array,
  control: Int32Array,
): Promise<void> {
  const rt = currentRuntime()!;
  let midTake = 0;
  let victims = 0;
  // This thread keeps its Receiver until the drain: between two victims the channel must not lose its receivers.
  for (let round = 0; round < MAX_ROUNDS && midTake < WANTED_MID_TAKE; round++) {
    const v = victims++;
    const asyncMode = v % 2 === 1;
    const h = spawn(receive, [rx, counts, errors, control, v, asyncMode], { name: `victim-${v}` });
    everyone.push(h);
    const target = 1 + Math.floor(Math.random() * 20);
    await until(
      `victim ${v} has received ${target} (if not, the ring is jammed: ${midTake} kills landed mid-receive so far)`,
      () => Atomics.load(control, 1 + v) >= target,
      60_000,
    );
    const spin = performance.now() + Math.random() * 2; // a random point inside the receive loop
    while (performance.now() < spin);
    await h.terminate();
    // The thread record keeps the announcement of a take the thread died in (until its slot is reused).
    if (Atomics.load(rt.words, rt.threadBase(h.threadId & 1023) + T_CHANNEL_TAKE_POS) !== 0) midTake++;
    await assert.rejects(h.join());
  }
  // The producer must still be able to send a full lap and more: a jammed slot would stop it at the ring's bound.
  const before = Atomics.load(sent, 0);
  const drain = spawn(receive, [rx, counts, errors, control, victims, false], { name: "drain" });
  everyone.push(drain);
  rx.close();
  await until(`the producer sends past ${before + 16} (if not, the ring is jammed)`, () => Atomics.load(sent, 0) >= before + 16, 60_000);
  Atomics.store(control, STOP, 1);
  const total = await producer.join();
  const drained = await drain.join(); // ends with RecvError once the producer is gone and the ring is empty
  assert.equal(total, Atomics.load(sent, 0));
  assert.equal(Atomics.load(errors, 0), 0, "a torn or foreign message was received");
  let received = 0;
  for (let seq = 0; seq < SEQ_LIMIT; seq++) {
    const c = counts[seq]!;
    received += c;
    if (seq >= total) assert.equal(c, 0, `message ${seq} was never sent, received ${c} times`);
    else assert.ok(c <= 1, `message ${seq} was received ${c} times`);
  }
  assert.ok(drained >= 0);
  const lost = total - received;
  assert.ok(lost <= victims, `${lost} messages lost with ${victims} receivers killed (at most one each)`);
  assert.ok(midTake >= 1, `no kill landed between a take and its free in ${victims} receivers: the soak tested nothing`);
  console.log(`# receiver soak (${rx.name}): ${victims} receivers killed, ${midTake} between a take and its free, ${total} sent, ${lost} lost with them`);
}
