// A small app that imports "threadsafe" by its package name and spawns, bundled by scripts/test-browser.mjs with
// esbuild in two ways (bundle-esm.html, bundle-iife.html). window.bundleRun() gives what the page checks.
import { Mutex, configure, i32, spawn } from "threadsafe";

if (globalThis.threadsafeWorkerFiles) configure({ workerFiles: globalThis.threadsafeWorkerFiles });

globalThis.bundleRun = async ({ withImport }) => {
  const counter = new Mutex(i32, 0);
  const handles = [];
  for (let i = 0; i < 4; i++) {
    handles.push(spawn((counter) => counter.with((num) => { num.value += 1; }), [counter]));
  }
  let imported = null;
  if (withImport) {
    // esbuild rewrites this import in an ES module bundle to one of the bundle's own chunks, which the thread
    // loads next to worker.js (README, "Browsers").
    imported = await spawn(async (counter) => {
      const { Mutex } = await import("threadsafe");
      return counter instanceof Mutex;
    }, [counter]).join();
  }
  for (const handle of handles) await handle.join();
  return { result: counter.with((num) => num.value), imported };
};
globalThis.bundleReady = true;
