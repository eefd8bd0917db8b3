// `npm run model:mutations`: removes each safeguard in a scratch copy of src/ and checks that the model checker
// then fails the scenario that needs it, printing the interleaving (test/model/README.md, "Each safeguard").
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

export const mutations = [
  {
    name: "double collect",
    file: "src/deadlock/detect.ts",
    find: "function unchanged(rt: Runtime, me: number, edges: readonly Edge[]): boolean {\n",
    replace: "function unchanged(rt: Runtime, me: number, edges: readonly Edge[]): boolean {\n  return true;\n",
    scenario: "chain-dissolves",
  },
  {
    name: "max-ticket rule",
    file: "src/deadlock/detect.ts",
    find: "    for (const edge of edges) if (edge.ticket > ticket) return undefined; // a later waiter closed it: it reports\n",
    replace: "",
    scenario: "ab-ba",
  },
  {
    name: "contended mark before sleep",
    file: "src/raw/raw-mutex.ts",
    find: "      const contended = (word & ~STATE_MASK) | CONTENDED;\n",
    replace: "      const contended = word;\n",
    scenario: "unlock-vs-sleep",
  },
  {
    name: "reaper's notify",
    file: "src/raw/raw-mutex.ts",
    find: "        Atomics.notify(rt.words, index); // every waiter: one will take it and see the poison\n",
    replace: "",
    scenario: "holder-dies",
  },
  {
    name: "generation check of the reaper's claim",
    file: "src/runtime/reap.ts",
    find: "    stateGeneration(state) === generation &&\n",
    replace: "",
    scenario: "slot-reused",
  },
  {
    name: "generation check of liveness",
    file: "src/runtime/runtime.ts",
    find: "return statusOf(state) === ThreadStatus.Alive && stateGeneration(state) === generationOf(id);",
    replace: "return statusOf(state) === ThreadStatus.Alive;",
    scenario: "slot-reused",
  },
  {
    name: "condvar waiter counted before it sleeps",
    file: "src/raw/raw-condvar.ts",
    find: "    Atomics.add(words, this.#waiters, 1);\n",
    replace: "",
    scenario: "condvar-notify-vs-wait",
  },
  {
    name: "semaphore reaper's notify",
    file: "src/raw/raw-semaphore.ts",
    find: "    Atomics.notify(rt.words, index); // every waiter: they may want different numbers of permits\n",
    replace: "",
    scenario: "semaphore-holder-dies",
  },
  {
    name: "rwlock writer preference (a waiting writer holds back new readers)",
    file: "src/raw/raw-rwlock.ts",
    find: "  return (state & MASK) < MAX_READERS && (state & WAITING) === 0;",
    replace: "  return (state & MASK) < MAX_READERS;",
    scenario: "rwlock-writer-preference",
  },
  {
    name: "rwlock reader marks itself waiting before it sleeps",
    file: "src/raw/raw-rwlock.ts",
    find: "      const waiting = state | READERS_WAITING;\n",
    replace: "      const waiting = state;\n",
    scenario: "rwlock-writer-preference",
  },
  {
    name: "channel: the senders-gone wake bumps the sequence word",
    file: "src/raw/raw-channel.ts",
    find: "  Atomics.add(words, rseq, 1);\n",
    replace: "",
    scenario: "channel-disconnect",
  },
  {
    name: "channel: the reaper of a receiver that died mid-take wakes the senders",
    file: "src/raw/raw-channel.ts",
    find: "  wakeEveryone(rt.words, base + C_RSEQ, base + C_SSEQ);\n  return false;\n}\n\nregisterKind({\n  kind: ObjectKind.ChannelReceiver,",
    replace: "  return false;\n}\n\nregisterKind({\n  kind: ObjectKind.ChannelReceiver,",
    scenario: "channel-receiver-dies",
  },
  {
    name: "channel: a slot taken by a dead receiver is freed",
    file: "src/raw/raw-channel.ts",
    find: "    if (this.takerAlive(prev)) return false; // a receiver still reading it\n",
    replace: "    return false;\n",
    scenario: "channel-receiver-dies",
  },
  {
    name: "channel: a receiver withdraws its take only after its wake",
    file: "src/raw/raw-channel.ts",
    find: "    const freed = Atomics.compareExchange(this.ring, at, expected, this.freedAfter(pos, lap2)) === expected;\n",
    replace: "    const freed = Atomics.compareExchange(this.ring, at, expected, this.freedAfter(pos, lap2)) === expected;\n    Atomics.store(this.words, this.takePosWord, 0);\n",
    scenario: "channel-receiver-dies",
  },
  {
    name: "channel: a wait is recorded only after it is counted",
    file: "src/raw/raw-channel.ts",
    find: "      Atomics.add(this.words, this.count, 1);\n      this.registered = true;\n      this.recorded = recordWait(this.rt, this.side, ONE_WAIT);\n",
    replace: "      this.recorded = recordWait(this.rt, this.side, ONE_WAIT);\n      Atomics.add(this.words, this.count, 1);\n      this.registered = true;\n",
    scenario: "channel-waiter-dies",
  },
  {
    name: "channel: a wait's record is withdrawn before its count",
    file: "src/raw/raw-channel.ts",
    find: "    if (this.registered && (!this.recorded || unrecordWait(this.rt, this.side, ONE_WAIT))) Atomics.sub(this.words, this.count, 1);\n",
    replace: "    if (this.registered) Atomics.sub(this.words, this.count, 1);\n    if (this.recorded) unrecordWait(this.rt, this.side, ONE_WAIT);\n",
    scenario: "channel-waiter-dies",
  },
  {
    name: "ring chain: the switch is a compare-and-swap",
    file: "src/raw/raw-channel.ts",
    find: "          Atomics.compareExchange(ring, this.tailAt, pos, pos + (1 << POSITION_BITS));\n          continue;\n        }\n        this.words[this.claimPosWord] = 0;",
    replace: "          Atomics.store(ring, this.tailAt, pos + (1 << POSITION_BITS));\n          continue;\n        }\n        this.words[this.claimPosWord] = 0;",
    scenario: "channel-ring-switch",
  },
  {
    name: "ring chain: the head moves to the next ring only at its first position",
    file: "src/raw/raw-channel.ts",
    find: "    return base === (pos & POSITION_MASK);\n",
    replace: "    return base >= 0;\n",
    scenario: "channel-ring-switch",
  },
  {
    name: "ring chain: a position claimed in the next ring is not a dead claim",
    file: "src/raw/raw-channel.ts",
    find: "    if (pos >>> POSITION_BITS < this.lastEpoch && this.atRingEnd(pos)) return LOOK_AGAIN;\n",
    replace: "",
    scenario: "channel-ring-switch",
  },
  {
    name: "ring chain: a dead sender's claim is skipped, in whichever ring",
    file: "src/raw/raw-channel.ts",
    find: "    if (this.claimerAlive(pos)) return NO_SKIP; // a sender still writing it\n",
    replace: "    return NO_SKIP;\n",
    scenario: "channel-ring-sender-dies",
  },
  {
    name: "generation check of dead-holder recovery",
    file: "src/runtime/reap.ts",
    find: "    if (statusOf(state) === ThreadStatus.Dead && stateGeneration(state) === generationOf(holder)) {",
    replace: "    if (statusOf(state) === ThreadStatus.Dead) {",
    scenario: "slot-reused-dying",
  },
  {
    name: "a parked transaction notices its wound",
    file: "src/parking/park.ts",
    find: "      if (interrupted?.()) throw interruptedWait;\n",
    replace: "",
    scenario: "transaction-wound",
  },
];

