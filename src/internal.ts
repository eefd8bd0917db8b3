/**
 * Internals for the project's own benchmarks (`bench/`), built as `dist/internal.js` beside the public entry and
 * sharing its module instances. Not part of the public API: no stability promise, not in package.json `exports`.
 */

export { Runtime } from "./runtime/runtime.js";
export { publishWait, findDeadlock, unpublishWait } from "./deadlock/detect.js";
export { toHandle } from "./sync/mutex.js";
export { OWNER_SHIFT, LOCKED, LockKind, LOCK_RECORD_WORDS } from "./runtime/locks.js";
