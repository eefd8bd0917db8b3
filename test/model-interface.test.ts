// The model checker (test/model/) sees shared memory only through `Atomics`: it replaces the global in each
// simulated thread and makes every Atomics call on the runtime's words a scheduling point. A plain `words[i]`
// read or write in protocol code is invisible to it. This test keeps src/ honest: every plain indexed access to a
// word array is listed here with the reason it is not a protocol step (test/model/README.md, "The interface").
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");

/** Plain indexed accesses allowed, per file: how many, and why they are not protocol steps. */
const EXCEPTIONS: Record<string, { count: number; why: string }> = {
  "src/runtime/runtime.ts": {
    count: 11,
    why: "the header of a buffer being created (not shared yet) or attached (write-once words, checked once)",
  },
  "src/runtime/lifetime.ts": {
    count: 2,
    why: "a plain pre-filter over the reference table's holder words; every hit is read again with Atomics",
  },
  "src/raw/raw-rwlock.ts": {
    count: 8,
    why:
      "a reader's own holds word (only its thread writes it; others read it with Atomics after that thread's next " +
      "atomic step: holds-word.ts), and a plain pre-filter of T_WAIT_OBJECT in waitingWriters, read again atomically",
  },
  "src/raw/raw-semaphore.ts": { count: 2, why: "the thread's own holds word (single writer: holds-word.ts)" },
  "src/raw/raw-barrier.ts": { count: 2, why: "the thread's own holds word (single writer: holds-word.ts)" },
  "src/raw/raw-channel.ts": {
    count: 22,
    why:
      "the channel ring's header (written before the buffer is shared, then read-only), and a sender's claim and a " +
      "receiver's take announcements in its own thread record (single writer; the compare-and-swap that follows " +
      "publishes them; a withdrawal follows a compare-and-swap on the slot that a skip or reclaim reading it cannot " +
      "win: raw-channel.ts, \"Publication and freeing are compare-and-swaps\")",
  },
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

// Word arrays of the runtime and of primitives' rings. src/layout/ is excluded: it reads and writes user data
// (the value a Mutex guards), which no wait protocol reads.
const PLAIN_ACCESS = /(?<!Atomics\.\w+\()\b(?:words|wide|ring)\[[^\]]*\]/g;

test("protocol code touches shared words only through Atomics, except the listed plain accesses", () => {
  const found: Record<string, string[]> = {};
  for (const file of sources(join(root, "src"))) {
    const name = relative(root, file).replaceAll("\\", "/");
    if (name.startsWith("src/layout/")) continue;
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments
      for (const match of line.matchAll(PLAIN_ACCESS)) (found[name] ??= []).push(`${name}:${i + 1}: ${match[0]}`);
    });
  }
  for (const [name, hits] of Object.entries(found)) {
    const allowed = EXCEPTIONS[name];
    assert.ok(
      allowed !== undefined && hits.length <= allowed.count,
      `threadsafe: new plain access to shared words (use Atomics, so the model checker sees it, or list it with its ` +
        `reason in test/model-interface.test.ts and test/model/README.md):\n${hits.join("\n")}`,
    );
  }
  for (const [name, allowed] of Object.entries(EXCEPTIONS)) {
    assert.equal(found[name]?.length ?? 0, allowed.count, `${name}: the list of exceptions is out of date (${allowed.why})`);
  }
});

test("every safeguard mutation (test/model/mutations.mjs) still finds the line it changes in src/, once", async () => {
  // A line rewritten since its mutation was written makes the mutation stale: found here, not at the next
  // `npm run model:mutations`.
  const { mutations, staleMutations } = await import("./model/mutations.mjs");
  assert.ok(mutations.length >= 20, `${mutations.length} mutations`);
  assert.deepEqual(staleMutations().map((m) => `${m.name} (${m.file})`), []);
});
