/**
 * Stack capture for reports. It costs microseconds (measured 3–15 µs), so it happens only where
 * `configure({ stacks })` asks: never on the fast path unless 'all'.
 */

/**
 * Frames from inside the library are left out: the user wants to see their own code. The library runs from
 * `<package>/dist/`; with source maps its frames may also show as `<package>/src/`.
 */
const packageRoot = new URL("../../", import.meta.url);
const libraryPaths = ["dist/", "src/"].flatMap((dir) => {
  const url = new URL(dir, packageRoot);
  return [url.href, decodeURIComponent(url.pathname)];
});
const FRAMES = 8;

/** A frame of the user's code: not the library's, not Node's internals, not a native builtin. */
function isUserFrame(line: string): boolean {
  const frame = line.trim();
  // A spawned function runs as eval'd code whose frames name the library file that compiled it: that is user code.
  if (frame.includes("(eval at compileFunction (")) return true;
  if (frame.includes("node:internal") || frame.endsWith("(<anonymous>)")) return false;
  return !libraryPaths.some((path) => frame.includes(path));
}

/** The caller's stack, without the library's own frames: at most FRAMES lines of "at …". */
export function captureStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = FRAMES + 16;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return stack
    .split("\n")
    .slice(1)
    .filter(isUserFrame)
    .slice(0, FRAMES)
    .map((line) => line.trim())
    .join("\n");
}
