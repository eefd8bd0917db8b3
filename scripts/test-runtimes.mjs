#!/usr/bin/env node
// `npm run test:runtimes`: the test suite on every runtime threadsafe supports besides the Node that runs `npm test`
// (Node 22, 24 and 26, Deno, Bun), then the browser run (scripts/test-browser.mjs, Chromium). Each runtime is an npm
// package that ships its binary; it is installed into .runtimes/<name>/ (git-ignored), never onto the PATH, because
// the `node@N` packages declare a bin named `node` that would shadow the Node running npm scripts.
//
//   node scripts/test-runtimes.mjs                  every runtime
//   node scripts/test-runtimes.mjs deno bun         only these
//   node scripts/test-runtimes.mjs bun --only mutex only the test files whose name contains "mutex"
//   node scripts/test-runtimes.mjs --jobs 2         two runtimes at a time
//   node scripts/test-runtimes.mjs --report-only bun  run bun, report its counts, do not fail on them
//   node scripts/test-runtimes.mjs --list           the runtimes and the exact versions they install
//   node scripts/test-runtimes.mjs --skip node22,node24=soak,rust-std-
//                                                   those runtimes leave out the files whose name contains a pattern
//
// It prints each runtime's output as it runs, then one table of pass/fail/skip counts; it exits 1 when any runtime
// failed, did not start, or printed no counts (a run that proves nothing is a failure, not a pass).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const scratch = join(root, ".runtimes");
const jobsAt = process.argv.indexOf("--jobs");
const jobs = jobsAt === -1 ? 1 : Number(process.argv.splice(jobsAt, 2)[1]);
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error("test-runtimes: --jobs takes a whole number ≥ 1");
  process.exit(2);
}
// --report-only a,b: these runtimes run and are reported, but their failures do not fail the run (runtimes with
// known failures listed in the README, "Running the tests on each runtime").
const reportAt = process.argv.indexOf("--report-only");
const reportOnly = new Set(reportAt === -1 ? [] : process.argv.splice(reportAt, 2)[1].split(","));
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt === -1 ? undefined : process.argv.splice(onlyAt, 2)[1];
// --skip a,b=p,q (repeatable): runtimes a and b leave out the test files whose name contains p or q. CI uses it to
// stay within its time budget: the long soaks and Rust-port stress files run on Node 20, 26, Deno and Bun, not on
// every Node between. Each runtime's header line says what it left out.
const skips = new Map();
for (let at = process.argv.indexOf("--skip"); at !== -1; at = process.argv.indexOf("--skip")) {
  const [runtimes, patterns] = (process.argv.splice(at, 2)[1] ?? "").split("=");
  if (!runtimes || !patterns) {
    console.error("test-runtimes: --skip takes RUNTIMES=PATTERNS, e.g. --skip node22,node24=soak,rust-std-");
    process.exit(2);
  }
  for (const runtime of runtimes.split(",")) skips.set(runtime, [...(skips.get(runtime) ?? []), ...patterns.split(",")]);
}
const allTestFiles = readdirSync(join(root, "test"))
  .filter((file) => file.endsWith(".test.ts") && (only === undefined || file.includes(only)))
  .sort()
  .map((file) => `test/${file}`);
/** The test files runtime `name` runs. */
function filesFor(name) {
  const patterns = skips.get(name) ?? [];
  return allTestFiles.filter((file) => !patterns.some((pattern) => file.includes(pattern)));
}

/** Pinned so a CI run is reproducible; bump together with the README's runtime table. */
const RUNTIMES = {
  node22: { pkg: "node@22.23.3", bin: "node" },
  node24: { pkg: "node@24.21.0", bin: "node" },
  node26: { pkg: "node@26.10.0", bin: "node" },
  deno: { pkg: "deno@2.9.6", bin: "deno" },
  bun: { pkg: "bun@1.4.5", bin: "bun" },
  chromium: { browser: true },
};

