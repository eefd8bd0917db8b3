#!/usr/bin/env node
// Benchmark driver. Runs every (case × implementation × runtime) N times, each run in a fresh
// process (bench/case.mjs), prints median (min–max) tables with ratios, and writes BENCHMARKS.md.
//
//   node bench/run.mjs [case ...] [--runs N] [--quick] [--impl a,b] [--runtime 20,24]
//                      [--node /path/to/node] [--timeout SECONDS] [--write | --no-write]
//                      [--out FILE] [--json FILE] [--list] [--compare GIT-REF]
//   npm run bench -- contended --runs 3
//   npm run bench -- --compare main --impl threadsafe uncontended create-drop   # this tree ÷ main, per case
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { CASES, CASE_BY_NAME, GOALS, opsFor, splitEntry } from './lib/cases.mjs';
import { IMPLS, implInfo, COMPARE_PREFIX } from './impls/index.mjs';
import { prepareCompare } from './lib/compare.mjs';
import { EXTRA_MAJORS, discoverRuntimes, ensureNode } from './lib/runtimes.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CASE_FILE = fileURLToPath(new URL('./case.mjs', import.meta.url));

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const o = { cases: [], runs: undefined, quick: false, impls: undefined, runtimes: undefined, nodes: [], timeout: 60, write: undefined, out: undefined, json: undefined, list: false, compare: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-install') o.noInstall = true;
    else if (a === '--impl') o.impls = val().split(',');
    else if (a === '--runtime') o.runtimes = val().split(',');
    else if (a === '--node') o.nodes.push(val());
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--write') o.write = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--out') o.out = val();
    else if (a === '--json') o.json = val();
    else if (a === '--list') o.list = true;
    else if (a === '--compare') o.compare.push(val());
    else if (a === '--help' || a === '-h') o.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.cases.push(a);
  }
  if (o.runs === undefined) o.runs = o.quick ? 2 : 5;
  if (!(o.runs >= 1)) throw new Error('--runs must be ≥ 1');
  for (const c of o.cases) if (!CASE_BY_NAME.has(c)) throw new Error(`unknown case "${c}" (known: ${CASES.map((x) => x.name).join(', ')})`);
  for (const i of o.impls ?? []) if (!IMPLS[i]) throw new Error(`unknown impl "${i}" (known: ${Object.keys(IMPLS).join(', ')})`);
  return o;
}

// ---------------------------------------------------------------- running one child

// Busy and total CPU time of the whole machine, in seconds (Linux /proc/stat; undefined elsewhere).
function machineCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq + steal) / 100, total: (user + nice + system + idle + iowait + irq + softirq + steal) / 100 };
  } catch {
    return undefined;
  }
}

// An impl entry is `name` or `name:variant` (lib/cases.mjs); IMPLS is keyed by name.
const baseOf = (entry) => splitEntry(entry)[0];
// `threadsafe@<sha>` (--compare) is threadsafe for --impl, for its variants and for the comparison.
const familyOf = (entry) => (baseOf(entry).startsWith(COMPARE_PREFIX) ? 'threadsafe' : baseOf(entry));
function entryLabel(caseDef, entry) {
  const [impl, variant] = splitEntry(entry);
  const label = implInfo(impl).label;
  return variant === undefined ? label : `${label}: ${caseDef.variants?.[variant] ?? variant}`;
}

