#!/usr/bin/env node
// One run of one case for one implementation, in this process:
//   node bench/case.mjs <impl>[:<variant>] <case> [--ops N] [--timeout-ms MS]
// Prints exactly one line `BENCH_RESULT {json}` on stdout and exits. bench/run.mjs starts this
// file in a fresh process for every run.
import { loadImpl } from './impls/index.mjs';
import { CASE_BY_NAME, splitEntry } from './lib/cases.mjs';
import { runSingle, runContended, runSpawn, runMemory, runChurn } from './lib/measure.mjs';

const args = process.argv.slice(2);
const [entry, caseName] = args;
// "threadsafe:warn": implementation threadsafe, variant "warn" (see `variants` in lib/cases.mjs).
const [implName, variant] = entry ? splitEntry(entry) : [];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

function emit(result) {
  // CPU time of this whole process (every thread): lets run.mjs tell how much else the machine did.
  const cpu = process.cpuUsage();
  const out = { ...result, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`, () => process.exit(0));
}

function describe(e) {
  if (!e) return 'unknown error';
  return e.name && e.message ? `${e.name}: ${e.message}` : String(e);
}

async function main() {
  const caseDef = CASE_BY_NAME.get(caseName);
  if (!implName || !caseDef) {
    console.error('usage: node bench/case.mjs <impl>[:<variant>] <case> [--ops N]');
    process.exit(2);
  }
  if (caseDef.placeholder) return emit({ status: 'skip', reason: 'not yet built' });
  const ops = Number(opt('--ops', caseDef.ops));
  const timeoutMs = Number(opt('--timeout-ms', 50_000));

  let impl;
  try {
    impl = await loadImpl(implName);
  } catch (e) {
    return emit({ status: 'unavailable', reason: e?.name === 'Unavailable' ? e.message : describe(e) });
  }
  const handler = impl.cases[caseName];
  if (!handler) return emit({ status: 'unavailable', reason: `no ${caseName} for ${implName}` });
  if (variant !== undefined && !caseDef.variants?.[variant]) {
    return emit({ status: 'error', reason: `case ${caseName} has no variant "${variant}"` });
  }
  const ctx = { variant, caseDef };

  try {
    let r;
    if (handler.run) r = await handler.run(ops, { timeoutMs, ...ctx });
    else if (caseDef.kind === 'single') r = await runSingle(handler, ops, ctx);
    else if (caseDef.kind === 'contended') r = await runContended(implName, caseName, handler, ops, { timeoutMs, threads: caseDef.threads ?? 2 });
    else if (caseDef.kind === 'spawn') r = await runSpawn(handler, ops, ctx);
    else if (caseDef.kind === 'memory') r = await runMemory(handler, ops, ctx);
    else if (caseDef.kind === 'churn') r = await runChurn(handler, ops, ctx);
    else throw new Error(`unknown case kind ${caseDef.kind}`);
    emit({ status: 'ok', ...r });
  } catch (e) {
    if (e?.name === 'Unavailable') emit({ status: 'unavailable', reason: e.message });
    else emit({ status: 'error', reason: describe(e), stack: e?.stack });
  }
}

main().catch((e) => emit({ status: 'error', reason: describe(e), stack: e?.stack }));
