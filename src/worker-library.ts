/**
 * Part of the spawned threads' entry (worker.ts): hands spawned functions this thread's own library for
 * `import("threadsafe")`. Evaluated before the thread starts, so the function always finds it.
 */

import * as library from "./index.js";
import { provideLibrary } from "./sync/compile.js";

provideLibrary(library);