function runChild(runtime, entry, caseDef, ops, timeoutS) {
  const flags = [...(implInfo(baseOf(entry)).flags ?? []), ...(caseDef.flags ?? [])];
  const caseName = caseDef.name;
  const args = [...flags, CASE_FILE, entry, caseName, '--ops', String(ops), '--timeout-ms', String(Math.max(5, timeoutS - 5) * 1000)];
  return new Promise((resolve) => {
    const t0 = Date.now();
    const cpu0 = machineCpu();
    const self0 = process.cpuUsage();
    const child = spawn(runtime.bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; if (err.length > 100_000) err = err.slice(-50_000); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: 'error', reason: `could not start ${runtime.bin}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wall = (Date.now() - t0) / 1000;
      if (timedOut) return resolve({ status: 'timeout', reason: `killed after ${timeoutS} s`, wall });
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) {
        try {
          const r = JSON.parse(line.slice('BENCH_RESULT '.length));
          // CPU that other processes used while this run went on, as % of one core over its wall time.
          const cpu1 = machineCpu();
          const self = process.cpuUsage(self0);
          if (cpu0 && cpu1 && r.cpuMs !== undefined && wall > 0) {
            // /proc/stat counts in 10 ms ticks: short runs carry ±1–2 ticks of error.
            const foreign = cpu1.busy - cpu0.busy - r.cpuMs / 1000 - (self.user + self.system) / 1e6;
            r.foreignMs = Math.max(0, foreign * 1000);
            r.foreignPct = (r.foreignMs / 1000 / wall) * 100;
          }
          return resolve({ ...r, wall });
        } catch {
          /* fall through */
        }
      }
      const lastErr = err.trim().split('\n').filter((l) => /\w/.test(l) && !/^\s+at /.test(l)).slice(-2).join(' | ');
      resolve({ status: 'error', reason: `exit ${signal ?? code}${lastErr ? `: ${lastErr}` : ''}`, wall });
    });
  });
}

// ---------------------------------------------------------------- statistics and formatting

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize(runs) {
  const ok = runs.filter((r) => r.status === 'ok');
  const correct = ok.filter((r) => r.correct);
  const failed = runs.find((r) => r.status !== 'ok');
  const s = { attempted: runs.length, okRuns: ok.length, correctRuns: correct.length, failed, runs };
  if (correct.length) {
    const ns = correct.map((r) => r.nsPerOp);
    const ms = correct.map((r) => r.totalMs);
    s.nsPerOp = median(ns);
    s.minNs = Math.min(...ns);
    s.maxNs = Math.max(...ns);
    s.totalMs = median(ms);
    s.minMs = Math.min(...ms);
    s.maxMs = Math.max(...ms);
    // Named figures besides ns/op (kind 'memory': bytes per mutex), each as median (min–max).
    const keys = [...new Set(correct.flatMap((r) => Object.keys(r.metrics ?? {})))];
    if (keys.length) {
      s.metrics = {};
      for (const k of keys) {
        const xs = correct.map((r) => r.metrics?.[k]).filter((x) => typeof x === 'number');
        s.metrics[k] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
      }
    }
  }
  const wrong = ok.filter((r) => !r.correct);
  if (wrong.length) s.wrong = wrong.map((r) => `${r.count} of ${r.expected}`);
  const foreign = ok.filter((r) => r.foreignPct !== undefined);
  if (foreign.length) s.foreign = foreign.map((r) => ({ pct: r.foreignPct, ms: r.foreignMs }));
  s.ops = ok[0]?.ops;
  s.note = ok.find((r) => r.note)?.note;
  // A run that stopped part-way and said why (create-drop: the lock table was full).
  const stopped = ok.find((r) => r.failure);
  if (stopped) s.failure = { text: stopped.failure, nsPerOp: stopped.nsPerOp, count: stopped.count, expected: stopped.expected };
  return s;
}

const fmt = (x) => {
  if (x === undefined || Number.isNaN(x)) return '–';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
};
const fmtRatio = (r) => {
  if (r === undefined || !Number.isFinite(r)) return '–';
  if (r < 0.1) return `${r.toPrecision(2)}×`;
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×`;
};

function valueCells(caseDef, s) {
  if (s.nsPerOp === undefined) return null;
  if (caseDef.kind === 'contended') {
    return [`${fmt(s.totalMs)} ms (${fmt(s.nsPerOp)} ns/op)`, `(${fmt(s.minMs)}–${fmt(s.maxMs)})`];
  }
  if (caseDef.kind === 'spawn') {
    return [`${fmt(s.nsPerOp / 1000)} µs/op`, `(${fmt(s.minNs / 1000)}–${fmt(s.maxNs / 1000)})`];
  }
  return [`${fmt(s.nsPerOp)} ns/op`, `(${fmt(s.minNs)}–${fmt(s.maxNs)})`];
}

function failureText(s) {
  const f = s.failed;
  if (!f) return undefined;
  if (f.status === 'unavailable') return `✘ ${f.reason}`;
  if (f.status === 'timeout') return `✘ timeout (${f.reason})`;
  if (f.status === 'skip') return `– skipped: ${f.reason}`;
  return `✘ error: ${f.reason}`;
}

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

// ---------------------------------------------------------------- tables

function correctCell(s) {
  let correct = s.okRuns ? `${s.correctRuns}/${s.okRuns}` : '–';
  if (s.okRuns && s.correctRuns < s.okRuns) correct += ' ✘';
  if (s.okRuns && s.attempted > s.okRuns) correct += ` (+${s.attempted - s.okRuns} failed)`;
  return correct;
}

// Columns of a memory case: bytes per mutex (see runMemory in lib/measure.mjs).
const MEMORY_COLUMNS = [
  ['sharedB', 'shared B/mutex'],
  ['heapB', 'JS heap B/mutex'],
  ['totalB', 'total B/mutex (shared + heap)'],
  ['heapUsedB', '`heapUsed` Δ B/mutex'],
  ['arrayBuffersB', '`arrayBuffers` Δ B/mutex'],
  ['externalB', '`external` Δ B/mutex'],
];

const fmtBytes = (m) => {
  if (!m) return '–';
  const one = (x) => (Math.abs(x) < 0.05 ? '0' : fmt(x));
  return m.max - m.min < 0.5 ? one(m.median) : `${one(m.median)} (${one(m.min)}–${one(m.max)})`;
};

function memoryTable(caseDef, results, runtimes) {
  const head = ['impl', 'runtime', ...MEMORY_COLUMNS.map((c) => c[1]), `total ÷ floor (${caseDef.floor})`, '`new` µs/mutex', 'correct runs'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const rt of runtimes) {
    const floor = results.get(key(caseDef.floor, rt.id));
    for (const entry of caseDef.impls) {
      const s = results.get(key(entry, rt.id));
      if (!s) continue;
      const row = [entryLabel(caseDef, entry), rt.id];
      if (s.metrics) {
        row.push(...MEMORY_COLUMNS.map(([k]) => fmtBytes(s.metrics[k])));
        const ft = floor?.metrics?.totalB?.median;
        row.push(fmtRatio(ft ? s.metrics.totalB.median / ft : undefined));
        row.push(fmt(s.nsPerOp / 1000));
      } else {
        const why = failureText(s) ?? (s.wrong ? `✘ wrong count (${s.wrong[0]})` : '–');
        row.push(why, ...MEMORY_COLUMNS.slice(1).map(() => '–'), '–', '–');
      }
      row.push(correctCell(s));
      lines.push(`| ${row.map(esc).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

// Columns of a churn case (create-drop: runChurn in lib/measure.mjs), memory in MB.
const fmtMB = (x) => (x === undefined ? '–' : x.toFixed(1));
const med = (s, k) => s.metrics?.[k]?.median;

/** Whether the second half of the cycles left memory where the first half had it (thresholds in lib/cases.mjs). */
function churnFlat(caseDef, s) {
  const rss = med(s, 'rssAfterMB') - med(s, 'rssMidMB');
  const ext = med(s, 'externalAfterMB') - med(s, 'externalMidMB');
  if (!Number.isFinite(rss) || !Number.isFinite(ext)) return undefined;
  return { rss, ext, flat: rss < caseDef.flat.rssMB && ext < caseDef.flat.externalMB };
}

function churnTable(caseDef, results, runtimes) {
  const head = ['impl', 'runtime', 'ns per create+drop', '(min–max)', `ratio to floor (${caseDef.floor})`, 'rss MB before → ½ → after', '`external` MB before → after', '`heapUsed` MB before → after', '2nd half Δ rss / external MB', 'flat?', 'GCs in loop (ms)', 'correct runs'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const rt of runtimes) {
    const floor = results.get(key(caseDef.floor, rt.id));
    for (const entry of caseDef.impls) {
      const s = results.get(key(entry, rt.id));
      if (!s) continue;
      const row = [entryLabel(caseDef, entry), rt.id];
      if (s.nsPerOp !== undefined && s.metrics) {
        const f = churnFlat(caseDef, s);
        row.push(
          `${fmt(s.nsPerOp)} ns/op`,
          `(${fmt(s.minNs)}–${fmt(s.maxNs)})`,
          fmtRatio(floor?.nsPerOp ? s.nsPerOp / floor.nsPerOp : undefined),
          `${fmtMB(med(s, 'rssBeforeMB'))} → ${fmtMB(med(s, 'rssMidMB'))} → ${fmtMB(med(s, 'rssAfterMB'))}`,
          `${fmtMB(med(s, 'externalBeforeMB'))} → ${fmtMB(med(s, 'externalAfterMB'))}`,
          `${fmtMB(med(s, 'heapUsedBeforeMB'))} → ${fmtMB(med(s, 'heapUsedAfterMB'))}`,
          f ? `${f.rss >= 0 ? '+' : ''}${fmtMB(f.rss)} / ${f.ext >= 0 ? '+' : ''}${fmtMB(f.ext)}` : '–',
          f ? (f.flat ? '✔ flat' : '✘ grows') : '–',
          `${fmt(med(s, 'gcCount'))} (${fmt(med(s, 'gcMs'))})${med(s, 'forcedGcs') ? ` + ${fmt(med(s, 'forcedGcs'))} forced, untimed` : ''}`,
        );
      } else {
        let why = failureText(s);
        if (!why && s.failure) {
          why = `✘ ${s.failure.text}${s.failure.nsPerOp !== undefined ? ` (${fmt(s.failure.nsPerOp)} ns per cycle until then)` : ''}`;
        }
        row.push(why ?? '✘ no correct run', '–', '–', '–', '–', '–', '–', '–', '–');
      }
      row.push(correctCell(s));
      lines.push(`| ${row.map(esc).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- --compare

/** The value compared between this tree and another commit, for one summary: [number, text] or undefined. */
function compareValue(caseDef, s) {
  if (!s) return undefined;
  if (caseDef.kind === 'memory') {
    const m = s.metrics?.totalB;
    return m ? { v: m.median, text: `${fmt(m.median)} B/mutex`, range: `${fmt(m.min)}–${fmt(m.max)}` } : undefined;
  }
  if (s.nsPerOp === undefined) return undefined;
  if (caseDef.kind === 'spawn') return { v: s.nsPerOp, text: `${fmt(s.nsPerOp / 1000)} µs/op`, range: `${fmt(s.minNs / 1000)}–${fmt(s.maxNs / 1000)}` };
  return { v: s.nsPerOp, text: `${fmt(s.nsPerOp)} ns/op`, range: `${fmt(s.minNs)}–${fmt(s.maxNs)}` };
}

/** Why a side has no value: its failure, or a churn run that stopped part-way. */
function whyNot(s) {
  if (!s) return 'not run';
  if (s.failure) return s.failure.text;
  return (failureText(s) ?? (s.wrong ? `wrong count (${s.wrong[0]})` : 'no correct run')).replace(/^[✘–] /, '');
}

/**
 * Pairs (this tree's entry, the other commit's) of a case: `threadsafe[:variant]` with `threadsafe@sha[:variant]`.
 * Each row: new/old of the compared value (below 1× the working tree is faster or smaller), or n/a and why.
 */
function compareRows(caseDef, results, runtimes, compares) {
  const rows = [];
  for (const c of compares) {
    for (const rt of runtimes) {
      for (const entry of caseDef.impls) {
        if (baseOf(entry) !== 'threadsafe') continue;
        const variant = splitEntry(entry)[1];
        const oldEntry = variant === undefined ? c.name : `${c.name}:${variant}`;
        const a = results.get(key(entry, rt.id));
        const b = results.get(key(oldEntry, rt.id));
        if (!a && !b) continue;
        const va = compareValue(caseDef, a);
        const vb = compareValue(caseDef, b);
        const row = { case: caseDef.name, entry: variant === undefined ? 'threadsafe' : `threadsafe:${variant}`, rt: rt.id, vs: oldEntry, a: va, b: vb };
        if (va && vb) row.ratio = va.v / vb.v;
        else row.na = !va && !vb ? `n/a (both: ${whyNot(a)})` : !va ? `n/a (this tree: ${whyNot(a)})` : `n/a (${oldEntry}: ${whyNot(b)})`;
        if (caseDef.kind === 'churn') {
          const fa = a && churnFlat(caseDef, a);
          const fb = b && churnFlat(caseDef, b);
          row.memory = `memory: this tree ${fa ? (fa.flat ? 'flat' : `grows (2nd half +${fmtMB(fa.rss)} MB rss, +${fmtMB(fa.ext)} MB external)`) : 'n/a'}, ${oldEntry} ${fb ? (fb.flat ? 'flat' : `grows (2nd half +${fmtMB(fb.rss)} MB rss, +${fmtMB(fb.ext)} MB external)`) : 'n/a'}`;
        }
        rows.push(row);
      }
    }
  }
  return rows;
}

function compareLines(rows) {
  return rows.map((r) => {
    const head = `- ${r.entry} ÷ ${r.vs} (${r.rt})`;
    const mem = r.memory ? `; ${r.memory}` : '';
    if (r.na) return `${head}: ${r.na}${mem}`;
    return `${head}: **${fmtRatio(r.ratio)}** (${r.a.text} (${r.a.range}) vs ${r.b.text} (${r.b.range}))${mem}`;
  });
}

function compareTable(rows) {
  const head = ['case', 'entry', 'runtime', 'this tree', 'other commit', 'ratio new ÷ old'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cell = (v) => (v ? `${v.text} (${v.range})` : '–');
    lines.push(`| ${[r.case, r.entry, r.rt, cell(r.a), `${r.vs}: ${cell(r.b)}`, r.na ?? `**${fmtRatio(r.ratio)}**`].map(esc).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** threadsafe's bytes against the floor and each anchor, per runtime. */
function memoryLines(caseDef, results, runtimes) {
  const out = [];
  for (const rt of runtimes) {
    const me = results.get(key('threadsafe', rt.id))?.metrics;
    if (!me) continue;
    const parts = [];
    for (const other of caseDef.impls) {
      if (other === 'threadsafe') continue;
      const m = results.get(key(other, rt.id))?.metrics;
      if (!m) continue;
      parts.push(`${other}: shared ${fmtRatio(me.sharedB.median / m.sharedB.median)}, JS heap ${fmt(me.heapB.median - m.heapB.median)} B more, total ${fmtRatio(me.totalB.median / m.totalB.median)}`);
    }
    if (parts.length) out.push(`- threadsafe vs (${rt.id}): ${parts.join('; ')}`);
  }
  out.push('- shared = bytes other threads see: SharedArrayBuffer bytes the objects use (threadsafe: its lock record + data buffer), or the growth of V8\'s shared space (Atomics.Mutex). JS heap = growth of V8\'s object spaces (not code: JIT code moves ±200 KB between readings; not shared) across 10,000 objects between full GCs (`global.gc()` ×4, `--single-threaded-gc`); each figure is the median of 3 such rounds in the run, then of the runs. `heapUsed` Δ includes the shared space and JIT code. `new` µs/mutex: time of the constructions, GC included (rough)');
  return out;
}

/** Case-specific summary lines: the check as a share of the floor, or the cost of a setting (lib/cases.mjs). */
function derivedLines(caseDef, results, runtimes) {
  const out = [];
  for (const rt of runtimes) {
    const get = (e) => results.get(key(e, rt.id));
    if (caseDef.fractionOfFloor) {
      const floor = get(caseDef.floor);
      if (floor?.nsPerOp === undefined) continue;
      const parts = caseDef.impls
        .filter((e) => e !== caseDef.floor && get(e)?.nsPerOp !== undefined)
        .map((e) => `${splitEntry(e)[1] ?? e} ${fmt(get(e).nsPerOp)} ns = ${((get(e).nsPerOp / floor.nsPerOp) * 100).toPrecision(2)}%`);
      if (parts.length) out.push(`- check ÷ one futex sleep/wake round trip (${fmt(floor.nsPerOp / 1000)} µs) (${rt.id}): ${parts.join('; ')} — ${caseDef.fractionOfFloor}`);
    }
    if (caseDef.difference) {
      const { base, with: w, what } = caseDef.difference;
      const a = get(base);
      const b = get(w);
      if (a?.nsPerOp === undefined || b?.nsPerOp === undefined) continue;
      out.push(`- ${what} (${rt.id}): ${fmt(b.nsPerOp)} − ${fmt(a.nsPerOp)} = **${b.nsPerOp >= a.nsPerOp ? '+' : ''}${fmt(b.nsPerOp - a.nsPerOp)} ns** (${fmtRatio(b.nsPerOp / a.nsPerOp)})`);
    }
  }
  return out;
}

function caseTable(caseDef, results, runtimes) {
  if (caseDef.kind === 'memory') return memoryTable(caseDef, results, runtimes);
  if (caseDef.kind === 'churn') return churnTable(caseDef, results, runtimes);
  const contended = caseDef.name === 'contended';
  const head = ['impl', 'runtime', 'median', '(min–max)', `ratio to floor (${caseDef.floor})`];
  if (contended) head.push('ratio to best raw lock');
  head.push('correct runs');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const rt of runtimes) {
    const floor = results.get(key(caseDef.floor, rt.id));
    const bestRaw = contended ? bestRawLock(caseDef, (i) => results.get(key(i, rt.id))) : undefined;
    for (const impl of caseDef.impls) {
      const s = results.get(key(impl, rt.id));
      if (!s || IMPLS[baseOf(impl)].kind === 'sanity') continue;
      const label = entryLabel(caseDef, impl);
      const cells = valueCells(caseDef, s);
      const row = [label, rt.id];
      if (cells) {
        row.push(cells[0], cells[1], fmtRatio(floor?.nsPerOp ? s.nsPerOp / floor.nsPerOp : undefined));
        if (contended) row.push(fmtRatio(bestRaw ? s.nsPerOp / bestRaw.nsPerOp : undefined));
      } else {
        const why = failureText(s) ?? (s.wrong ? `✘ wrong count (${s.wrong[0]})` : '–');
        row.push(why, '–', '–');
        if (contended) row.push('–');
      }
      row.push(correctCell(s));
      lines.push(`| ${row.map(esc).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function bestRawLock(caseDef, get) {
  let best;
  for (const impl of caseDef.bestRaw ?? []) {
    const s = get(impl);
    if (s?.nsPerOp !== undefined && (!best || s.nsPerOp < best.nsPerOp)) best = { impl, nsPerOp: s.nsPerOp };
  }
  return best;
}

const ANCHORS = Object.keys(IMPLS).filter((i) => IMPLS[i].kind === 'anchor');

/** Lines about counts: the oracle sanity row, and every implementation that lost an increment. */
function correctnessLines(caseDef, results, runtimes) {
  const out = [];
  for (const rt of runtimes) {
    for (const impl of caseDef.impls) {
      const s = results.get(key(impl, rt.id));
      if (!s) continue;
      if (IMPLS[baseOf(impl)].kind === 'sanity') {
        if (!s.okRuns) out.push(`- oracle check, ${IMPLS[impl].label} (${rt.id}): ${failureText(s) ?? 'did not run'}`);
        else out.push(`- oracle check, ${IMPLS[impl].label} (${rt.id}): wrong count in ${s.okRuns - s.correctRuns}/${s.okRuns} runs${s.wrong ? ` (${s.wrong.join(', ')})` : ''}${s.correctRuns ? '; a run can come out right when the two workers barely overlap' : ''}`);
      } else if (caseDef.kind === 'churn') {
        if (s.failure) out.push(`- ✘ ${impl} (${rt.id}) stopped: ${s.failure.text}`);
      } else if (s.wrong) {
        out.push(`- ✘ ${impl} (${rt.id}) lost mutual exclusion: wrong count in ${s.wrong.length}/${s.okRuns} runs (${s.wrong.join(', ')})`);
      }
    }
  }
  return out;
}

/** "X vs anchors" lines: ratio of X's median to each anchor's, per runtime (< 1 means X is faster). */
function anchorLines(caseDef, results, runtimes) {
  const out = [];
  if (caseDef.kind === 'memory') return memoryLines(caseDef, results, runtimes);
  for (const who of ['threadsafe', caseDef.floor]) {
    for (const rt of runtimes) {
      const me = results.get(key(who, rt.id));
      if (!me) continue;
      const parts = [];
      for (const a of ANCHORS) {
        if (!caseDef.impls.includes(a)) continue;
        const s = results.get(key(a, rt.id));
        if (!s) continue;
        if (me.nsPerOp === undefined) continue;
        if (s.nsPerOp === undefined) parts.push(`${a} ✘`);
        else parts.push(`${fmtRatio(me.nsPerOp / s.nsPerOp)} ${a}`);
      }
      if (me.nsPerOp === undefined) {
        // (a run that stopped part-way already has its line from correctnessLines)
        if (who === 'threadsafe' && !me.failure) out.push(`- threadsafe (${rt.id}): ${failureText(me) ?? 'no correct run'}`);
      } else if (parts.length) {
        out.push(`- ${who} ÷ anchor (${rt.id}): ${parts.join(', ')}`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- goals

function evaluateGoals(results, runtimes) {
  const rows = [];
  const has = (s) => s?.nsPerOp !== undefined;
  const tsMissing = (s) => (s ? (failureText(s) ?? 'no correct run').replace(/^✘ /, '') : 'not run');
  for (const g of GOALS) {
    const cells = [];
    for (const rt of runtimes) {
      let cell;
      if (g.id === 'uncontended') {
        const ts = results.get(key('threadsafe', rt.id, 'uncontended'));
        const fl = results.get(key('raw-futex', rt.id, 'uncontended'));
        if (!has(ts)) cell = `n/a (${tsMissing(ts)})`;
        else if (!has(fl)) cell = 'n/a (no floor)';
        else {
          const r = ts.nsPerOp / fl.nsPerOp;
          cell = `${r <= 1.3 ? '✔' : '✘'} ${fmtRatio(r)}`;
        }
      } else if (g.id === 'contended') {
        const ts = results.get(key('threadsafe', rt.id, 'contended'));
        const best = bestRawLock(CASE_BY_NAME.get('contended'), (i) => results.get(key(i, rt.id, 'contended')));
        if (!has(ts)) cell = `n/a (${tsMissing(ts)})`;
        else if (!best) cell = 'n/a (no raw lock result)';
        else {
          const r = ts.nsPerOp / best.nsPerOp;
          cell = `${r <= 1.2 ? '✔' : '✘'} ${fmtRatio(r)} of ${best.impl}`;
        }
      } else if (g.id === 'lockAsync-100ns') {
        const ts = results.get(key('threadsafe', rt.id, 'lockAsync'));
        if (!has(ts)) cell = `n/a (${tsMissing(ts)})`;
        else cell = `${ts.nsPerOp <= 100 ? '✔' : '✘'} ${fmt(ts.nsPerOp)} ns`;
      } else if (g.id === 'lockAsync-vs-async-mutex') {
        const ts = results.get(key('threadsafe', rt.id, 'lockAsync'));
        const am = results.get(key('async-mutex', rt.id, 'lockAsync'));
        if (!has(ts)) cell = `n/a (${tsMissing(ts)})`;
        else if (!has(am)) cell = 'n/a (async-mutex did not run)';
        else {
          const r = am.nsPerOp / ts.nsPerOp;
          cell = `${r >= 10 ? '✔' : '✘'} ${fmtRatio(r)} faster`;
        }
      } else if (g.case && g.floor && g.max) {
        // A generic goal: threadsafe (or the entry `subject`) within `max`× of a floor on one case, in the same run.
        const ts = results.get(key(g.subject ?? 'threadsafe', rt.id, g.case));
        const fl = results.get(key(g.floor, rt.id, g.case));
        if (!has(ts)) cell = `n/a (${tsMissing(ts)})`;
        else if (!has(fl)) cell = 'n/a (no floor)';
        else {
          const r = ts.nsPerOp / fl.nsPerOp;
          cell = `${r <= g.max ? '✔' : '✘'} ${fmtRatio(r)}`;
        }
      } else if (g.id === 'vs-anchors') {
        const losses = [];
        let compared = 0;
        for (const c of CASES) {
          if (c.placeholder || c.kind === 'memory') continue; // a speed goal: bytes are not compared here
          const ts = results.get(key('threadsafe', rt.id, c.name));
          if (!has(ts)) continue;
          for (const a of ['multithreading', 'atomics-mutex']) {
            const s = results.get(key(a, rt.id, c.name));
            if (!has(s)) continue;
            compared++;
            if (ts.nsPerOp >= s.nsPerOp) losses.push(`${c.name} vs ${a} ${fmtRatio(ts.nsPerOp / s.nsPerOp)}`);
          }
        }
        if (!compared) cell = 'n/a (nothing to compare)';
        else cell = losses.length ? `✘ slower: ${losses.join('; ')}` : `✔ faster in ${compared}/${compared}`;
      }
      cells.push(cell);
    }
    rows.push({ goal: g.text, cells });
  }
  return rows;
}

function goalsTable(rows, runtimes) {
  const head = ['goal', ...runtimes.map((r) => r.id)];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${[r.goal, ...r.cells].map(esc).join(' | ')} |`),
  ].join('\n');
}

// ---------------------------------------------------------------- bookkeeping

// Result keys: impl@runtime while a case runs (per-case map), impl@runtime@case in the global map.
const key = (impl, rt, caseName) => (caseName ? `${impl}@${rt}@${caseName}` : `${impl}@${rt}`);

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function gitHead() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model?.trim() ?? 'unknown',
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

// ---------------------------------------------------------------- main

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${e.message}`);
    process.exit(2);
  }
  if (o.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 9).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    return;
  }
  if (o.list) {
    for (const c of CASES) console.log(`${c.name.padEnd(20)} ${c.placeholder ? '(not yet built) ' : ''}${c.title}${c.impls ? `\n${' '.repeat(21)}impls: ${c.impls.join(', ')}` : ''}`);
    return;
  }

  const started = new Date();
  const t0 = Date.now();
  for (const major of EXTRA_MAJORS) {
    if (!o.noInstall && (!o.runtimes || o.runtimes.some((w) => w.startsWith(String(major)) || w === `node${major}`))) ensureNode(major);
  }
  const { runtimes: allRuntimes, notes } = discoverRuntimes(o.nodes);
  const runtimes = o.runtimes
    ? allRuntimes.filter((r) => o.runtimes.some((w) => w === r.id || w === String(r.major) || w === r.version || (w === 'current' && r.bin === process.execPath)))
    : allRuntimes;
  if (!runtimes.length) {
    console.error(`bench: no runtime matches --runtime ${o.runtimes}; found ${allRuntimes.map((r) => r.id).join(', ')}`);
    process.exit(2);
  }
  if (!allRuntimes.some((r) => r.major > Math.min(...allRuntimes.map((x) => x.major)))) {
    notes.push(`Only one Node version available (${allRuntimes.map((r) => r.version).join(', ')}): no newer-Node column.`);
  }
  // --compare REF: that commit's library as implementation threadsafe@<sha>, next to every threadsafe entry.
  const compares = [];
  const compareNotes = [];
  for (const ref of o.compare) {
    const c = prepareCompare(ref, (l) => process.stdout.write(`${l}\n`));
    if (c.error) {
      compareNotes.push(`--compare ${ref}: ${c.error}; not compared`);
      continue;
    }
    if (compares.some((x) => x.sha === c.sha)) continue;
    implInfo(c.name); // registers threadsafe@<sha> in IMPLS
    compares.push(c);
    compareNotes.push(`--compare ${ref}: ${c.name} = ${c.sha} "${c.subject}" (${c.cached ? 'cached build' : `built in ${(c.ms / 1000).toFixed(0)} s`}, .bench-tmp/compare/${c.sha})`);
  }
  if (o.compare.length && !compares.length) {
    for (const n of compareNotes) console.error(`bench: ${n}`);
    process.exit(2);
  }
  const withCompare = (caseDef) => {
    if (!compares.length) return caseDef;
    const impls = [];
    for (const e of caseDef.impls) {
      impls.push(e);
      const [base, variant] = splitEntry(e);
      if (base === 'threadsafe') for (const c of compares) impls.push(variant === undefined ? c.name : `${c.name}:${variant}`);
    }
    return { ...caseDef, impls };
  };
  const selected = (o.cases.length ? o.cases.map((c) => CASE_BY_NAME.get(c)) : CASES).map(withCompare);
  const full = !o.cases.length && !o.impls && !o.runtimes && !o.quick && !compares.length;
  const write = o.write ?? full;
  const outFile = o.out ?? (write ? join(ROOT, 'BENCHMARKS.md') : join(ROOT, '.bench-tmp', 'BENCHMARKS.partial.md'));

  const machine = machineInfo();
  const loadBefore = loadavg();
  const log = (s = '') => process.stdout.write(`${s}\n`);
  log(`threadsafe bench — ${started.toISOString()}`);
  log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memGiB} GiB, ${machine.kernel}; load average ${loadBefore}`);
  for (const r of runtimes) log(`runtime ${r.id}: Node ${r.version} (V8 ${r.v8}) — ${r.bin} [${r.source}]`);
  for (const n of notes) log(`note: ${n}`);
  for (const n of compareNotes) log(`compare: ${n}`);
  if (compares.length) log('compare: the working tree\'s library is dist/ as it stands (npm run bench rebuilds it; node bench/run.mjs does not)');
  log(`runs per case: ${o.runs}${o.quick ? ' (quick: fewer ops)' : ''}; per-run time bound ${o.timeout} s\n`);

  const all = new Map(); // impl@rt@case → summary
  const allCompareRows = [];
  const allForeign = [];
  const sections = [];
  for (const caseDef of selected) {
    log(`## ${caseDef.name}: ${caseDef.title ?? ''}`);
    if (caseDef.placeholder) {
      log('   skipped: not yet built\n');
      sections.push({ caseDef });
      continue;
    }
    // A filtered run still measures what its ratios need: the floor and the raw locks.
    const impls = caseDef.impls.filter((i) => !o.impls || o.impls.includes(familyOf(i)) || i === caseDef.floor || caseDef.bestRaw?.includes(i));
    const raw = new Map(); // impl@rt → [run results]
    const stopped = new Set();
    for (let r = 1; r <= o.runs; r++) {
      for (const rt of runtimes) {
        // With --compare, every other round runs the entries in reverse order, so that neither side of a
        // comparison always runs right after the other.
        for (const impl of compares.length && r % 2 === 0 ? [...impls].reverse() : impls) {
          const k = key(impl, rt.id);
          if (stopped.has(k)) continue;
          const ops = opsFor(caseDef, impl, o.quick);
          const res = await runChild(rt, impl, caseDef, ops, o.timeout);
          if (!raw.has(k)) raw.set(k, []);
          raw.get(k).push(res);
          // Unavailable, error or timeout: the next runs would say the same; do not repeat them.
          if (res.status !== 'ok') stopped.add(k);
          const what =
            res.status === 'ok' && caseDef.kind === 'churn'
              ? res.failure
                ? `✘ ${res.failure}`
                : `${fmt(res.nsPerOp)} ns/op; rss ${fmtMB(res.metrics.rssBeforeMB)} → ${fmtMB(res.metrics.rssMidMB)} → ${fmtMB(res.metrics.rssAfterMB)} MB, external ${fmtMB(res.metrics.externalBeforeMB)} → ${fmtMB(res.metrics.externalAfterMB)} MB, ${res.metrics.gcCount} GCs${res.correct ? '' : ' ✘ check failed'}`
              : res.status === 'ok' && caseDef.kind === 'memory'
              ? `${Object.entries(res.metrics ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}${res.correct ? '' : ` ✘ WRONG COUNT ${res.count}/${res.expected}`}`
              : res.status === 'ok'
              ? `${caseDef.kind === 'spawn' ? `${fmt(res.nsPerOp / 1000)} µs/op` : `${fmt(res.nsPerOp)} ns/op`}${caseDef.kind === 'contended' ? ` (${fmt(res.totalMs)} ms)` : ''}${res.correct ? '' : ` ✘ WRONG COUNT ${res.count}/${res.expected}`}`
              : `${res.status}: ${res.reason}`;
          process.stderr.write(`   [${caseDef.name} ${r}/${o.runs}] ${rt.id} ${impl}: ${what}\n`);
        }
      }
    }
    const results = new Map();
    for (const [k, runs] of raw) {
      const s = summarize(runs);
      results.set(k, s);
      all.set(`${k}@${caseDef.name}`, s);
    }
    const table = caseTable(caseDef, results, runtimes);
    const cmpRows = compareRows(caseDef, results, runtimes, compares);
    allCompareRows.push(...cmpRows);
    const extra = [...compareLines(cmpRows), ...correctnessLines(caseDef, results, runtimes), ...derivedLines(caseDef, results, runtimes), ...anchorLines(caseDef, results, runtimes)];
    const foreign = [...results.values()].flatMap((x) => x.foreign ?? []);
    if (foreign.length) {
      const pcts = foreign.map((f) => f.pct);
      const noisy = foreign.filter((f) => f.pct > 10 && f.ms > 50).length;
      extra.push(`- CPU used by other processes during these runs: median ${fmt(median(pcts))}% of a core, max ${fmt(Math.max(...pcts))}%; ${noisy}/${foreign.length} runs above 10% (and 50 ms): those numbers carry noise`);
      allForeign.push(...foreign);
    }
    const opsNotes = [];
    for (const impl of impls) {
      const ops = opsFor(caseDef, impl, o.quick);
      const base = o.quick ? caseDef.quickOps : caseDef.ops;
      if (ops !== base) opsNotes.push(`${impl} runs ${ops.toLocaleString('en-US')} ops${caseDef.kind === 'contended' ? ' per worker' : ''} (others ${base.toLocaleString('en-US')})`);
    }
    const implNotes = [];
    for (const impl of impls) {
      const n = runtimes.map((rt) => results.get(key(impl, rt.id))?.note).find(Boolean);
      if (n) implNotes.push(`${impl}: ${n}`);
    }
    log(`\n${table}\n`);
    for (const l of extra) log(l);
    log(`- Rust (external reference, not run): ${caseDef.rust}\n`);
    sections.push({ caseDef, table, extra, opsNotes, implNotes });
  }

  const goals = evaluateGoals(all, runtimes);
  const goalsMd = goalsTable(goals, runtimes);
  log('## Goals (from the issue)\n');
  log(goalsMd);
  const compareMd = compares.length ? compareTable(allCompareRows) : undefined;
  if (compareMd) {
    log(`\n## Compare: this tree ÷ ${compares.map((c) => c.name).join(', ')} (below 1× this tree is faster)\n`);
    log(compareMd);
  }
  const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
  const loadAfter = loadavg();
  log(`\ndone in ${elapsed} s; load average ${loadAfter}`);

  // ------------------------------------------------------------ BENCHMARKS.md
  const md = [];
  md.push('# Benchmarks');
  md.push('');
  md.push(`Generated by \`node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\` (\`npm run bench\`) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${gitHead() ? `, commit ${gitHead()}` : ''}; took ${elapsed} s. Every number is the **median of ${o.runs} runs**, each in a fresh process, with (min–max); only runs whose final count was right are timed. Ratios compare medians on the same runtime (ns per op; below 1× is faster).`);
  md.push('');
  md.push('## Machine');
  md.push('');
  md.push(`- CPU: ${machine.cpus} × ${machine.model}; memory ${machine.memGiB} GiB; ${machine.kernel}`);
  md.push(`- load average (1, 5, 15 min): ${loadBefore} before, ${loadAfter} after — this VM is shared, so expect ±30% between runs of the contended cases`);
  if (allForeign.length) {
    const noisy = allForeign.filter((f) => f.pct > 10 && f.ms > 50).length;
    md.push(`- CPU used by other processes while runs went on (from /proc/stat less the run's own CPU): median ${fmt(median(allForeign.map((f) => f.pct)))}% of a core; ${noisy} of ${allForeign.length} runs above 10%`);
  }
  for (const r of runtimes) md.push(`- ${r.id}: Node ${r.version}, V8 ${r.v8} (${r.source})`);
  const av = ['multithreading', 'async-mutex'].map((p) => `${p} ${pkgVersion(p) ?? 'not installed'}`).join(', ');
  md.push(`- anchors from npm: ${av}; V8 \`Atomics.Mutex\` runs under \`--harmony-struct\`; Web Locks where the runtime has \`navigator.locks\``);
  for (const n of notes) md.push(`- note: ${n}`);
  for (const n of compareNotes) md.push(`- compare: ${n}`);
  md.push('');
  md.push('## Goals (from the issue)');
  md.push('');
  md.push(goalsMd);
  md.push('');
  if (compareMd) {
    md.push(`## Compare: this tree ÷ ${compares.map((c) => `${c.name} (${c.ref}: ${c.subject})`).join(', ')}`);
    md.push('');
    md.push('Ratios of medians, this tree\'s library (dist/) ÷ the other commit\'s, both measured by this tree\'s cases in the same run, interleaved (every other round in reverse order), each run a fresh process; below 1× this tree is faster (or, for bytes-per-mutex, smaller). n/a: one side has no correct run, or the other commit lacks the API the case needs.');
    md.push('');
    md.push(compareMd);
    md.push('');
  }
  md.push('## Method');
  md.push('');
  md.push('- Single-thread cases: warm-up of W = min(200k, N/4) operations (a multiple of 100), then N timed operations, `process.hrtime`; ns per operation. The counter is checked afterwards (W + N).');
  md.push('- Contended cases: 2 `worker_threads` (multithreading uses its own pool), each runs N × (lock; non-atomic `c[0]++`; unlock). Workers announce ready and block on an `Atomics` start flag, run W warm-up operations together (untimed), then block on a second flag; time runs from setting that flag until the last worker stamps its end, so worker start-up and warm-up are excluded. ns/op = total ÷ 2N. A run whose final count is not 2(W + N) is reported as incorrect and not timed.');
  md.push('- Floors are written in `bench/lib/rawlocks.mjs`: a 3-state (Drepper) futex mutex over one Int32 (CAS 0→1; unlock: `Atomics.sub`, if it did not return 1 then store 0 and notify one), the same with ≤100 spins before parking (`raw-adaptive`), a `waitAsync` variant, and `Atomics.add` as the counter floor.');
  md.push('- `deadlock-2`, `deadlock-8`: a wait-for cycle of N threads built by hand in one process (internals: `Runtime.create`, `allocateThread`, `allocateLock`, lock words set to `(id << 3) | 1`, threads 1..N-1 published as waiting); one op is what the closing thread does before it would sleep: `publishWait` + `findDeadlock` (walk + double-collect validation) + `unpublishWait`, which must return the N-thread cycle every time (counted). The `no-cycle` variant waits for a lock whose owner is running (the common case). The floor is one futex sleep/wake round trip between two workers (`Atomics.wait`/`notify` ping-pong, no spinning).');
  md.push('- `lock-order`: hold A, then lock/unlock B with plain `lock()`; the same loop under `configure({ lockOrder: "off" })` and `"warn"`, each in its own processes (an entry `threadsafe:warn` is a variant of the implementation). Afterwards B → A is taken once: "warn" must report exactly one inversion, "off" none, or the run fails.');
  md.push('- `bytes-per-mutex` (`--expose-gc --single-threaded-gc`): 100 warm-up objects, then 3 rounds of 10,000 into preallocated arrays between full GCs, all kept alive, median of the rounds; shared bytes are counted from the objects (threadsafe: lock record + data buffer; Atomics.Mutex: growth of V8\'s shared space), JS heap is the growth of V8\'s object spaces (code and shared spaces left out).');
  md.push('- Rust figures are quoted from `shared/reference/rust-std-sync.md` §2.2 (same 2-vCPU machine, release build); they are an external reference and are not run by this suite.');
  md.push('');
  for (const s of sections) {
    md.push(`## \`${s.caseDef.name}\` — ${s.caseDef.title}`);
    md.push('');
    if (s.caseDef.placeholder) {
      md.push('Skipped: not yet built.');
      md.push('');
      continue;
    }
    md.push(s.table);
    md.push('');
    for (const l of s.extra) md.push(l);
    md.push(`- Rust (external reference, not run): ${s.caseDef.rust}`);
    for (const n of s.opsNotes) md.push(`- ops: ${n}`);
    for (const n of s.implNotes) md.push(`- ${n}`);
    md.push('');
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, md.join('\n'));
  log(`wrote ${relative(process.cwd(), outFile) || outFile}${write ? '' : ' (partial or quick run: BENCHMARKS.md left alone; pass --write to replace it)'}`);
  if (o.json) {
    const json = { started: started.toISOString(), machine, runtimes, notes, results: Object.fromEntries(all) };
    writeFileSync(o.json, JSON.stringify(json, null, 2));
    log(`wrote ${o.json}`);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
