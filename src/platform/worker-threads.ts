/**
 * `node:worker_threads`, where the runtime has it (Node, Deno, Bun); undefined in browsers. It sits in its own
 * module so that browser builds can swap it for `worker-threads.browser.ts` (scripts/build.mjs, the package's
 * `browser` export condition): no `node:` import and no top-level `await` then reaches a browser bundle.
 */

const globals = globalThis as unknown as {
  readonly process?: { readonly versions?: { readonly node?: string }; getBuiltinModule?(id: string): unknown };
  readonly Deno?: unknown;
  readonly Bun?: unknown;
};

const hasNodeApis = globals.Deno !== undefined || globals.Bun !== undefined || !!globals.process?.versions?.node;

/** The `node:worker_threads` module, or undefined where the runtime has none. */
export const workerThreadsModule: unknown = hasNodeApis
  ? (globals.process?.getBuiltinModule?.("node:worker_threads") ?? (await import("node:worker_threads")))
  : undefined;
