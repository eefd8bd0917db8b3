// Channel cases of `npm run bench` (issue "Channels"): handlers for the hand-written floors, postMessage and
// threadsafe, all moving messages between fresh workers (lib/channel-worker.mjs) started on one shared flag; each pair
// first moves min(200k, n/4) messages untimed (not the 4 → 4 and recvAsync cases, whose receivers cannot tell the
// phases apart), then the time runs from a second flag to the last worker's end, per message (per round trip for the
// ping-pong). Every run checks its result (sums and counts), so a lost, duplicated or corrupted message makes the run
// incorrect.
import { Worker, MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { spscBuffer, oneSlotBuffer } from './channel-floors.mjs';
import { warmOpsFor } from './measure.mjs';

const WORKER = fileURLToPath(new URL('./channel-worker.mjs', import.meta.url));
const sumTo = (n) => (n * (n - 1)) / 2;

/**
 * Runs one worker per entry of `roles` ({ impl, role, n, warm, payload, transfer }) and returns the time from the go
 * flag to the last result, with the results. Each worker first moves `warm` messages of the same exchange (its
 * partner the same number), untimed, after the start flag and before the go flag (lib/measure.mjs warmOpsFor).
 */
async function measure(roles, dist, timeoutMs, clock = {}) {
  const ctl = new Int32Array(new SharedArrayBuffer(16)); // [0] start, [1] ready, [2] go, [3] warmed
  const workers = roles.map(
    ({ impl, role, n, warm, payload, transfer }) =>
      new Worker(WORKER, { workerData: { impl, role, n, warm: warm ?? 0, ctl: ctl.buffer, payload, dist }, transferList: transfer ?? [] }),
  );
  try {
    const results = workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m.result)));
          w.once('error', reject);
        }),
    );
    const deadline = Date.now() + timeoutMs;
    const all = async (index, what) => {
      while (Atomics.load(ctl, index) < roles.length) {
        if (Date.now() > deadline) throw new Error(`workers did not ${what}`);
        // A worker's failure ends the wait at once (a result that arrives early never settles this race).
        await Promise.race([new Promise((r) => setTimeout(r, 1)), ...results.map((p) => p.then(() => new Promise(() => {})))]);
      }
    };
    await all(1, 'start');
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await all(3, 'finish their warm-up');
    const t0 = performance.now();
    clock.t0 = t0; // a receiver on this thread times itself from here
    Atomics.store(ctl, 2, 1);
    Atomics.notify(ctl, 2);
    const out = await Promise.all(results);
    return { ms: performance.now() - t0, out };
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()));
  }
}

function result(ops, ms, correct, note) {
  return { ops, totalMs: ms, nsPerOp: (ms * 1e6) / ops, count: correct ? ops : 0, expected: ops, correct, note };
}

function portPair(kind) {
  const { port1, port2 } = new MessageChannel();
  return [
    { payload: { port: port1, kind }, transfer: [port1] },
    { payload: { port: port2, kind }, transfer: [port2] },
  ];
}

/** 1 sender worker → 1 receiver worker, `n` messages of `kind` ('i32' or 'obj'); the receiver returns the sum of ids. */
function oneToOne(impl, kind, makePair, note) {
  return {
    async run(n, { timeoutMs, dist }) {
      const [a, b] = makePair();
      const { ms, out } = await measure(
        [
          { impl, role: 'send', n, warm: warmOpsFor(n), ...a },
          { impl, role: 'recv', n, warm: warmOpsFor(n), ...b },
        ],
        dist,
        timeoutMs,
      );
      return result(n, ms, out[1] === sumTo(n), note);
    },
  };
}

// ---------------------------------------------------------------- floors and postMessage

/** Cases of the hand-written floors (`sab-ring`, `spin-park-pingpong`) and of `post-message`. */
export function baselineCases(name) {
  if (name === 'sab-ring') {
    return {
      'channel-i32': oneToOne('floor-ring', 'i32', () => {
        const sab = spscBuffer(1024);
        return [{ payload: { sab } }, { payload: { sab } }];
      }, 'hand-written SPSC ring of 1024 Int32 slots, spin 2000 polls then park (lib/channel-floors.mjs)'),
    };
  }
  if (name === 'spin-park-pingpong') {
    return {
      'channel-pingpong': {
        async run(n, { timeoutMs }) {
          const a = oneSlotBuffer();
          const b = oneSlotBuffer();
          const { ms } = await measure(
            [
              { impl: 'floor-pingpong', role: 'send', n, warm: warmOpsFor(n), payload: { a, b } },
              { impl: 'floor-pingpong', role: 'recv', n, warm: warmOpsFor(n), payload: { a, b } },
            ],
            undefined,
            timeoutMs,
          );
          return result(n, ms, true, 'two 1-slot hand-offs, spin 2000 polls then park (primitives-anchors §2 floor); ns per round trip');
        },
      },
    };
  }
  if (name === 'post-message') {
    const pm = (kind, note) => oneToOne('postMessage', kind, () => portPair(kind), note);
    return {
      'channel-i32': pm('i32', 'MessageChannel between the same two workers; the receiver counts in its message handler'),
      'channel-struct': pm('obj', '`postMessage` of the same 64-byte object (structured clone), worker → worker'),
      'channel-json': pm('obj', '`postMessage` of the same object (structured clone), worker → worker'),
      'channel-recvAsync': {
        async run(n, { timeoutMs }) {
          const [a, b] = portPair('i32');
          const port = b.payload.port;
          let sum = 0;
          let got = 0;
          let resolveDone;
          const done = new Promise((r) => (resolveDone = r));
          port.on('message', (v) => {
            sum += v;
            if (++got === n) resolveDone();
          });
          const clock = {};
          await Promise.all([measure([{ impl: 'postMessage', role: 'send', n, ...a }], undefined, timeoutMs, clock), done]);
          const ms = performance.now() - clock.t0;
          port.close();
          return result(n, ms, sum === sumTo(n), 'worker → main thread over a MessageChannel (the main thread sums in its handler); from the start flag to the last message handled');
        },
      },
    };
  }
  return undefined;
}

