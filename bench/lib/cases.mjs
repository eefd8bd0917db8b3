// What is measured: every case, which implementations take part, the floor it is compared with,
// the goal from the issue, and Rust's figure for the same job (external reference, not run here).

export const CASES = [
  {
    name: 'uncontended',
    title: 'Uncontended lock + increment + unlock, one thread (guard included)',
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'raw-futex',
    // `threadsafe` is `lock()`/`unlock()` (the goal row); the variants are the other idioms (impls/idioms.mjs).
    // `raw-futex:using*`: the floors of the `using` rows (impls/raw.mjs, FloorGuard): the same compiled loop over a
    // hand-written guard, so what `using` itself costs on a runtime is measured apart from the library.
    impls: [
      'raw-futex', 'raw-adaptive', 'atomics-add',
      'raw-futex:using', 'raw-futex:using-tsc', 'raw-futex:using-tsx', 'raw-futex:using-native',
      'threadsafe', 'threadsafe:with', 'threadsafe:using', 'threadsafe:using-tsc', 'threadsafe:using-tsx', 'threadsafe:using-native', 'threadsafe:withAsync',
      'multithreading', 'atomics-mutex',
    ],
    variants: {
      with: '`m.with(fn)`',
      using: '`using g = m.lock()` (esbuild, node20)',
      'using-tsc': '`using g = m.lock()` (tsc, ES2022)',
      'using-tsx': '`using g = m.lock()` (tsx)',
      'using-native': '`using g = m.lock()` (native)',
      withAsync: '`await m.withAsync(fn)`',
    },
    rust: 'std `Mutex` lock+inc+unlock, 1 thread: **4.39 ns/op** (parking_lot 5.18 ns/op)',
  },
  {
    name: 'contended',
    title: '2 workers × N lock / non-atomic `c[0]++` / unlock, started on an Atomics flag',
    kind: 'contended',
    unit: 'ms',
    ops: 1_000_000, // per worker
    quickOps: 100_000,
    floor: 'atomics-add',
    bestRaw: ['raw-futex', 'raw-adaptive'],
    impls: ['atomics-add', 'no-lock', 'raw-futex', 'raw-adaptive', 'threadsafe', 'multithreading', 'atomics-mutex'],
    rust: 'std `Mutex`, 2 threads × 1M: **58.7 ms = 29.37 ns/op**; parking_lot 19.8 ms = 9.89 ns/op; `AtomicU64::fetch_add` 8.9 ms = 4.43 ns/op',
  },
  {
    name: 'tryLock',
    title: 'Uncontended tryLock + increment + unlock, one thread',
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'raw-futex',
    impls: ['raw-futex', 'threadsafe', 'multithreading', 'atomics-mutex'],
    rust: 'std `Mutex::try_lock`+inc+unlock, 1 thread: **4.41 ns/op**',
  },
  {
    name: 'lockAsync',
    title: 'Uncontended `await lockAsync()` + increment + unlock, one thread (one await per op)',
    kind: 'single',
    unit: 'ns/op',
    ops: 500_000,
    quickOps: 50_000,
    floor: 'raw-futex-async',
    impls: ['raw-futex-async', 'await-null', 'threadsafe', 'multithreading', 'atomics-mutex', 'async-mutex', 'web-locks'],
    rust: 'no async lock in Rust std (tokio et al. are not measured here)',
  },
  {
    name: 'lockAsync-contended',
    title: '2 workers × N `await lockAsync()` / non-atomic `c[0]++` / unlock',
    kind: 'contended',
    unit: 'ms',
    ops: 1_000_000,
    quickOps: 50_000,
    floor: 'raw-futex-async',
    impls: ['raw-futex-async', 'threadsafe', 'multithreading', 'atomics-mutex', 'web-locks'],
    rust: 'no async lock in Rust std; the sync figure is std `Mutex` 2 × 1M: 29.37 ns/op',
  },
  {
    name: 'struct',
    title: 'Read + write one field of a shared struct under the lock, one thread',
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'raw-futex',
    impls: ['raw-futex', 'threadsafe', 'multithreading', 'atomics-mutex'],
    rust: 'same job as `uncontended` in Rust (a field of the guarded value): 4.39 ns/op',
  },
  {
    name: 'spawn',
    title: 'spawn + join of an empty function, sequential',
    kind: 'spawn',
    unit: 'µs/op',
    ops: 20,
    quickOps: 5,
    floor: 'worker-threads',
    impls: ['worker-threads', 'threadsafe', 'multithreading'],
    rust: '`thread::spawn` + `join` (empty closure): **53.3 µs**',
  },
  // An impl entry `name:variant` runs implementation `name` with that variant, in its own processes
  // (bench/case.mjs passes { variant } to setup/run); `variants` gives the label of each.
  ...[2, 8].map((n) => ({
    name: `deadlock-${n}`,
    title: `Block-time deadlock check, ${n}-thread cycle: publishWait + findDeadlock + unpublishWait, one thread`,
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'futex-pingpong',
    impls: ['futex-pingpong', 'threadsafe:cycle', 'threadsafe:no-cycle'],
    variants: {
      cycle: `check that finds a ${n}-thread cycle`,
      'no-cycle': 'check when the owner is running (no cycle: the common case)',
    },
    cycleLength: n,
    fractionOfFloor: 'the check runs only when a thread is about to sleep: compare it with one sleep/wake round trip',
    rust: 'Rust std has no deadlock detection (parking_lot `deadlock_detection` runs a separate periodic scan)',
  })),
  {
    name: 'lock-order',
    title: 'Warm nested `lock()`/unlock of B while holding A, lockOrder "off" vs "warn" (separate processes)',
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'threadsafe:off',
    impls: ['threadsafe:off', 'threadsafe:warn'],
    variants: { off: 'configure({ lockOrder: "off" })', warn: 'configure({ lockOrder: "warn" })' },
    difference: { base: 'threadsafe:off', with: 'threadsafe:warn', what: 'lock-order checking, per warm nested acquisition' },
    rust: 'Rust std has no lock-order checking; the uncontended std `Mutex` lock+unlock is **4.39 ns/op**',
  },
  {
    name: 'condvar-pingpong',
    title: 'Condvar ping-pong: 2 workers take turns under one Mutex, waiting on one Condvar; ns per round trip (A→B→A)',
    kind: 'single', // every entry runs its own two workers (a `run` handler); ns/op is per round trip
    unit: 'ns/rt',
    ops: 20_000, // round trips
    quickOps: 2_000,
    floor: 'raw-condvar',
    impls: ['raw-condvar', 'threadsafe', 'threadsafe:async', 'multithreading'],
    variants: { async: '`await cv.waitAsync(g)` after `await m.lockAsync()`' },
    rust: 'std `Mutex` + `Condvar` ping-pong: **36.0 µs** per round trip idle (24–49), 6.2 µs with both vCPUs kept busy; parking_lot 38.6 / 9.6 µs (primitives-anchors §3; blocking hand-offs are bimodal here: compare within one run)',
  },
  {
    name: 'bytes-per-mutex',
    title: 'Memory per mutex protecting an i32: shared bytes and JS heap, 3 × 10,000 mutexes between full GCs',
    kind: 'memory',
    unit: 'B',
    ops: 10_000,
    quickOps: 10_000,
    flags: ['--expose-gc', '--single-threaded-gc'],
    floor: 'raw-futex',
    impls: ['raw-futex', 'threadsafe', 'multithreading', 'atomics-mutex'],
    rust: '`size_of::<std::sync::Mutex<i32>>()` = **12 bytes** (4-byte futex word, 1-byte poison flag, padding, the i32; rustc 1.95, x86-64 Linux, checked once, not run by this suite); shared between threads as `Arc<Mutex<i32>>`: one heap block of 12 + 16 bytes of counts',
  },
  {
    name: 'create-drop',
    title: '`new Mutex(i32, 0)` then drop it, 1,000,000 times: ns per create+drop, and memory before/after (rss, external)',
    kind: 'churn',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 1_000_000, // the memory question is about this count: quick runs keep it
    flags: ['--expose-gc'],
    floor: 'raw-futex',
    impls: ['raw-futex', 'threadsafe', 'multithreading', 'atomics-mutex'],
    // The loop yields (setImmediate, timed) every this many cycles: FinalizationRegistry callbacks, which reclaim
    // dropped objects, only run between tasks. Every implementation gets the same yields.
    yieldEvery: 1000,
    // …and runs a full gc() (not timed) every this many: V8 finds a FinalizationRegistry's targets dead only in a full
    // GC, and left to itself runs too few of them for a small heap (see runChurn in lib/measure.mjs).
    gcEvery: 20_000,
    // Memory is "flat" when the second half of the cycles grew neither by more than this (MB).
    flat: { rssMB: 4, externalMB: 1 },
    rust: '`Mutex::new(0)` + drop is a stack value: no allocation (`Arc::new(Mutex::new(0))` + drop is one malloc/free pair); not run',
  },
  {
    name: 'semaphore',
    title: 'Semaphore(1) as a lock: 2 workers × N acquire / non-atomic `c[0]++` / release',
    kind: 'contended',
    unit: 'ms',
    ops: 1_000_000, // per worker
    quickOps: 100_000,
    floor: 'raw-semaphore',
    impls: ['raw-semaphore', 'threadsafe', 'multithreading'],
    rust: 'Rust std has no semaphore; std `Mutex` in the same role, 2 threads: 21.5 ns/op (primitives-anchors.md §6)',
  },
  {
    name: 'barrier',
    title: 'Barrier(2): 2 workers × N rounds (`wait()`; the leader bumps a non-atomic round counter); ns per round',
    kind: 'contended',
    unit: 'ms',
    ops: 200_000, // rounds
    quickOps: 20_000,
    floor: 'raw-barrier',
    impls: ['raw-barrier', 'threadsafe', 'multithreading'],
    rust: 'std `Barrier`, 2 threads, blocking: 23.2 µs/round idle, 5.9 µs with the vCPUs kept awake; a hand-written Rust spin barrier 32.2 ns/round (primitives-anchors.md §5)',
  },
  // RwLock (issue 9). The goals: read-heavy within 1.3× of a hand-written futex rwlock; uncontended read()+unlock()
  // within 1.3× of Mutex lock()+unlock() (the floor of that table is the library's own Mutex doing the same job).
  {
    name: 'rwlock-read',
    title: 'Uncontended RwLock `read()` + read the value + unlock, one thread (guard included)',
    kind: 'single',
    unit: 'ns/op',
    ops: 1_000_000,
    quickOps: 100_000,
    floor: 'threadsafe:mutex',
    impls: ['threadsafe:mutex', 'raw-rwlock', 'threadsafe', 'threadsafe:write', 'multithreading'],
    variants: {
      mutex: 'Mutex `lock()` + read the value + `unlock()` (the goal: RwLock read within 1.3× of this)',
      write: 'RwLock `write()` + read the value + `unlock()`',
    },
    rust: 'std `RwLock::read` + drop, 1 thread: see reference/rust-std-sync.md',
  },
  ...[2, 4].map((threads) => ({
    name: threads === 2 ? 'rwlock-95-5' : 'rwlock-95-5-4t',
    title: `${threads} workers × N RwLock ops, 95% \`read()\` (read the value) / 5% \`write()\` (non-atomic \`+= 1\`)`,
    kind: 'contended',
    threads,
    unit: 'ms',
    ops: 1_000_000, // per worker; a multiple of 20
    quickOps: 100_000,
    floor: 'raw-rwlock',
    impls: ['raw-rwlock', 'threadsafe', 'threadsafe:mutex', ...(threads === 2 ? ['multithreading'] : [])],
    variants: { mutex: 'a Mutex doing the same job (every op exclusive)' },
    rust:
      threads === 2
        ? '2 threads 95/5: parking_lot 17.7 ns/op, std 22.7 ns/op (reference/primitives-anchors.md); a hand-written futex rwlock in JS: 43–54 ns/op'
        : '4 threads 95/5: at 2 cores an rwlock should beat a mutex here',
  })),
  // Atomics and once cells (issue 10). No npm anchor has them (multithreading has neither atomics nor OnceLock).
  {
    name: 'atomic-fetchAdd',
    title: '`AtomicI32.fetchAdd(1)`, one thread (goal: within 1.1× of a bare `Atomics.add` on an Int32Array)',
    kind: 'single',
    unit: 'ns/op',
    ops: 5_000_000,
    quickOps: 1_000_000,
    floor: 'raw-atomics',
    impls: ['raw-atomics', 'threadsafe'],
    rust: '`AtomicU32::fetch_add`, 1 thread: **2.02 ns/op** (reference/primitives-anchors.md §8)',
  },
  {
    name: 'atomic-fetchAdd-contended',
    title: '2 workers × N `AtomicI32.fetchAdd(1)` on one counter (goal: within 1.1× of bare `Atomics.add`)',
    kind: 'contended',
    unit: 'ms',
    ops: 2_000_000,
    quickOps: 500_000,
    floor: 'raw-atomics',
    impls: ['raw-atomics', 'threadsafe'],
    rust: '`AtomicU32::fetch_add`, 2 threads: **5.3 ns/op** (AtomicU64 4.5)',
  },
  {
    name: 'atomic-u64-fetchAdd',
    title: '`AtomicU64.fetchAdd(1n)`, one thread (goal: within 1.2× of `Atomics.add` on a BigInt64Array)',
    kind: 'single',
    unit: 'ns/op',
    ops: 5_000_000,
    quickOps: 1_000_000,
    floor: 'raw-atomics',
    impls: ['raw-atomics', 'threadsafe'],
    rust: '`AtomicU64::fetch_add`, 1 thread: **2.03 ns/op**',
  },
  {
    name: 'atomic-fetchMax',
    title: '`AtomicI32.fetchMax(++k)` (every op writes), one thread (goal: within 1.5× of a hand-written CAS loop)',
    kind: 'single',
    unit: 'ns/op',
    ops: 5_000_000,
    quickOps: 1_000_000,
    floor: 'raw-atomics',
    impls: ['raw-atomics', 'threadsafe'],
    rust: '`AtomicU32::fetch_max` is one `lock cmpxchg` loop in Rust too; `compare_exchange` 2.31 ns',
  },
  {
    name: 'oncelock-get',
    title: '`OnceLock.get()` on an initialized cell (and `LazyLock.value`), one thread (goal: ≤ 2 ns)',
    kind: 'single',
    unit: 'ns/op',
    ops: 20_000_000,
    quickOps: 5_000_000,
    floor: 'raw-atomics',
    impls: ['raw-atomics', 'plain-field', 'threadsafe', 'threadsafe:lazy'],
    variants: { lazy: '`LazyLock.value` (forced)' },
    rust: '`OnceLock::get` **0.41 ns**; `LazyLock` deref 0.41 ns',
  },
  // Channels (issue 11): fresh workers per run, started on one flag (lib/channel-cases.mjs); results checked.
  {
    name: 'channel-i32',
    title: 'Channel throughput: 1 producer worker → 1 consumer worker, `i32` messages; ns per message',
    kind: 'single',
    unit: 'ns/msg',
    ops: 1_000_000,
    quickOps: 200_000,
    floor: 'sab-ring',
    impls: ['sab-ring', 'threadsafe', 'threadsafe:unbounded', 'post-message'],
    variants: { unbounded: '`channel(i32)` (unbounded)' },
    rust: '`sync_channel(1024)` **12.2 ns**, `mpsc::channel` 26.5; crossbeam `bounded(1024)` 21.1, `unbounded` 31.5 (primitives-anchors §2)',
  },
  {
    name: 'channel-struct',
    title: 'Channel of a 64-byte struct {id, seq, x, y, tag}: 1 worker → 1 worker; ns per message',
    kind: 'single',
    unit: 'ns/msg',
    ops: 1_000_000,
    quickOps: 50_000,
    floor: 'post-message',
    impls: ['post-message', 'threadsafe'],
    rust: 'a Rust move of a 64-byte struct costs about what an i32 does (12–30 ns)',
  },
  {
    name: 'channel-json',
    title: 'Channel of the same object as `json(128)`: 1 worker → 1 worker; ns per message',
    kind: 'single',
    unit: 'ns/msg',
    ops: 1_000_000,
    quickOps: 50_000,
    floor: 'post-message',
    impls: ['post-message', 'threadsafe'],
    rust: 'n/a (serde_json through a channel is not measured)',
  },
  {
    name: 'channel-pingpong',
    title: 'Rendezvous ping-pong: two `syncChannel(i32, 0)`, 2 workers; ns per round trip',
    kind: 'single',
    unit: 'ns/rt',
    ops: 100_000,
    quickOps: 20_000,
    floor: 'spin-park-pingpong',
    impls: ['spin-park-pingpong', 'threadsafe'],
    rust: 'std `sync_channel(0)` 41.6 µs idle / 15.5 µs hogs; crossbeam `bounded(0)` **466 ns** (it spins); the JS 1-slot spin-then-park floor 136 ns (primitives-anchors §2)',
  },
  {
    name: 'channel-mpmc',
    title: '4 producer workers → 4 consumer workers on one channel, `i32`; ns per message',
    kind: 'single',
    unit: 'ns/msg',
    ops: 1_000_000,
    quickOps: 200_000,
    floor: 'threadsafe',
    impls: ['threadsafe', 'threadsafe:unbounded'],
    variants: { unbounded: '`channel(i32)` (unbounded)' },
    rust: 'the same shape in Rust on this machine (bench/rust/channel-mpmc, medians of 7, 2026-12-01): crossbeam `bounded(1024)` 79–111 ns, `unbounded()` 146–149 ns; std `sync_channel(1024)` 153–160 ns and `channel()` 134–137 ns with 4 consumers sharing the `Receiver` behind a `Mutex`, 93–154 ns 4 → 1',
  },
  {
    name: 'channel-recvAsync',
    title: '`await rx.recvAsync()` on the main thread, 1 worker sending; ns per message',
    kind: 'single',
    unit: 'ns/msg',
    ops: 200_000,
    quickOps: 50_000,
    floor: 'post-message',
    impls: ['post-message', 'threadsafe'],
    rust: 'no async receive in Rust std',
  },
];

