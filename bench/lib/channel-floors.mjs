// Hand-written SharedArrayBuffer floors for the channel benchmarks (lib/channel-cases.mjs): what a channel costs with
// nothing but Atomics, written for one job each.
//
// - SpscRing: a single-producer single-consumer ring of Int32 values (capacity a power of two), head and tail on
//   their own cache lines, each side caching the other's index, spinning briefly and then parking with Atomics.wait
//   on its index word; a side notifies only when the other registered as sleeping.
// - OneSlot: a 1-slot hand-off (value + full flag) with spin-then-park (2000 polls, as primitives-anchors.md §2's
//   136 ns floor), used both ways for the rendezvous ping-pong floor.

const SPIN = 2000;
const LINE = 16; // Int32s per 64-byte line

/** Shared memory of an SpscRing of `capacity` Int32 values. */
export function spscBuffer(capacity) {
  return new SharedArrayBuffer(4 * (4 * LINE + capacity));
}

export class SpscRing {
  constructor(sab) {
    this.w = new Int32Array(sab);
    this.cap = this.w.length - 4 * LINE;
    this.mask = this.cap - 1;
    // [0]: tail (written by the producer), [LINE]: head (consumer), [2*LINE]: consumer sleeping, [3*LINE]: producer sleeping
    this.data = 4 * LINE;
    // Each side keeps the other's index as it last read it and reads the shared one again only when the ring looks
    // full (sender) or empty (receiver): the cache line of the other side's index moves once per batch, not once per
    // message (the usual SPSC optimisation; without it this floor measured ~460 ns per message here, slower than
    // threadsafe's MPMC ring).
    this.headSeen = 0;
    this.tailSeen = 0;
  }
  send(v) {
    const w = this.w;
    const tail = w[0];
    if (tail - this.headSeen === this.cap) {
      // Full as far as this side last looked: look again, spin, then park.
      let spins = 0;
      while (tail - (this.headSeen = Atomics.load(w, LINE)) === this.cap) {
        if (++spins < SPIN) continue;
        Atomics.store(w, 3 * LINE, 1);
        const head = Atomics.load(w, LINE);
        if (tail - head === this.cap) Atomics.wait(w, LINE, head, 100);
        Atomics.store(w, 3 * LINE, 0);
      }
    }
    w[this.data + (tail & this.mask)] = v;
    Atomics.store(w, 0, tail + 1);
    if (Atomics.load(w, 2 * LINE) !== 0) Atomics.notify(w, 0);
  }
  recv() {
    const w = this.w;
    const head = w[LINE];
    if (this.tailSeen === head) {
      // Empty as far as this side last looked: look again, spin, then park.
      let spins = 0;
      while ((this.tailSeen = Atomics.load(w, 0)) === head) {
        if (++spins < SPIN) continue;
        Atomics.store(w, 2 * LINE, 1);
        if (Atomics.load(w, 0) === head) Atomics.wait(w, 0, head, 100);
        Atomics.store(w, 2 * LINE, 0);
      }
    }
    const v = w[this.data + (head & this.mask)];
    Atomics.store(w, LINE, head + 1);
    if (Atomics.load(w, 3 * LINE) !== 0) Atomics.notify(w, LINE);
    return v;
  }
}

/** Shared memory of a OneSlot. */
export function oneSlotBuffer() {
  return new SharedArrayBuffer(4 * 2 * LINE);
}

export class OneSlot {
  constructor(sab) {
    this.w = new Int32Array(sab); // [0]: 0 empty / 1 full / 2 empty and a sender sleeps / 3 full and a receiver sleeps… kept simple: state + value
  }
  send(v) {
    const w = this.w;
    let spins = 0;
    while (Atomics.load(w, 0) !== 0) {
      if (++spins > SPIN) Atomics.wait(w, 0, Atomics.load(w, 0), 1);
    }
    w[1] = v;
    Atomics.store(w, 0, 1);
    Atomics.notify(w, 0);
  }
  recv() {
    const w = this.w;
    let spins = 0;
    while (Atomics.load(w, 0) !== 1) {
      if (++spins > SPIN) Atomics.wait(w, 0, 0, 1);
    }
    const v = w[1];
    Atomics.store(w, 0, 0);
    Atomics.notify(w, 0);
    return v;
  }
}
