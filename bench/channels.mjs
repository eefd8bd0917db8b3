#!/usr/bin/env node
// Channel benchmarks (issue "Channels"): threadsafe's channels side by side with a hand-written SharedArrayBuffer
// floor (lib/channel-floors.mjs) and postMessage between the same two workers, in one run. Each measurement is two
// fresh workers started on a shared flag; the time is from the start flag to both workers' end, divided by the
// number of messages (or round trips). Results are checked (sums, counts). Usage:
//   npm run build && node bench/channels.mjs [--quick] [--runs N]
import { Worker, MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args[args.indexOf('--runs') + 1]) || (quick ? 2 : 5);
const dist = new URL('../dist/index.js', import.meta.url).href;
const ts = await import(dist);
const workerFile = fileURLToPath(new URL('./lib/channel-worker.mjs', import.meta.url));
const { spscBuffer, oneSlotBuffer } = await import('./lib/channel-floors.mjs');

async function measure(impl, n, payloads, transfer = [[], []]) {
  const ctl = new SharedArrayBuffer(8);
  const flag = new Int32Array(ctl);
  const workers = ['send', 'recv'].map((role, k) => new Worker(workerFile, { workerData: { impl, role, n, ctl, payload: payloads[k], dist }, transferList: transfer[k] }));
  const results = workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m.result)));
    w.once('error', reject);
  }));
  while (Atomics.load(flag, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const out = await Promise.all(results);
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return { nsPerOp: (ms * 1e6) / n, out };
}

const Obj = ts.struct({ id: ts.i32, seq: ts.f64, x: ts.f64, y: ts.f64, tag: ts.string(24) });
const expectSum = (n) => (n * (n - 1)) / 2;

function pm(kind) {
  const { port1, port2 } = new MessageChannel();
  return [[{ port: port1, kind }, { port: port2, kind }], [[port1], [port2]]];
}

function tsPair(layout, bound, kind) {
  const [tx, rx] = ts.syncChannel(layout, bound);
  const p = [{ side: ts.share(tx), kind }, { side: ts.share(rx), kind }];
  tx.close();
  rx.close();
  return [p];
}

function tsPingPong() {
  const [atx, arx] = ts.syncChannel(ts.i32, 0);
  const [btx, brx] = ts.syncChannel(ts.i32, 0);
  const p = [{ side: ts.share(atx), other: ts.share(brx), kind: 'pingpong' }, { side: ts.share(arx), other: ts.share(btx), kind: 'pingpong' }];
  for (const s of [atx, arx, btx, brx]) s.close();
  return [p];
}

const N = quick ? 200_000 : 1_000_000;
const NOBJ = quick ? 50_000 : 200_000;
const NPING = quick ? 20_000 : 100_000;
const cases = [
  {
    name: `1→1 throughput, ${N.toLocaleString()} i32`,
    entries: [
      ['SAB SPSC ring floor (1024)', () => measure('floor-ring', N, [{ sab: (globalThis.__s = spscBuffer(1024)) }, { sab: globalThis.__s }]), (o) => o[1] === expectSum(N)],
      ['threadsafe syncChannel(i32, 1024)', () => measure('threadsafe', N, ...tsPair(ts.i32, 1024, 'i32')), (o) => o[1] === expectSum(N)],
      ['threadsafe channel(i32) (8 MiB)', () => { const [tx, rx] = ts.channel(ts.i32); const p = [{ side: ts.share(tx), kind: 'i32' }, { side: ts.share(rx), kind: 'i32' }]; tx.close(); rx.close(); return measure('threadsafe', N, p); }, (o) => o[1] === expectSum(N)],
      ['postMessage w→w (MessageChannel)', () => measure('postMessage', N, ...pm('i32')), (o) => o[1] === expectSum(N)],
    ],
  },
  {
    name: `1→1 64-byte struct {id, seq, x, y, tag}, ${NOBJ.toLocaleString()}`,
    entries: [
      ['threadsafe syncChannel(struct, 1024)', () => measure('threadsafe', NOBJ, ...tsPair(Obj, 1024, 'obj')), (o) => o[1] === expectSum(NOBJ)],
      ['threadsafe syncChannel(json(128), 1024)', () => measure('threadsafe', NOBJ, ...tsPair(ts.json(128), 1024, 'obj')), (o) => o[1] === expectSum(NOBJ)],
      ['postMessage w→w of the same object', () => measure('postMessage', NOBJ, ...pm('obj')), (o) => o[1] === expectSum(NOBJ)],
    ],
  },
  {
    name: `rendezvous ping-pong, ${NPING.toLocaleString()} round trips`,
    entries: [
      ['1-slot spin(2000)-then-park floor', () => { const a = oneSlotBuffer(), b = oneSlotBuffer(); return measure('floor-pingpong', NPING, [{ a, b }, { a, b }]); }, () => true],
      ['threadsafe syncChannel(i32, 0) ×2', () => measure('threadsafe', NPING, ...tsPingPong()), () => true],
    ],
  },
];

for (const c of cases) {
  console.log(`\n## ${c.name}  (median of ${runs} runs, ns per message / round trip)`);
  const medians = [];
  for (const [label, run, check] of c.entries) {
    const xs = [];
    let bad = 0;
    for (let r = 0; r < runs; r++) {
      const { nsPerOp, out } = await run();
      if (!check(out)) bad++;
      xs.push(nsPerOp);
    }
    xs.sort((a, b) => a - b);
    const med = xs[Math.floor(xs.length / 2)];
    medians.push(med);
    console.log(`${label.padEnd(42)} ${med.toFixed(1).padStart(9)}  (${xs[0].toFixed(1)}–${xs[xs.length - 1].toFixed(1)})  ×${(med / medians[0]).toFixed(2)} of first${bad ? `  ✘ ${bad} wrong` : ''}`);
  }
}
