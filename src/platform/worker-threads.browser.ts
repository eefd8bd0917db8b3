/**
 * The browser build's stand-in for `worker-threads.ts` (scripts/build.mjs swaps it in): browsers have no
 * `node:worker_threads`, and a browser bundle must not even name it.
 */

/** Always undefined: threads are Web Workers here. */
export const workerThreadsModule: unknown = undefined;