/** The commands that run the suite on a runtime, given its binary. */
function commands(name, bin) {
  const testFiles = filesFor(name);
  if (name.startsWith("node")) return [[bin, ["--import", "tsx", "--import", "./test/support/blocking-stdout.mjs", "--test", "--test-concurrency=1", "--test-force-exit", ...testFiles]]];
  // --no-check: the suite is type-checked once by `npm run typecheck`; Deno's checker would check it again with
  // TypeScript 6 and its own lib. --sloppy-imports: test files import src/*.ts through the `.js` names tsc wants.
  if (name === "deno") return [[bin, ["test", "-A", "--no-check", "--sloppy-imports", ...testFiles]]];
  // One `bun test` per file: bun runs every file of one invocation in one process, and the suite's files expect a
  // process of their own, as node --test gives them (object ids, threads and collections left by other files).
  // Bun honours node:test's per-test `timeout`; its own default of 5 s per test would cut the long ones.
  if (name === "bun") return testFiles.map((file) => [bin, ["test", "--timeout", "300000", `./${file}`]]);
  throw new Error(`no command for ${name}`);
}

/** Installs one runtime package into .runtimes/<name>/ unless that exact version is there, and returns its binary. */
function install(name, { pkg, bin }) {
  const dir = join(scratch, name);
  const binary = join(dir, "node_modules", ".bin", bin);
  const version = pkg.slice(pkg.lastIndexOf("@") + 1);
  const manifest = join(dir, "node_modules", pkg.slice(0, pkg.lastIndexOf("@")), "package.json");
  if (existsSync(binary) && existsSync(manifest)) {
    const installed = spawnSync(process.execPath, ["-p", `require(${JSON.stringify(manifest)}).version`], { encoding: "utf8" });
    if (installed.stdout.trim() === version) return binary;
  }
  console.log(`installing ${pkg} into .runtimes/${name}/`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", pkg], {
    stdio: "inherit",
    cwd: root,
  });
  if (result.status !== 0 || !existsSync(binary)) throw new Error(`could not install ${pkg} (npm exited ${result.status})`);
  return binary;
}

