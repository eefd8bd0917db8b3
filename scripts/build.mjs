// Builds dist/: esbuild bundles the JavaScript, tsc (run before this) writes the type declarations.
//
// One bundle instead of ~45 modules: Node 20's ESM loader costs about 1 ms per module, and every spawned thread
// loads the library again (measured: importing the per-file build took 55-80 ms, the bundle 26-34 ms). Code
// splitting keeps the entry points (the public `index.js`, the thread entry `worker.js`, the supervisor, and the
// bench's `internal.js`) on shared chunks, so a module a thread spawns that imports "threadsafe" gets the same
// module instances as the worker entry that revived its arguments. Entries and chunks sit flat in dist/, where
// `new URL("./worker.js", import.meta.url)` finds them from any chunk.
//
// dist/browser/ is the same for browsers (the package's `browser` export condition): src/platform/worker-threads.ts
// becomes worker-threads.browser.ts, so no `node:` import and no top-level await is left for a browser bundler to
// trip on.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const entryPoints = {
  index: "src/index.ts",
  internal: "src/internal.ts",
  worker: "src/worker.ts",
  supervisor: "src/thread/supervisor.ts",
};

const common = {
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022", // keeps #private fields native
  chunkNames: "chunk-[hash]",
  sourcemap: true,
  logLevel: "warning",
};

await build({ ...common, entryPoints, outdir: "dist", platform: "neutral", external: ["node:*"] });

const browserPlatform = fileURLToPath(new URL("../src/platform/worker-threads.browser.ts", import.meta.url));
await build({
  ...common,
  entryPoints,
  outdir: "dist/browser",
  platform: "browser",
  plugins: [
    {
      name: "threadsafe-browser-platform",
      setup(b) {
        b.onResolve({ filter: /^\.\/worker-threads\.js$/ }, () => ({ path: browserPlatform }));
      },
    },
  ],
});

// The `threadsafe/postgres` subpath, the only code that loads `pg`: built on its own so the core's chunks stay as
// they are (sharing errors.ts with it would split two more small chunks off every thread's start). Its error
// classes come from the public entry, so `instanceof DeadlockError` holds whichever entry the class came from;
// the few pure helpers it takes from layout/ and sync/options.ts are copied in.
await build({
  entryPoints: { postgres: "src/postgres/index.ts" },
  outdir: "dist",
  bundle: true,
  format: "esm",
  platform: "neutral",
  external: ["node:*", "pg"],
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "errors-from-the-public-entry",
      setup(b) {
        b.onResolve({ filter: /^\.\.\/errors\.js$/ }, () => ({ path: "./index.js", external: true }));
      },
    },
  ],
});
