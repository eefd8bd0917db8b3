/**
 * Straight-line code for one struct layout's hot paths (`prepare` of a plain object, `store`, `snapshot`), compiled
 * once per layout. The generic loops read `source[name]` and call `layouts[i].store` at one site for every field of
 * every struct, which V8 makes megamorphic: a 5-field message spent ~300 ns there (profile of a struct channel). Here
 * each field has its own property load and its own call, each monomorphic: the engine inlines them.
 *
 * Where code cannot be compiled at run time (a page whose Content-Security-Policy forbids it), there are no codecs
 * and the layout keeps its generic loops: same results, slower.
 */

import type { DataViews } from "./layout.js";
import { under, type BaseLayout } from "./internal.js";

/** The compiled hot paths of one struct layout. */
export interface StructCodecs {
  /**
   * The prepared fields of `source` when its own enumerable keys are exactly the struct's fields (each read once,
   * in field order); `undefined` when they are not, so that the generic path can name what is missing or unknown.
   */
  prepare(source: object): unknown[] | undefined;
  store(views: DataViews, offset: number, prepared: readonly unknown[]): void;
  snapshot(views: DataViews, offset: number): Record<string, unknown>;
}

/** Above this many fields the generic loops are kept (the compiled code grows with the fields). */
const MAX_COMPILED_FIELDS = 64;

/** Compiles the codecs of a struct with these fields, or returns `undefined` where run-time compilation is refused. */
export function compileStructCodecs(
  names: readonly string[],
  layouts: readonly BaseLayout<unknown>[],
  offsets: readonly number[],
): StructCodecs | undefined {
  const n = names.length;
  if (n > MAX_COMPILED_FIELDS) return undefined;
  const key = names.map((name) => JSON.stringify(name));
  const fields = names.map((_, i) => i);
  const source = `"use strict";
return {
  prepare(s) {
    const k = keys(s);
    if (k.length !== ${n}) return undefined;
    for (let i = 0; i < ${n}; i++) {
      switch (k[i]) {
        ${fields.map((i) => `case ${key[i]}:`).join(" ")}
          break;
        default:
          return undefined;
      }
    }
    let f = 0;
    try {
      ${fields.map((i) => `const p${i} = l${i}.prepare(s[${key[i]}]); f = ${i + 1};`).join("\n      ")}
      return [${fields.map((i) => `p${i}`).join(", ")}];
    } catch (error) {
      throw under(error, names[f]);
    }
  },
  store(v, o, p) {
    ${fields.map((i) => `l${i}.store(v, o + ${offsets[i]}, p[${i}]);`).join("\n    ")}
  },
  snapshot(v, o) {
    return { ${fields.map((i) => `${key[i]}: l${i}.snapshot(v, o + ${offsets[i]})`).join(", ")} };
  },
};`;
  let factory: (...args: unknown[]) => StructCodecs;
  try {
    factory = new Function("keys", "under", "names", ...fields.map((i) => `l${i}`), source) as typeof factory;
  } catch {
    return undefined; // run-time compilation refused (CSP): the generic loops serve
  }
  return factory(Object.keys, under, names, ...layouts);
}
