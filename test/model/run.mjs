// `npm run model`: bundles the scenarios with the real src/ modules (esbuild, as dist/ is built), then explores
// every scenario's interleavings within its preemption bound and prints how many each explored.
// Options: --only <name,...>  --bound <n>  --budget <n>  --replay <name> <choice,choice,...>
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { explore, replay } from "./checker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = option("--root") ?? join(here, "..", "..");
const outDir = join(option("--out") ?? join(here, ".build"));
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, "scenarios.js");
await build({
  entryPoints: [join(root, "test", "model", "scenarios.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "neutral",
  external: ["node:*"],
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});
const bundle = pathToFileURL(outfile).href;
const lib = await import(bundle);

const only = option("--only")?.split(",");
const replayName = option("--replay");
if (replayName) {
  const scenario = lib.scenarios.find((s) => s.name === replayName);
  const schedule = (args[args.indexOf("--replay") + 2] ?? "").split(",").filter(Boolean).map(Number);
  const result = await replay(lib, scenario, bundle, schedule);
  console.log(result.trace);
  console.log(result.violation ? `violation: ${result.violation}` : "no violation");
  process.exit(result.violation ? 1 : 0);
}

let failed = 0;
const started = Date.now();
for (const scenario of lib.scenarios) {
  if (only && !only.includes(scenario.name)) continue;
  const bound = option("--bound") !== undefined ? Number(option("--bound")) : scenario.preemptions;
  const budget = option("--budget") !== undefined ? Number(option("--budget")) : (scenario.budget ?? 4000);
  const t0 = Date.now();
  const result = await explore(lib, scenario, bundle, { bound, budget, log: (line) => console.log(line) });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (result.violation) {
    failed++;
    console.log(`FAIL ${scenario.name}: ${result.violation}`);
    console.log(`  after ${result.explored} interleavings (searching preemption bound ${result.bound}, ${seconds} s). The failing interleaving:`);
    console.log(result.trace);
    if (result.replayed !== result.violation) console.log(`  (the replay ended with: ${result.replayed ?? "no violation"})`);
    console.log(`  replay: node test/model/run.mjs --replay ${scenario.name} ${result.schedule.join(",")}`);
  } else {
    console.log(
      `ok   ${scenario.name}: ${result.explored} interleavings explored, ` +
        (result.complete
          ? `all within preemption bound ${bound}`
          : `all within bound ${result.completeBound}, then the budget ran out at bound ${bound}`) +
        ` (${seconds} s)`,
    );
  }
}
console.log(`${failed === 0 ? "model: all scenarios hold" : `model: ${failed} scenario(s) failed`} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed === 0 ? 0 : 1);
