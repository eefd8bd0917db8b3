// Registry of implementations. Modules are imported lazily so that one that cannot load on a
// runtime (multithreading on Node 20) only fails its own runs.

export const IMPLS = {
  'raw-futex': { kind: 'floor', label: 'raw futex (Drepper 3-state)', file: './raw.mjs' },
  'raw-adaptive': { kind: 'floor', label: 'raw adaptive (spin ≤100, then park)', file: './raw.mjs' },
  'raw-futex-async': { kind: 'floor', label: 'raw futex, async (waitAsync)', file: './raw.mjs' },
  'atomics-add': { kind: 'floor', label: 'Atomics.add, no lock (counter floor)', file: './raw.mjs' },
  'await-null': { kind: 'reference', label: '`await null`, no lock (reference)', file: './raw.mjs' },
  'no-lock': { kind: 'sanity', label: 'no lock, racy `c[0]++`', file: './raw.mjs' },
  'worker-threads': { kind: 'floor', label: 'raw `new Worker` + exit', file: './raw.mjs' },
  'raw-semaphore': { kind: 'floor', label: 'raw CAS semaphore (permit count + waiter count, spin ≤100, then park)', file: './raw.mjs' },
  'raw-barrier': { kind: 'floor', label: 'raw spin-then-park barrier (generation counter)', file: './raw.mjs' },
  'raw-rwlock': { kind: 'floor', label: 'raw futex rwlock (Rust std futex.rs, spin ≤100)', file: './raw.mjs' },
  'futex-pingpong': { kind: 'floor', label: 'futex sleep/wake round trip, 2 workers (floor)', file: './raw.mjs' },
  'raw-condvar': { kind: 'floor', label: 'raw Rust-std futex Mutex + Condvar port (floor)', file: './raw.mjs' },
  'raw-atomics': { kind: 'floor', label: 'bare `Atomics` calls / hand-written CAS loop / `Atomics.load(state)` + read', file: './raw-atomics.mjs' },
  'plain-field': { kind: 'reference', label: 'plain property read (a value cached by the thread)', file: './raw-atomics.mjs' },
  'sab-ring': { kind: 'floor', label: 'hand-written SAB SPSC ring (1024 slots, spin then park)', file: './channels.mjs' },
  'spin-park-pingpong': { kind: 'floor', label: 'hand-written 1-slot spin(2000)-then-park ping-pong', file: './channels.mjs' },
  'post-message': { kind: 'anchor', label: '`postMessage` (MessageChannel)', file: './channels.mjs' },
  threadsafe: { kind: 'subject', label: '**threadsafe**', file: './threadsafe.mjs' },
  multithreading: { kind: 'anchor', label: 'multithreading (npm)', file: './multithreading.mjs' },
  'atomics-mutex': { kind: 'anchor', label: 'V8 Atomics.Mutex (--harmony-struct)', file: './atomics-mutex.mjs', flags: ['--harmony-struct'] },
  'async-mutex': { kind: 'anchor', label: 'async-mutex (in-thread only)', file: './async-mutex.mjs' },
  'web-locks': { kind: 'anchor', label: 'Web Locks navigator.locks', file: './web-locks.mjs' },
};

// `threadsafe@<sha>`: the threadsafe implementation (this tree's bench/impls/threadsafe.mjs) run against
// the dist/ of another commit, built by `run.mjs --compare <ref>` under .bench-tmp/compare/<sha>/
// (lib/compare.mjs). Registered on first use, in run.mjs and in every child and worker alike.
export const COMPARE_PREFIX = 'threadsafe@';

/** The registry entry of an implementation name, registering `threadsafe@<sha>` on first use. */
export function implInfo(name) {
  if (IMPLS[name]) return IMPLS[name];
  if (name.startsWith(COMPARE_PREFIX) && /^[0-9a-f]{4,40}$/.test(name.slice(COMPARE_PREFIX.length))) {
    IMPLS[name] = { kind: 'baseline', label: `threadsafe@${name.slice(COMPARE_PREFIX.length)}`, file: './threadsafe.mjs' };
    return IMPLS[name];
  }
  return undefined;
}

const cache = new Map();

/** Returns { meta, cases } for an implementation; cases[caseName] is its handler for that case. */
export async function loadImpl(name) {
  const entry = implInfo(name);
  if (!entry) throw new Error(`unknown implementation "${name}" (known: ${Object.keys(IMPLS).join(', ')})`);
  if (!cache.has(name)) {
    const mod = await import(new URL(entry.file, import.meta.url).href);
    const impl = await mod.load(name);
    cache.set(name, { meta: entry, cases: impl });
  }
  return cache.get(name);
}
