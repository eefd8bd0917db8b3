/**
 * The entry point of every thread `spawn` starts (dist/worker.js): first the library, for the thread's
 * `import("threadsafe")` (worker-library.ts), then the thread itself (thread/worker.ts). Import order is
 * evaluation order: the library is in place before the thread compiles its function.
 */

import "./worker-library.js";
import "./thread/worker.js";
