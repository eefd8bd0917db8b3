// The folders of src/ are the architecture (README, "How the code is laid out"): a file may import only from its
// own room and the rooms below it, nothing imports in a cycle, and only src/platform/ names the runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/", import.meta.url));

/** What each room may import besides itself. */
const allowed: Record<string, readonly string[]> = {
  errors: [],
  platform: ["errors"],
  layout: [],
  runtime: ["platform", "errors"],
  deadlock: ["runtime", "platform", "errors"],
  parking: ["deadlock", "runtime", "platform", "errors"],
  raw: ["parking", "deadlock", "runtime", "platform", "errors"],
  sync: ["raw", "parking", "layout", "deadlock", "runtime", "platform", "errors"],
  thread: ["sync", "raw", "parking", "layout", "deadlock", "runtime", "platform", "errors"],
  // threadsafe/postgres, a subpath beside the core: public-level modules only (see the test below for sync/).
  postgres: ["layout", "sync", "errors"],
};

/** What src/postgres/ may take from sync/: argument checks, nothing that touches the runtime buffer. */
const postgresFromSync = ["sync/options.ts"];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

function roomOf(file: string): string {
  return relative(src, file).split("/")[0]!.replace(/\.ts$/, "");
}

interface Import {
  readonly target: string;
  readonly typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const found: Import[] = [];
  for (const match of text.matchAll(/^(import|export)(\s+type)?[^;]*?from\s+"(\.[^"]+)"/gms)) {
    found.push({ target: normalize(join(dirname(file), match[3]!.replace(/\.js$/, ".ts"))), typeOnly: match[2] !== undefined });
  }
  return found;
}

const all = files(src);

test("each room imports only itself and the rooms below it", () => {
  const violations: string[] = [];
  for (const file of all) {
    const room = roomOf(file);
    const may = allowed[room];
    if (may === undefined) continue; // src/index.ts re-exports everything
    for (const { target } of importsOf(file)) {
      const to = roomOf(target);
      if (to !== room && !may.includes(to)) violations.push(`${relative(src, file)} imports ${relative(src, target)}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("no import cycles", () => {
  const graph = new Map(all.map((file) => [file, importsOf(file).filter((i) => !i.typeOnly).map((i) => i.target)]));
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    state.set(file, "visiting");
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "visiting") cycles.push([...path, file, next].slice(path.indexOf(next)).map((f) => relative(src, f)).join(" → "));
      else if (!state.has(next)) visit(next, [...path, file]);
    }
    state.set(file, "done");
  };
  for (const file of all) if (!state.has(file)) visit(file, []);
  assert.deepEqual(cycles, []);
});

/** Names of the runtime: each runtime's own global, and the globals that tell a worker, a page or Node apart. */
const RUNTIME_NAMES = ["Deno", "Bun", "process", "self", "navigator", "window", "document", "WorkerGlobalScope", "importScripts", "worker_threads"];

/** Where `code` (comments removed, strings kept) names the runtime, in any form; one line per finding. */
function runtimeMentions(code: string): string[] {
  const names = RUNTIME_NAMES.join("|");
  const found: string[] = [];
  // As a string that reaches the global: globalThis["process"], "Deno" in globalThis, import("node:worker_threads"),
  // Reflect.get(globalThis, "Bun"). (A string alone does not: "self" is also a kind of deadlock.)
  const string = `(["'\`])(?:node:)?(${names})\\1`;
  const reaching = [
    `\\[\\s*${string}\\s*\\]`,
    `${string}\\s+in\\b`,
    `(?:import|require|getBuiltinModule)\\s*\\(\\s*${string}`,
    `\\bfrom\\s*${string}`,
    `Reflect\\.\\w+\\([^,]*,\\s*${string}`,
  ];
  for (const pattern of reaching) {
    for (const m of code.matchAll(new RegExp(pattern, "g"))) found.push(`"${m[2]}" as a string`);
  }
  // As a name: Deno.x, typeof Bun, globalThis.process, self.postMessage, { navigator } = globalThis. Not as a
  // property of something else (x.self) or a key ({ self: 1 }), which are not the global.
  const bare = code.replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, '""');
  for (const m of bare.matchAll(new RegExp(`(?<![\\w$]|(?<!globalThis\\s*)\\.)(${names})(?![\\w$])(?!\\s*:(?!:))`, "g"))) found.push(m[1]!);
  return found;
}

test("the runtime-name check sees every form", () => {
  const named = (code: string) => runtimeMentions(code).length > 0;
  for (const code of [
    "Deno.exit(1)",
    "typeof Deno",
    "globalThis.Deno",
    "globalThis . Bun",
    'globalThis["process"]',
    "globalThis['navigator']",
    '"Deno" in globalThis',
    "const { process } = globalThis as any",
    "self.postMessage(1)",
    "typeof WorkerGlobalScope !== 'undefined'",
    "importScripts(url)",
    'await import("node:worker_threads")',
    "typeof window",
    "process.exit(1)",
    'Reflect.get(globalThis, "Bun")',
  ]) {
    assert.equal(named(code), true, code);
  }
  for (const code of ['kind === "self"', "error.kind", "this.processed", "x.self", "const o = { self: 1 }", "processQueue()", 'message("the process ended")']) {
    assert.equal(named(code), false, code);
  }
});

test("only src/platform/ names the runtime (Deno, Bun, process, self, navigator, WorkerGlobalScope, … in any form)", () => {
  const offenders: string[] = [];
  for (const file of all) {
    if (roomOf(file) === "platform") continue;
    const code = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1"); // comments may mention them
    const mentions = runtimeMentions(code);
    if (mentions.length > 0) offenders.push(`${relative(src, file)}: ${[...new Set(mentions)].join(", ")}`);
  }
  assert.deepEqual(offenders, []);
});

test("src/postgres/ takes only sync/options.ts from sync/, and nothing in the core imports it or pg", () => {
  const offenders: string[] = [];
  for (const file of all) {
    const room = roomOf(file);
    for (const { target } of importsOf(file)) {
      const to = roomOf(target);
      if (room === "postgres" && to === "sync" && !postgresFromSync.includes(relative(src, target))) offenders.push(`${relative(src, file)} imports ${relative(src, target)}`);
      if (room !== "postgres" && to === "postgres") offenders.push(`${relative(src, file)} imports ${relative(src, target)}`);
    }
    if (room !== "postgres" && /from\s+"pg"/.test(readFileSync(file, "utf8"))) offenders.push(`${relative(src, file)} imports pg`);
  }
  assert.deepEqual(offenders, []);
});
