// Browsers as a target, the parts Node can check: the browser build and an app bundled for browsers carry no `node:`
// import, configure({ workerFiles }) says where the thread files are (and a missing one is named), and
// import("threadsafe") inside a spawned function gives the thread's own library. watch() of a global Web Worker runs
// where there is one (Deno, Bun). The browser itself: scripts/test-browser.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import esbuild from "esbuild";
import { Mutex, PoisonError, ThreadError, configure, i32, share, spawn, watch } from "threadsafe";

const root = fileURLToPath(new URL("..", import.meta.url));
const browserDist = new URL("../dist/browser/", import.meta.url);

test("dist/browser/ imports no node: module", () => {
  const offenders = readdirSync(browserDist)
    .filter((file) => file.endsWith(".js"))
    .filter((file) => /\bfrom\s*["']node:|\bimport\s*\(\s*["']node:/.test(readFileSync(new URL(file, browserDist), "utf8")));
  assert.deepEqual(offenders, []);
});

test("an app importing threadsafe bundles with esbuild --bundle --platform=browser, no external, as IIFE and as ESM", async () => {
  for (const format of ["iife", "esm"] as const) {
    const result = await esbuild.build({
      stdin: { contents: 'import { Mutex, i32, spawn } from "threadsafe"; console.log(new Mutex(i32, 0), spawn);', resolveDir: root },
      bundle: true,
      platform: "browser",
      format,
      write: false,
      logLevel: "silent",
    });
    assert.equal(result.errors.length, 0);
    assert.doesNotMatch(result.outputFiles[0]!.text, /node:worker_threads/);
  }
});

test("configure({ workerFiles }) validates its value", () => {
  assert.throws(() => configure({ workerFiles: 5 as unknown as string }), {
    name: "TypeError",
    message: /^threadsafe: configure\(\{ workerFiles \}\): expected a folder URL/,
  });
  assert.throws(() => configure({ workerFiles: "relative/folder/" }), {
    name: "TypeError",
    message: /^threadsafe: configure\(\{ workerFiles \}\): relative\/folder\/ is not a URL/,
  });
});

test("configure({ workerFiles }) points spawn at the thread files; a folder without them is named in the ThreadError", { timeout: 120_000 }, async () => {
  try {
    configure({ workerFiles: new URL("../dist", import.meta.url) }); // no trailing slash: still a folder
    assert.equal(await spawn((a: number, b: number) => a + b, [2, 3]).join(), 5);
    configure({ workerFiles: "file:///nonexistent-threadsafe-files/" });
    const error = await spawn(() => 1).join().then(
      () => assert.fail("join() resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ThreadError, `expected ThreadError, got ${String(error)}`);
    assert.match(error.message, /nonexistent-threadsafe-files\/worker\.js/);
  } finally {
    configure({ workerFiles: null });
  }
  assert.equal(await spawn(() => "back").join(), "back");
});

test('import("threadsafe") in a spawned function is the thread\'s own library, however it is spaced; a method named import is left alone', { timeout: 120_000 }, async () => {
  const m = new Mutex(i32, 0);
  // Written as text (indirect eval) so that no compiler respaces it: this is the source the thread receives.
  const fn = (0, eval)(`(async (m) => {
    const a = await import("threadsafe");
    const b = await import ( 'threadsafe' );
    const method = { import: (name) => "method got " + name }.import("threadsafe");
    return [a === b, m instanceof a.Mutex, method];
  })`) as (m: Mutex<number>) => Promise<unknown[]>;
  assert.deepEqual(await spawn(fn, [m]).join(), [true, true, "method got threadsafe"]);
});

const WebWorker = (globalThis as { Worker?: new (url: string, options: { type: "module" }) => { postMessage(v: unknown): void; terminate(): void } }).Worker;

test(
  "watch() of a global Web Worker: terminated while holding a lock, its waiters get PoisonError",
  { timeout: 120_000, skip: WebWorker === undefined ? "no global Web Worker in this runtime (Node): see scripts/test-browser.mjs, Deno and Bun" : false },
  async () => {
    const mutex = new Mutex(i32, 0);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const worker = new WebWorker!(new URL("./support/web-holder-worker.mjs", import.meta.url).href, { type: "module" });
    watch(worker);
    worker.postMessage(share({ mutex, flags }));
    while (Atomics.load(flags, 0) !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
    worker.terminate();
    await assert.rejects(mutex.lockAsync(), PoisonError);
  },
);