/** Reads pass/fail/skip counts from the summary of node:test (TAP or spec), `deno test` or `bun test`. */
export function countsOf(output) {
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  const last = (pattern) => {
    const all = [...text.matchAll(pattern)];
    return all.length === 0 ? undefined : Number(all[all.length - 1][1]);
  };
  // node:test: "# pass 330" (TAP) or "ℹ pass 330" (spec)
  const nodePass = last(/^[#ℹ] pass (\d+)$/gm);
  if (nodePass !== undefined) {
    return {
      pass: nodePass,
      fail: (last(/^[#ℹ] fail (\d+)$/gm) ?? 0) + (last(/^[#ℹ] cancelled (\d+)$/gm) ?? 0),
      skip: (last(/^[#ℹ] skipped (\d+)$/gm) ?? 0) + (last(/^[#ℹ] todo (\d+)$/gm) ?? 0),
    };
  }
  // deno test: "ok | 120 passed (6 steps) | 0 failed | 2 ignored (…)"
  const deno = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/.exec(text);
  if (deno) return { pass: Number(deno[1]), fail: Number(deno[2]), skip: Number(deno[3] ?? 0) };
  // bun test: " 118 pass", " 4 fail", " 2 skip"
  const bunPass = last(/^\s*(\d+) pass$/gm);
  if (bunPass !== undefined) return { pass: bunPass, fail: last(/^\s*(\d+) fail$/gm) ?? 0, skip: last(/^\s*(\d+) skip$/gm) ?? 0 };
  return undefined;
}

/** Runs a command, echoing its output with a prefix, and resolves with the output and exit status. */
function run(name, [bin, args], timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: root, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });
    let output = "";
    const echo = (chunk) => {
      const text = chunk.toString();
      output += text;
      process.stdout.write(text.replace(/^(?=.)/gm, `[${name}] `));
    };
    child.stdout.on("data", echo);
    child.stderr.on("data", echo);
    // Only a guard against a hung runtime: the suites have their own per-test hang guards.
    const guard = setTimeout(() => {
      output += `\n${name}: killed after ${timeoutMs / 60_000} minutes\n`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      output += `\n${name}: could not start: ${error.message}\n`;
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ output, code: code ?? (signal ? 128 : 1) });
    });
  });
}

const args = process.argv.slice(2);
if (args.includes("--list")) {
  for (const [name, spec] of Object.entries(RUNTIMES)) console.log(`${name}\t${spec.pkg ?? "Chromium (Debian package chromium), via scripts/test-browser.mjs"}`);
  process.exit(0);
}
const unknown = args.filter((name) => !(name in RUNTIMES));
if (unknown.length > 0) {
  console.error(`test-runtimes: unknown runtime ${unknown.join(", ")}; known: ${Object.keys(RUNTIMES).join(", ")}`);
  process.exit(2);
}
const chosen = args.length > 0 ? args : Object.keys(RUNTIMES);
/** Runs the suite on one runtime: installs it, runs its commands, adds up their counts. */
async function runRuntime(name) {
  const spec = RUNTIMES[name];
  console.log(`\n=== ${name}`);
  const left = allTestFiles.filter((file) => !filesFor(name).includes(file));
  if (!spec.browser && left.length > 0) console.log(`(--skip) not run on ${name}: ${left.join(", ")}`);
  const started = Date.now();
  let counts = { pass: 0, fail: 0, skip: 0 };
  let code = 0;
  try {
    const cmds = spec.browser ? [[process.execPath, [join(root, "scripts", "test-browser.mjs")]]] : commands(name, install(name, spec));
    for (const cmd of cmds) {
      const result = await run(name, cmd, 20 * 60_000);
      const found = countsOf(result.output);
      if (result.code !== 0) code = result.code;
      if (found === undefined) counts = undefined;
      else if (counts !== undefined) for (const key of Object.keys(counts)) counts[key] += found[key];
    }
  } catch (error) {
    code = 1;
    counts = undefined;
    console.log(String(error));
  }
  // A runtime that could not run at all (the browser run without Chromium) reports itself skipped, with its reason
  // printed above; anything else that passed nothing proved nothing.
  const ok = code === 0 && counts !== undefined && counts.fail === 0 && (counts.pass > 0 || counts.skip > 0);
  return { name, version: spec.pkg ?? "chromium", ok, counts, seconds: Math.round((Date.now() - started) / 1000), code };
}

// --jobs N runs N runtimes at once (their output lines carry the runtime's name). The suites' bounds only guard
// against hangs, so they hold under the extra load; CI uses 2 to stay within its budget on 2 cores.
const results = new Array(chosen.length);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, chosen.length) }, async () => {
    while (next < chosen.length) {
      const index = next++;
      results[index] = await runRuntime(chosen[index]);
    }
  }),
);

console.log("\nruntime   version          pass  fail  skip  time   result");
for (const { name, version, ok, counts, seconds, code } of results) {
  const cell = (n) => String(n ?? "-").padStart(4);
  console.log(
    `${name.padEnd(9)} ${version.padEnd(16)} ${cell(counts?.pass)}  ${cell(counts?.fail)}  ${cell(counts?.skip)}  ${`${seconds}s`.padStart(5)}  ${ok ? "ok" : counts === undefined ? `FAILED (no counts; exit ${code})` : `FAILED (exit ${code})`}`,
  );
}
const reported = results.filter((result) => !result.ok && reportOnly.has(result.name)).map((result) => result.name);
if (reported.length > 0) console.log(`reported, not gating (known failures, README "Running the tests on each runtime"): ${reported.join(", ")}`);
process.exit(results.every((result) => result.ok || reportOnly.has(result.name)) ? 0 : 1);