/**
 * The mutations whose line to change is not in the source exactly once: a line that changed makes its mutation
 * stale. Checked before any mutation runs, and by test/model-interface.test.ts on every `npm test`.
 */
export function staleMutations() {
  return mutations.filter((m) => readFileSync(join(root, m.file), "utf8").split(m.find).length !== 2);
}

// Run as a program (not imported by the test): `--check` only lists stale mutations.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const stale = staleMutations();
  for (const m of stale) console.log(`STALE   ${m.name}: the line to change is not (once) in ${m.file}`);
  if (stale.length > 0) process.exit(1);
  if (process.argv[2] === "--check") {
    console.log(`mutations: all ${mutations.length} lines to change are in the source, once each`);
    process.exit(0);
  }

  const only = process.argv[2]?.split(",");
  let wrong = 0;
  for (const m of mutations) {
    if (only && !only.includes(m.scenario) && !only.includes(m.name)) continue;
    const scratch = mkdtempSync(join(tmpdir(), "threadsafe-mutant-"));
    try {
      cpSync(join(root, "src"), join(scratch, "src"), { recursive: true });
      mkdirSync(join(scratch, "test", "model"), { recursive: true });
      cpSync(join(here, "scenarios.ts"), join(scratch, "test", "model", "scenarios.ts"));
      const path = join(scratch, m.file);
      const text = readFileSync(path, "utf8");
      if (text.split(m.find).length !== 2) throw new Error(`mutation "${m.name}": the line to change is not (once) in ${m.file}`);
      writeFileSync(path, text.replace(m.find, m.replace));
      const run = spawnSync(process.execPath, [join(here, "run.mjs"), "--root", scratch, "--out", join(scratch, "build"), "--only", m.scenario], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      const failedAsExpected = run.status === 1 && run.stdout.includes(`FAIL ${m.scenario}`);
      console.log(`${failedAsExpected ? "caught " : "MISSED "} ${m.name} (${m.file}) → ${m.scenario}`);
      console.log(run.stdout.split("\n").map((line) => `    ${line}`).join("\n"));
      if (!failedAsExpected) wrong++;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  console.log(wrong === 0 ? "mutations: every safeguard is needed by a scenario" : `mutations: ${wrong} not caught`);
  process.exit(wrong === 0 ? 0 : 1);
}
