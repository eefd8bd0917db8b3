#!/usr/bin/env node
// Long soak of the Mutex: `npm run soak -- --minutes 10` (default 1 minute). Same scenario as test/soak.test.ts
// (test/support/soak-scenario.mjs), for longer. Options: --minutes N, --workers N, --mutexes N, --seed N.
// Exits 1 when any accounting check failed.
import { parseArgs } from "node:util";
import { formatSoak, runSoak } from "../test/support/soak-scenario.mjs";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    workers: { type: "string", default: "8" },
    mutexes: { type: "string", default: "4" },
    seed: { type: "string" },
  },
});
const number = (name, min) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min) {
    console.error(`soak: --${name} must be a number ≥ ${min}, got ${values[name]}`);
    process.exit(2);
  }
  return n;
};
const minutes = number("minutes", 0);
const result = await runSoak({
  durationMs: minutes * 60_000,
  workers: Math.floor(number("workers", 1)),
  mutexes: Math.floor(number("mutexes", 2)),
  seed: values.seed === undefined ? undefined : number("seed", 0) >>> 0,
  log: (line) => console.log(line),
});
console.log(formatSoak(result));
process.exitCode = result.ok ? 0 : 1;
