// A raw worker_threads Worker (not started by spawn) that gets shared objects only through share/receive.
// Used by interop.test.ts. Each message is a share(...) envelope whose value has an `op`:
//   "count"    { m, n, flags }: flags[0] += 1 (ready), wait for flags[1] (GO), then n non-atomic increments of m.
//   "nested"   { payload }: finds one struct mutex in several places of a nested value and updates it through each.
//   "keep"     { m }: keeps the received mutex (for "same" below).
//   "same"     { m }: reports whether this second receive gave the object "keep" kept.
//   "echo"     { value }: sends the value straight back with share (a round trip through this thread).
// Every reply is a share(...) envelope of { op, ...result }.
import { parentPort } from "node:worker_threads";
import { Mutex, currentThread, receive, share } from "threadsafe";

let kept;

parentPort.on("message", (message) => {
  const request = receive(message);
  switch (request.op) {
    case "count": {
      const { m, n, flags } = request;
      Atomics.add(flags, 0, 1);
      Atomics.notify(flags, 0);
      Atomics.wait(flags, 1, 0, 10_000); // GO: everyone is ready
      for (let i = 0; i < n; i++) {
        const g = m.lock();
        g.value = g.value + 1; // read, then write: only the lock makes this exact
        g.unlock();
      }
      parentPort.postMessage(share({ op: "count", thread: currentThread(), isMutex: m instanceof Mutex }));
      return;
    }
    case "nested": {
      const { payload } = request;
      const places = [
        payload.meta.inner[1].deep.get("acct"),
        payload.list[0],
        payload.list[1][0],
        [...payload.set][0],
        payload.map.get("k").m,
        [...payload.keyed.keys()][0],
      ];
      const allSame = places.every((p) => p === places[0]);
      const allMutex = places.every((p) => p instanceof Mutex);
      for (const acct of places) {
        acct.with((g) => {
          g.value.hits += 1;
          g.value.total += 2.5;
        });
      }
      const seen = places[0].with((g) => ({ hits: g.value.hits, total: g.value.total, tag: g.value.tag }));
      parentPort.postMessage(
        share({
          op: "nested",
          allSame,
          allMutex,
          seen,
          name: places[0].name,
          other: payload.meta.inner[1].deep.get("other"),
          keyedValue: [...payload.keyed.values()][0],
          date: payload.meta.when instanceof Date ? payload.meta.when.getTime() : null,
          bytes: payload.meta.bytes instanceof Uint8Array ? [...payload.meta.bytes] : null,
        }),
      );
      return;
    }
    case "keep": {
      kept = request.m;
      parentPort.postMessage(share({ op: "keep" }));
      return;
    }
    case "same": {
      parentPort.postMessage(share({ op: "same", same: request.m === kept, alsoInside: request.again[0] === kept }));
      return;
    }
    case "echo": {
      parentPort.postMessage(share({ op: "echo", value: request.value }));
      return;
    }
    default:
      throw new Error(`interop-raw-worker: unknown op ${String(request.op)}`);
  }
});
