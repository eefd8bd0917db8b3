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
    impls: ['raw-futex', 'raw-adaptive', 'atomics-add', 'threadsafe', 'multithreading', 'atomics-mutex'],
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
  { name: 'deadlock-2', title: 'Deadlock check cost, 2-thread cycle', placeholder: true },
  { name: 'deadlock-8', title: 'Deadlock check cost, 8-thread cycle', placeholder: true },
  { name: 'lock-order', title: 'Lock-order (lockdep) check cost per acquisition', placeholder: true },
  { name: 'bytes-per-mutex', title: 'Bytes of shared memory per Mutex', placeholder: true },
];

export const CASE_BY_NAME = new Map(CASES.map((c) => [c.name, c]));

// Some implementations are far slower than the floor; they run fewer operations (ns/op stays comparable).
export const OPS_CAP = {
  'web-locks': { lockAsync: 50_000, 'lockAsync-contended': 50_000 },
  // ~10 µs per op on Node 24: 2 × 1M would take ~20 s per run.
  'atomics-mutex': { 'lockAsync-contended': 100_000 },
};

export const QUICK_OPS_CAP = {
  'web-locks': { lockAsync: 5_000, 'lockAsync-contended': 5_000 },
  'atomics-mutex': { 'lockAsync-contended': 10_000 },
};

export function opsFor(caseDef, impl, quick) {
  const base = quick ? caseDef.quickOps : caseDef.ops;
  const cap = (quick ? QUICK_OPS_CAP : OPS_CAP)[impl]?.[caseDef.name];
  return cap !== undefined ? Math.min(cap, base) : base;
}

export const GOALS = [
  { id: 'uncontended', text: 'uncontended lock+unlock within 1.3× of the floor (raw futex)' },
  { id: 'contended', text: 'contended within 1.2× of the best raw lock (raw-futex / raw-adaptive)' },
  { id: 'lockAsync-100ns', text: 'lockAsync uncontended ≤ 100 ns' },
  { id: 'lockAsync-vs-async-mutex', text: 'lockAsync uncontended ≥ 10× faster than async-mutex' },
  { id: 'vs-anchors', text: 'faster than multithreading and Atomics.Mutex on every shared case' },
];
