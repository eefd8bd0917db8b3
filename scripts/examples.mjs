// `npm run examples`: runs every program in examples/ one after another (each checks its own result and exits
// non-zero when it is wrong), and says which failed. `npm start` runs the two short ones of the Rust book's chapter.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const dir = new URL("../examples/", import.meta.url);
const only = process.argv.slice(2);
const failed = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
  if (only.length > 0 && !only.some((name) => file.startsWith(name))) continue;
  console.log(`\n=== examples/${file}`);
  const run = spawnSync(process.execPath, ["--import", "tsx", new URL(file, dir).pathname], { stdio: "inherit", timeout: 300_000 });
  if (run.status !== 0) failed.push(`${file} (${run.signal ?? `exit ${run.status}`})`);
}
console.log(failed.length === 0 ? "\nall examples ran and checked their results" : `\nfailed: ${failed.join(", ")}`);
process.exit(failed.length === 0 ? 0 : 1);
