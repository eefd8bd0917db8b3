/**
 * `node:worker_threads`, where the runtime has it (Node, Deno, Bun). It sits in its own module so that browser
 * builds can swap it for `worker-threads.browser.ts` (scripts/build.mjs, the package's `browser` export condition):
 * no `node:` import then reaches a browser bundle.
 *
 * A static import, not a top-level `await import()`: a module with a top-level `await` is evaluated asynchronously,
 * in every thread that loads the library, and Node 22's V8 aborts the whole process (`Check failed: (location_) !=
 * nullptr` in `SourceTextModule::AsyncModuleExecutionFulfilled`) when a worker is terminated during that evaluation
 * (seen in the soak test, which terminates threads at random moments, some of them while still starting).
 */
import * as workerThreads from "node:worker_threads";

/** The `node:worker_threads` module. */
export const workerThreadsModule: unknown = workerThreads;