/** The implementation and variant of an impl entry ("threadsafe:warn" → ["threadsafe", "warn"]). */
export function splitEntry(entry) {
  const i = entry.indexOf(':');
  return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
}

export const CASE_BY_NAME = new Map(CASES.map((c) => [c.name, c]));

// Some implementations are far slower than the floor; they run fewer operations (ns/op stays comparable).
export const OPS_CAP = {
  'web-locks': { lockAsync: 50_000, 'lockAsync-contended': 50_000 },
  // ~10 µs per op on Node 24: 2 × 1M would take ~20 s per run.
  'atomics-mutex': { 'lockAsync-contended': 100_000 },
  // One round trip is two sleeps and two wakes (~11 µs idle, far more on a loaded VM).
  'futex-pingpong': { 'deadlock-2': 20_000, 'deadlock-8': 20_000 },
  // 2–4 µs per operation (primitives-anchors.md §6), ~20 µs per blocking barrier round.
  multithreading: { semaphore: 100_000, barrier: 20_000 },
};

export const QUICK_OPS_CAP = {
  'web-locks': { lockAsync: 5_000, 'lockAsync-contended': 5_000 },
  'atomics-mutex': { 'lockAsync-contended': 10_000 },
  'futex-pingpong': { 'deadlock-2': 5_000, 'deadlock-8': 5_000 },
  multithreading: { semaphore: 20_000, barrier: 5_000 },
};

