// `npm run model`: bundles the scenarios with the real src/ modules (esbuild, as dist/ is built), then explores
// every scenario's interleavings within its preemption bound and prints how many each explored.
// Options: --only <name,...>  --bound <n>  --budget <n>  --jobs <n>  --replay <name> <choice,choice,...>
// --jobs n explores n scenarios at a time, each in a child process of its own (a scenario's search is one thread
// of scheduling: the scheduler and the one simulated thread it lets run take turns on one core). Each scenario's
// report is printed whole, when it ends.
import { build } from "esbuild";
import { fork } from "node:child_process";
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
// A child of --jobs imports the bundle its parent built.
if (option("--child") === undefined) await build({
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

/** Explores one scenario; returns its report (the lines to print) and whether it held. `log` gets the progress. */
async function check(scenario, log) {
  const lines = [];
  const bound = option("--bound") !== undefined ? Number(option("--bound")) : scenario.preemptions;
  const budget = option("--budget") !== undefined ? Number(option("--budget")) : (scenario.budget ?? 4000);
  const t0 = Date.now();
  const result = await explore(lib, scenario, bundle, { bound, budget, log });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (result.violation) {
    lines.push(`FAIL ${scenario.name}: ${result.violation}`);
    lines.push(`  after ${result.explored} interleavings (searching preemption bound ${result.bound}, ${seconds} s). The failing interleaving:`);
    lines.push(result.trace);
    if (result.replayed !== result.violation) lines.push(`  (the replay ended with: ${result.replayed ?? "no violation"})`);
    lines.push(`  replay: node test/model/run.mjs --replay ${scenario.name} ${result.schedule.join(",")}`);
  } else {
    lines.push(
      `ok   ${scenario.name}: ${result.explored} interleavings explored, ` +
        (result.complete
          ? `all within preemption bound ${bound}`
          : `all within bound ${result.completeBound}, then the budget ran out at bound ${bound}`) +
        ` (${seconds} s)`,
    );
  }
  return { lines, held: !result.violation };
}

// A child of --jobs: explores the scenarios its parent sends, one at a time, and answers with each report.
if (option("--child") !== undefined) {
  process.on("message", async (name) => {
    try {
      process.send(await check(lib.scenarios.find((s) => s.name === name), () => {}));
    } catch (error) {
      process.send({ lines: [`FAIL ${name}: the checker threw ${error?.stack ?? error}`], held: false });
    }
  });
  // Simulated threads that failed to start may still wait for a grant: nothing else would end this process.
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

async function main() {
  const started = Date.now();
  const chosen = lib.scenarios.filter((scenario) => !only || only.includes(scenario.name));
  const asked = Number(option("--jobs") ?? 1);
  if (!Number.isInteger(asked) || asked < 1) {
    console.error(`model: --jobs takes a number of scenarios to explore at a time (1 or more), got ${option("--jobs")}`);
    process.exit(2);
  }
  const jobs = Math.min(asked, chosen.length);
  let failed = 0;
  if (jobs === 1) {
    for (const scenario of chosen) {
      const { lines, held } = await check(scenario, (line) => console.log(line));
      for (const line of lines) console.log(line);
      if (!held) failed++;
    }
  } else {
    // The largest budgets first, so that the longest searches do not start last.
    const queue = [...chosen].sort((a, b) => (b.budget ?? 4000) - (a.budget ?? 4000)).map((s) => s.name);
    const passOn = args.filter((arg, i) => arg !== "--jobs" && args[i - 1] !== "--jobs");
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        const child = fork(fileURLToPath(import.meta.url), [...passOn, "--child", "1"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
        child.on("error", () => {}); // a send to a child that died: its exit says so
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          if (!child.connected) {
            queue.unshift(name); // died between two scenarios: another child takes this one
            return;
          }
          const answered = new Promise((resolve) => child.once("message", resolve));
          child.send(name);
          const report = await Promise.race([
            answered,
            exited.then((how) => ({ lines: [`FAIL ${name}: its child process exited (${how})`], held: false, lost: true })),
          ]);
          for (const line of report.lines) console.log(line);
          if (!report.held) failed++;
          if (report.lost) return; // the other children take the rest of the queue
        }
        child.disconnect();
        await exited;
      }),
    );
    for (const name of queue) {
      console.log(`FAIL ${name}: not explored (every child process exited)`);
      failed++;
    }
  }
  console.log(`${failed === 0 ? "model: all scenarios hold" : `model: ${failed} scenario(s) failed`} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed === 0 ? 0 : 1);
}
