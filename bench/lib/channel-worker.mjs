// Worker side of bench/channels.mjs and lib/channel-cases.mjs (npm run bench): one role of one channel case. Waits on the start flag, runs, reports.
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing, OneSlot } from './channel-floors.mjs';

const { impl, role, n, ctl, payload, dist } = workerData;
const flag = new Int32Array(ctl);
const ts = dist ? await import(dist) : undefined;
const obj = (i) => ({ id: i, seq: i * 1.25, x: -i / 3, y: i * 2.5, tag: `tag-${i % 1000}-abcdefgh` });

function start() {
  Atomics.add(flag, 1, 1);
  Atomics.notify(flag, 1);
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 50);
}

async function run() {
  if (impl === 'floor-ring') {
    const ring = new SpscRing(payload.sab);
    start();
    if (role === 'send') { for (let i = 0; i < n; i++) ring.send(i); return 0; }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += ring.recv();
    return sum;
  }
  if (impl === 'floor-pingpong') {
    const a = new OneSlot(payload.a), b = new OneSlot(payload.b);
    start();
    if (role === 'send') { for (let i = 0; i < n; i++) { a.send(i); b.recv(); } return 0; }
    for (let i = 0; i < n; i++) b.send(a.recv() + 1);
    return 0;
  }
  if (impl === 'postMessage') {
    const port = payload.port;
    const make = payload.kind === 'i32' ? (i) => i : obj;
    if (role === 'send') {
      start();
      for (let i = 0; i < n; i++) port.postMessage(make(i));
      return 0;
    }
    let got = 0, sum = 0;
    const done = new Promise((resolve) => {
      port.on('message', (m) => {
        sum += typeof m === 'number' ? m : m.id;
        if (++got === n) resolve(sum);
      });
    });
    start();
    return await done;
  }
  if (impl === 'threadsafe') {
    const side = ts.receive(payload.side);
    const other = payload.other ? ts.receive(payload.other) : undefined;
    const make = payload.kind === 'i32' ? (i) => i : obj;
    start();
    if (payload.kind === 'pingpong') {
      if (role === 'send') { for (let i = 0; i < n; i++) { side.send(i); other.recv(); } return 0; }
      for (let i = 0; i < n; i++) other.send(side.recv() + 1);
      return 0;
    }
    if (role === 'send') {
      const base = payload.base ?? 0;
      for (let i = base; i < base + n; i++) side.send(make(i));
      if (payload.closeAfter) side.close();
      return 0;
    }
    if (payload.untilClosed) {
      // mpmc: receive until every Sender is gone; [sum, count]
      let sum = 0, count = 0;
      if (payload.kind === 'i32') for (const v of side) { sum += v; count++; }
      else for (const v of side) { sum += v.id; count++; }
      return [sum, count];
    }
    let sum = 0;
    if (payload.kind === 'i32') for (let i = 0; i < n; i++) sum += side.recv();
    else for (let i = 0; i < n; i++) sum += side.recv().id;
    return sum;
  }
  throw new Error(`unknown impl ${impl}`);
}

try {
  parentPort.postMessage({ result: await run() });
} catch (e) {
  parentPort.postMessage({ error: String(e?.stack ?? e) });
}
