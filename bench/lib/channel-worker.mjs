// Worker side of lib/channel-cases.mjs (npm run bench): one role of one channel case. Waits on the start flag, warms up, waits on the go flag, runs, reports.
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing, OneSlot } from './channel-floors.mjs';

const { impl, role, n, warm = 0, ctl, payload, dist } = workerData;
const flag = new Int32Array(ctl);
const ts = dist ? await import(dist) : undefined;
const obj = (i) => ({ id: i, seq: i * 1.25, x: -i / 3, y: i * 2.5, tag: `tag-${i % 1000}-abcdefgh` });

// Control words (lib/channel-cases.mjs measure): [0] start, [1] ready, [2] go, [3] warmed.
function waitFlag(index) {
  while (Atomics.load(flag, index) === 0) Atomics.wait(flag, index, 0, 50);
}
function arrive(index) {
  Atomics.add(flag, index, 1);
  Atomics.notify(flag, index);
}

/**
 * Ready, block on start; then `warm` messages of the same exchange, untimed; warmed, block on go (the clock starts).
 * `exchange(k)` moves k messages (its result is what the timed call returns).
 */
async function start(exchange) {
  arrive(1);
  waitFlag(0);
  if (warm > 0) await exchange(warm);
  arrive(3);
  waitFlag(2);
}

async function run() {
  if (impl === 'floor-ring') {
    const ring = new SpscRing(payload.sab);
    const exchange = (k) => {
      if (role === 'send') { for (let i = 0; i < k; i++) ring.send(i); return 0; }
      let sum = 0;
      for (let i = 0; i < k; i++) sum += ring.recv();
      return sum;
    };
    await start(exchange);
    return exchange(n);
  }
  if (impl === 'floor-pingpong') {
    const a = new OneSlot(payload.a), b = new OneSlot(payload.b);
    const exchange = (k) => {
      if (role === 'send') { for (let i = 0; i < k; i++) { a.send(i); b.recv(); } return 0; }
      for (let i = 0; i < k; i++) b.send(a.recv() + 1);
      return 0;
    };
    await start(exchange);
    return exchange(n);
  }
  if (impl === 'postMessage') {
    const port = payload.port;
    const make = payload.kind === 'i32' ? (i) => i : obj;
    if (role === 'send') {
      const exchange = (k) => { for (let i = 0; i < k; i++) port.postMessage(make(i)); return 0; };
      await start(exchange);
      return exchange(n);
    }
    // One handler for both phases: it sums only the timed messages (those after the warm-up's).
    let got = 0, sum = 0;
    let resolveWarm, resolveDone;
    const warmed = new Promise((resolve) => (resolveWarm = resolve));
    const done = new Promise((resolve) => (resolveDone = resolve));
    port.on('message', (m) => {
      if (++got <= warm) {
        if (got === warm) resolveWarm();
        return;
      }
      sum += typeof m === 'number' ? m : m.id;
      if (got === warm + n) resolveDone(sum);
    });
    await start(() => warmed);
    return await done;
  }
  if (impl === 'threadsafe') {
    const side = ts.receive(payload.side);
    const other = payload.other ? ts.receive(payload.other) : undefined;
    const make = payload.kind === 'i32' ? (i) => i : obj;
    let exchange;
    if (payload.kind === 'pingpong') {
      exchange = (k) => {
        if (role === 'send') { for (let i = 0; i < k; i++) { side.send(i); other.recv(); } return 0; }
        for (let i = 0; i < k; i++) other.send(side.recv() + 1);
        return 0;
      };
    } else if (role === 'send') {
      exchange = (k) => {
        const base = payload.base ?? 0;
        for (let i = base; i < base + k; i++) side.send(make(i));
        return 0;
      };
    } else if (payload.untilClosed) {
      // mpmc: receive until every Sender is gone; [sum, count] (no warm-up: a consumer cannot tell the phases apart)
      exchange = () => {
        let sum = 0, count = 0;
        if (payload.kind === 'i32') for (const v of side) { sum += v; count++; }
        else for (const v of side) { sum += v.id; count++; }
        return [sum, count];
      };
    } else {
      exchange = (k) => {
        let sum = 0;
        if (payload.kind === 'i32') for (let i = 0; i < k; i++) sum += side.recv();
        else for (let i = 0; i < k; i++) sum += side.recv().id;
        return sum;
      };
    }
    await start(exchange);
    const result = exchange(n);
    if (role === 'send' && payload.closeAfter) side.close();
    return result;
  }
  throw new Error(`unknown impl ${impl}`);
}

try {
  parentPort.postMessage({ result: await run() });
} catch (e) {
  parentPort.postMessage({ error: String(e?.stack ?? e) });
}