// ---------------------------------------------------------------- threadsafe

/** threadsafe's channel cases, for the build `lib` loaded from `distUrl`. */
export function threadsafeChannelCases(lib, distUrl) {
  const dist = distUrl.href;
  const ts = lib;
  const Obj = () => ts.struct({ id: ts.i32, seq: ts.f64, x: ts.f64, y: ts.f64, tag: ts.string(24) });
  const shared = (tx, rx, kind, extra = {}) => {
    const a = { payload: { side: ts.share(tx), kind, ...extra } };
    const b = { payload: { side: ts.share(rx), kind } };
    tx.close();
    rx.close();
    return [a, b];
  };
  const withDist = (handler) => ({ run: (n, ctx) => handler.run(n, { ...ctx, dist }) });
  return {
    'channel-i32': {
      run(n, ctx) {
        const unbounded = ctx.variant === 'unbounded';
        return withDist(
          oneToOne(
            'threadsafe',
            'i32',
            () => (unbounded ? shared(...ts.channel(ts.i32), 'i32') : shared(...ts.syncChannel(ts.i32, 1024), 'i32')),
            unbounded ? '`channel(i32)` (unbounded, 8 MiB), `send`/`recv`' : '`syncChannel(i32, 1024)`, `send`/`recv`',
          ),
        ).run(n, ctx);
      },
    },
    'channel-struct': withDist(oneToOne('threadsafe', 'obj', () => shared(...ts.syncChannel(Obj(), 1024), 'obj'), '`syncChannel(struct({ id: i32, seq, x, y: f64, tag: string(24) }), 1024)`')),
    'channel-json': withDist(oneToOne('threadsafe', 'obj', () => shared(...ts.syncChannel(ts.json(128), 1024), 'obj'), '`syncChannel(json(128), 1024)` of the same object')),
    'channel-pingpong': {
      async run(n, { timeoutMs }) {
        const [atx, arx] = ts.syncChannel(ts.i32, 0);
        const [btx, brx] = ts.syncChannel(ts.i32, 0);
        const roles = [
          { impl: 'threadsafe', role: 'send', n, warm: warmOpsFor(n), payload: { side: ts.share(atx), other: ts.share(brx), kind: 'pingpong' } },
          { impl: 'threadsafe', role: 'recv', n, warm: warmOpsFor(n), payload: { side: ts.share(arx), other: ts.share(btx), kind: 'pingpong' } },
        ];
        for (const s of [atx, arx, btx, brx]) s.close();
        const { ms } = await measure(roles, dist, timeoutMs);
        return result(n, ms, true, 'two `syncChannel(i32, 0)` (rendezvous), `send` then `recv` each way; ns per round trip');
      },
    },
    'channel-mpmc': {
      async run(n, { timeoutMs, variant }) {
        const [tx, rx] = variant === 'unbounded' ? ts.channel(ts.i32) : ts.syncChannel(ts.i32, 1024);
        const per = Math.floor(n / 4);
        const roles = [];
        for (let k = 0; k < 4; k++) roles.push({ impl: 'threadsafe', role: 'send', n: per, payload: { side: ts.share(tx), kind: 'i32', base: k * per } });
        for (let k = 0; k < 4; k++) roles.push({ impl: 'threadsafe', role: 'recv', n: 0, payload: { side: ts.share(rx), kind: 'i32', untilClosed: true } });
        tx.close();
        rx.close();
        const { ms, out } = await measure(roles, dist, timeoutMs);
        const got = out.slice(4);
        const sum = got.reduce((s, [x]) => s + x, 0);
        const count = got.reduce((s, [, c]) => s + c, 0);
        return result(4 * per, ms, sum === sumTo(4 * per) && count === 4 * per, `4 producer workers → 4 consumer workers, ${variant === 'unbounded' ? '`channel(i32)`' : '`syncChannel(i32, 1024)`'}; consumers loop until the senders are gone`);
      },
    },
    'channel-recvAsync': {
      async run(n, { timeoutMs }) {
        const [tx, rx] = ts.syncChannel(ts.i32, 1024);
        const role = { impl: 'threadsafe', role: 'send', n, payload: { side: ts.share(tx), kind: 'i32' } };
        tx.close();
        const clock = {};
        const sent = measure([role], dist, timeoutMs, clock);
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await rx.recvAsync();
        const ms = performance.now() - clock.t0;
        await sent;
        rx.close();
        return result(n, ms, sum === sumTo(n), '`await rx.recvAsync()` on the main thread, one worker sending into `syncChannel(i32, 1024)`');
      },
    },
  };
}
