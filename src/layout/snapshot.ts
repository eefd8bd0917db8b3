/** Helpers over views: plain copies, view detection, layout equality. */

import type { Layout } from "./layout.js";
import { isArrayView } from "./array.js";
import { BaseLayout, LIVENESS, MAX_DEPTH, MAX_ELEMENTS, MAX_FIELD_NAME_LENGTH, MAX_NODES, MAX_SIZE } from "./internal.js";
import { isStructView } from "./struct.js";
import type { Snapshot } from "./types.js";

/**
 * A plain deep copy of a value read from a layout: a struct view becomes a plain object, an array view a plain
 * array (recursively); anything else is returned as is (reads of `string`, `json` and `bytes` are already
 * copies). Throws if the view's guard was released.
 *
 * @example
 * const saved = point.with((g) => snapshot(g.value));   // { x: 1, y: 2 }, usable after unlock
 */
export function snapshot<T>(value: T): Snapshot<T> {
  if (isStructView(value)) return value.toJSON() as Snapshot<T>;
  if (isArrayView(value)) return value.toArray() as Snapshot<T>;
  return value as Snapshot<T>;
}

/** True for the live views that reads of `struct` and `array` layouts give. */
export function isView(value: unknown): boolean {
  return isStructView(value) || isArrayView(value);
}

/**
 * Asserts that a view's guard is still held (throws the guard's error otherwise). For anything that is not
 * a view, does nothing.
 */
export function assertViewLive(value: unknown): void {
  if (isStructView(value) || isArrayView(value)) value[LIVENESS].assertLive();
}

/** True when two layouts store values identically (their descriptors are equal). */
export function layoutsEqual(a: Layout<unknown>, b: Layout<unknown>): boolean {
  if (a === b) return true;
  if (a instanceof BaseLayout && b instanceof BaseLayout) return a.key === b.key;
  return JSON.stringify(a.describe()) === JSON.stringify(b.describe());
}

/** The limits every layout obeys, checked by the factories and by `layoutFromDescriptor`. */
export const LAYOUT_LIMITS: Readonly<{
  /** Largest layout in bytes (1 GiB). */
  maxSize: number;
  /** Deepest `struct`/`array` nesting. */
  maxDepth: number;
  /** Most nodes (layouts) in one layout tree. */
  maxNodes: number;
  /** Most values a full read of a layout can produce (array lengths multiply). */
  maxElements: number;
  /** Longest struct field name. */
  maxFieldNameLength: number;
}> = Object.freeze({
  maxSize: MAX_SIZE,
  maxDepth: MAX_DEPTH,
  maxNodes: MAX_NODES,
  maxElements: MAX_ELEMENTS,
  maxFieldNameLength: MAX_FIELD_NAME_LENGTH,
});
