/**
 * Stack capture for reports. It costs microseconds (measured 3–15 µs), so it happens only where
 * `configure({ stacks })` asks: never on the fast path unless 'all'.
 */

/**
 * Frames from inside the library are left out: the user wants to see their own code. The library runs from
 * `<package>/dist/`; with source maps its frames may also show as `<package>/src/`.
 */
import { stackColumnsExact } from "../platform/index.js";

const here: string | undefined = import.meta.url; // undefined where a bundle has no import.meta (an IIFE)
const packageRoot =
  here === undefined
    ? undefined
    : new URL(here.includes("/dist/") ? here.slice(0, here.lastIndexOf("/dist/") + 1) : new URL("../../", here).href);
const libraryPaths = !packageRoot
  ? []
  : ["dist/", "src/"].flatMap((dir) => {
      const url = new URL(dir, packageRoot);
      return [url.href, decodeURIComponent(url.pathname)];
    });
const FRAMES = 8;

/**
 * The script name every function rebuilt from source in another thread carries (sync/compile.ts appends it as a
 * `//# sourceURL=`), so that its frames can be told from the library's on every engine.
 */
export const SPAWNED_SOURCE_URL = "threadsafe:spawned-function";

/** A frame of the user's code: not the library's, not Node's internals, not a native builtin. */
function isUserFrame(line: string): boolean {
  const frame = line.trim();
  // A spawned function's frames: user code, although the library compiled it.
  if (frame.includes(`(${SPAWNED_SOURCE_URL}`)) return true;
  if (frame.includes("node:internal") || frame.endsWith("(<anonymous>)") || frame.includes("(native:")) return false;
  return !libraryPaths.some((path) => frame.includes(path));
}

/**
 * A spawned function's frame reads `at name (threadsafe:spawned-function:line:column)` (Deno:
 * `…spawned-function, <anonymous>:line:column`). It is rewritten as a position in the function's own source: the
 * generated function's body starts on its line 3, after a 22-character prefix. The column is given only where the
 * engine counts it as V8 does (JSC's columns point elsewhere in the expression).
 */
const SPAWNED_FRAME = new RegExp(`^at (?:async )?(.+?) \\(${SPAWNED_SOURCE_URL}(?:, <anonymous>)?:(\\d+):(\\d+)\\)$`);
const BODY_FIRST_LINE = 3;
const BODY_PREFIX_COLUMNS = '"use strict"; return ('.length;

function readableFrame(frame: string): string {
  const match = SPAWNED_FRAME.exec(frame);
  if (!match) return frame;
  const line = Number(match[2]) - BODY_FIRST_LINE + 1;
  const column = line === 1 ? Number(match[3]) - BODY_PREFIX_COLUMNS : Number(match[3]);
  const name = match[1] === "eval" || match[1] === "<anonymous>" ? "the spawned function" : match[1];
  const where = stackColumnsExact ? `line ${line}, column ${column}` : `line ${line}`;
  return `at ${name} (spawned function source, ${where})`;
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
    .map((line) => readableFrame(line.trim()))
    .join("\n");
}
