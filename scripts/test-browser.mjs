// The browser test run: serves the repository on 127.0.0.1 with cross-origin isolation (COOP/COEP), bundles
// test/browser/app/app.js with esbuild two ways, and drives headless Chromium through playwright-core over the
// parts of test/browser/probe.js, each in a fresh page. Prints one line per part and a pass count; exits 1 when a
// part fails, 0 with a printed reason when Chromium (or playwright-core) is not there.
//
//   node scripts/test-browser.mjs [part ...]        (after npm run build)
//
// CHROMIUM: the browser binary (default /usr/bin/chromium); PLAYWRIGHT_CORE: where playwright-core is, when it is
// not installed as this package's devDependency; PART_TIMEOUT_MS: one part's hang guard (default 90000).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const partTimeoutMs = Number(process.env.PART_TIMEOUT_MS ?? 90_000);

function skip(reason) {
  console.log(`browser tests skipped: ${reason}`);
  console.log("# pass 0\n# fail 0\n# skipped 1"); // the counts scripts/test-runtimes.mjs reads
  process.exit(0);
}

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium)) skip(`no Chromium at ${chromium} (install Debian's "chromium" package or set CHROMIUM)`);

async function loadPlaywright() {
  const tried = [];
  const candidates = [
    process.env.PLAYWRIGHT_CORE,
    "playwright-core",
    "/work/.rt/playwright-core/node_modules/playwright-core",
  ].filter(Boolean);
  for (const candidate of candidates) {
    const specifier = candidate.startsWith("/") ? pathToFileURL(join(candidate, "index.mjs")).href : candidate;
    try {
      return await import(specifier);
    } catch (error) {
      tried.push(`${candidate} (${error.code ?? error.message})`);
    }
  }
  skip(`playwright-core not found: tried ${tried.join(", ")}; run npm ci or set PLAYWRIGHT_CORE`);
}
const { chromium: playwrightChromium } = await loadPlaywright();

if (!existsSync(join(root, "dist/browser/index.js"))) {
  console.error("browser tests: dist/browser/ is missing: run npm run build first");
  process.exit(1);
}

// The bundled app, two ways (README, "Browsers"): ES modules with the thread files as extra entries, and the plain
// `esbuild --bundle --platform=browser` (an IIFE, no `external`) with the thread files served from dist/browser/.
const out = mkdtempSync(join(tmpdir(), "threadsafe-browser-"));
const esbuildBin = join(root, "node_modules/.bin/esbuild");
const bundles = [
  ["esm", [
    "test/browser/app/app.js", "threadsafe/worker.js", "threadsafe/supervisor.js",
    "--bundle", "--platform=browser", "--format=esm", "--splitting", "--entry-names=[name]", `--outdir=${join(out, "esm")}`,
  ]],
  ["iife", ["test/browser/app/app.js", "--bundle", "--platform=browser", `--outfile=${join(out, "iife/app.js")}`]],
];
const bundleErrors = {};
for (const [name, args] of bundles) {
  const result = spawnSync(esbuildBin, [...args, "--log-level=error"], { cwd: root, encoding: "utf8" });
  if (result.status !== 0) bundleErrors[name] = `esbuild failed: ${result.stderr || result.error?.message}`;
}

const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".map": "application/json", ".json": "application/json" };

function fileFor(base, path) {
  const file = normalize(join(base, decodeURIComponent(path)));
  if (file !== base && !file.startsWith(base.endsWith(sep) ? base : base + sep)) return undefined;
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

// /plain/… serves the repository without the isolation headers; /bundle/… the bundles; everything else the
// repository, cross-origin isolated.
const server = createServer((request, response) => {
  const path = new URL(request.url, "http://127.0.0.1").pathname;
  let file;
  let isolated = true;
  if (path.startsWith("/plain/")) {
    isolated = false;
    file = fileFor(root, path.slice("/plain".length));
  } else if (path.startsWith("/bundle/")) file = fileFor(out, path.slice("/bundle".length));
  else file = fileFor(root, path);
  const headers = { "Cache-Control": "no-store" };
  if (isolated) {
    headers["Cross-Origin-Opener-Policy"] = "same-origin";
    headers["Cross-Origin-Embedder-Policy"] = "require-corp";
  }
  if (!file) {
    response.writeHead(404, headers).end("not found");
    return;
  }
  headers["Content-Type"] = types[extname(file)] ?? "application/octet-stream";
  response.writeHead(200, headers).end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

/** Each part: the page it runs in and how it runs there. */
const probe = (name, page = "/test/browser/index.html") => ({
  name,
  url: origin + page,
  run: (p) => p.waitForFunction(() => globalThis.probeReady === true).then(() => p.evaluate((n) => globalThis.runPart(n), name)),
});
const bundled = (name, kind, withImport) => ({
  name,
  url: `${origin}/test/browser/bundle-${kind}.html`,
  run: async (p) => {
    if (bundleErrors[kind]) throw new Error(bundleErrors[kind]);
    await p.waitForFunction(() => globalThis.bundleReady === true);
    const got = await p.evaluate((w) => globalThis.bundleRun({ withImport: w }), withImport);
    const expected = { result: 4, imported: withImport ? true : null };
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
    return `4 threads counted 4${withImport ? ', import("threadsafe") in a thread' : ""}`;
  },
});

const all = [
  ...["mutex", "struct", "tryLock", "lockAsync", "lockMainBlocked", "lockMainSelf", "spawn10", "spawnInWorker",
    "deadlock", "threadError", "poison", "busyHolder", "terminateAtStart", "shareWeb", "watchWeb", "spawnModule", "importInThread", "workerLoadError"].map((n) => probe(n)),
  bundled("bundleEsm", "esm", true),
  bundled("bundleIife", "iife", false),
  probe("notIsolated", "/plain/test/browser/index.html"),
];
const wanted = process.argv.slice(2);
const parts = wanted.length ? all.filter((p) => wanted.includes(p.name)) : all;

const browser = await playwrightChromium.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox"] });
const version = browser.version();
let passed = 0;
const failed = [];
try {
  for (const part of parts) {
    const page = await browser.newPage();
    const log = [];
    page.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => log.push(`page error: ${error.message}`));
    let timer;
    try {
      await page.goto(part.url);
      const detail = await Promise.race([
        part.run(page),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no result after ${partTimeoutMs} ms (hang guard)`)), partTimeoutMs);
        }),
      ]);
      passed++;
      console.log(`ok   ${part.name}: ${detail}`);
    } catch (error) {
      failed.push(part.name);
      console.log(`FAIL ${part.name}: ${String(error.message ?? error).split("\n")[0]}`);
      for (const line of log.slice(-8)) console.log(`       ${line}`);
    } finally {
      clearTimeout(timer);
      await page.close().catch(() => {});
    }
  }
} finally {
  await browser.close();
  server.close();
  rmSync(out, { recursive: true, force: true });
}
console.log(`browser (Chromium ${version}): ${passed}/${parts.length} parts passed${failed.length ? `; failed: ${failed.join(", ")}` : ""}`);
console.log(`# pass ${passed}\n# fail ${parts.length - passed}`); // the counts scripts/test-runtimes.mjs reads
process.exit(failed.length ? 1 : 0);