export function opsFor(caseDef, entry, quick) {
  const base = quick ? caseDef.quickOps : caseDef.ops;
  const caps = quick ? QUICK_OPS_CAP : OPS_CAP;
  const cap = (caps[entry] ?? caps[splitEntry(entry)[0]])?.[caseDef.name];
  return cap !== undefined ? Math.min(cap, base) : base;
}

export const GOALS = [
  { id: 'uncontended', text: 'uncontended lock+unlock within 1.3× of the floor (raw futex)' },
  // Idiom goals (issue 13): `subject` is the entry measured (default threadsafe). The `using` rows are also compared
  // with their own floor (the same loop over a hand-written guard): what the library adds beyond `using` itself.
  { id: 'with', case: 'uncontended', subject: 'threadsafe:with', floor: 'raw-futex', max: 1.4, text: '`with(fn)` within 1.4× of the floor (raw futex)' },
  { id: 'using-native', case: 'uncontended', subject: 'threadsafe:using-native', floor: 'raw-futex', max: 1.4, text: 'native `using` (Node 24+) within 1.4× of the floor (raw futex)' },
  { id: 'using-native-floor', case: 'uncontended', subject: 'threadsafe:using-native', floor: 'raw-futex:using-native', max: 1.4, text: 'native `using` within 1.4× of the same `using` loop over a hand-written guard' },
  { id: 'using-esbuild', case: 'uncontended', subject: 'threadsafe:using', floor: 'raw-futex', max: 2, text: '`using` compiled for Node 20 (esbuild) within 2× of the floor (raw futex)' },
  { id: 'using-tsc', case: 'uncontended', subject: 'threadsafe:using-tsc', floor: 'raw-futex', max: 2, text: '`using` compiled by tsc (ES2022) within 2× of the floor (raw futex)' },
  { id: 'contended', text: 'contended within 1.2× of the best raw lock (raw-futex / raw-adaptive)' },
  { id: 'lockAsync-100ns', text: 'lockAsync uncontended ≤ 100 ns' },
  { id: 'lockAsync-vs-async-mutex', text: 'lockAsync uncontended ≥ 10× faster than async-mutex' },
  // A goal with `case`, `floor` and `max`: threadsafe's ns/op on that case within `max`× of the floor's, same run.
  // Primitives (issue 9).
  { id: 'condvar-pingpong', case: 'condvar-pingpong', floor: 'raw-condvar', max: 1.3, text: 'Condvar ping-pong round trip within 1.3× of the raw futex condvar (same run)' },
  { id: 'rwlock-read', case: 'rwlock-read', floor: 'threadsafe:mutex', max: 1.3, text: 'uncontended RwLock read()+unlock within 1.3× of Mutex lock()+unlock' },
  { id: 'rwlock-95-5', case: 'rwlock-95-5', floor: 'raw-rwlock', max: 1.3, text: 'RwLock 95% reads / 5% writes, 2 workers, within 1.3× of the hand-written futex rwlock' },
  { id: 'semaphore', case: 'semaphore', floor: 'raw-semaphore', max: 1.3, text: 'Semaphore(1), 2 workers, within 1.3× of the hand-written CAS semaphore' },
  { id: 'barrier', case: 'barrier', floor: 'raw-barrier', max: 1.3, text: 'Barrier(2) round within 1.3× of the hand-written spin-then-park barrier' },
  // Channels (issue 11). A `max` below 1 is a speed-up: threadsafe ÷ postMessage ≤ 1/25 is "≥ 25× postMessage".
  { id: 'channel-i32', case: 'channel-i32', floor: 'sab-ring', max: 1.5, text: 'channel 1→1 i32 within 1.5× of the hand-written SAB ring (same run)' },
  { id: 'channel-i32-vs-postMessage', case: 'channel-i32', floor: 'post-message', max: 1 / 25, text: 'channel 1→1 i32 ≥ 25× postMessage (ratio ≤ 0.04×)' },
  { id: 'channel-struct', case: 'channel-struct', floor: 'post-message', max: 1 / 7, text: 'struct message ≥ 7× postMessage (ratio ≤ 0.14×)' },
  { id: 'channel-json', case: 'channel-json', floor: 'post-message', max: 1 / 1.5, text: 'json message ≥ 1.5× postMessage (ratio ≤ 0.67×)' },
  { id: 'channel-pingpong', case: 'channel-pingpong', floor: 'spin-park-pingpong', max: 1.3, text: 'rendezvous ping-pong within 1.3× of the spin-then-park floor (same run)' },
  { id: 'vs-anchors', text: 'faster than multithreading and Atomics.Mutex on every shared case' },
];
