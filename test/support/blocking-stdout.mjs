// Preloaded into every node:test process (package.json "test", scripts/test-runtimes.mjs). Under process isolation
// each test file's process reports its verdicts to the runner over its stdout, a pipe, and with --test-force-exit it
// ends by process.exit() as soon as its last test is done: writes to a pipe are asynchronous on Linux, so the last
// verdicts of a file could be dropped and the run still pass, reporting fewer tests than ran (nodejs/node#64833; seen
// here: 2 of layout.test.ts's tests missing from a Node 26 CI run; a repro of 40 files × 50 tests lost 3–147 of
// 2,000 on Node 20 and 26, and none with this file). A blocking pipe completes each write before process.exit.
// `setBlocking` is what Node itself does to stdout before exiting (lib/net.js); TTYs and files are blocking already.
const handle = /** @type {{ setBlocking?: (blocking: boolean) => void } | undefined} */ (
  /** @type {{ _handle?: unknown }} */ (process.stdout)._handle
);
handle?.setBlocking?.(true);
