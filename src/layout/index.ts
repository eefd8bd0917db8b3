/**
 * Layouts: how a value of type `T` lives in shared memory, and the live views that reads of `struct` and
 * `array` layouts give.
 *
 * @example
 * import { struct, array, f64, i32, string, type Infer } from "./layout/index.js";
 * const Player = struct({ name: string(32), pos: struct({ x: f64, y: f64 }), scores: array(i32, 4) });
 * type Player = Infer<typeof Player>;
 * // { name: string; pos: { x: number; y: number }; scores: ArrayView<number> }
 */

export type { DataViews, Infer, Layout, LayoutDescriptor, Liveness, PrimitiveKind } from "./layout.js";
export type { ArrayView, Assignable, Snapshot } from "./types.js";
export { dataViews, dataBufferSize, freshDataViews } from "./data-views.js";
export { bool, i8, u8, i16, u16, i32, u32, f32, f64, i64, u64, type PrimitiveLayout } from "./primitives.js";
export { string, type StringLayout } from "./string.js";
export { bytes, type BytesLayout } from "./bytes.js";
export { json, type JsonLayout, type JsonValue } from "./json.js";
export { struct, type StructLayout, type StructField } from "./struct.js";
export { array, type ArrayLayout } from "./array.js";
export { layoutFromDescriptor } from "./descriptor.js";
export { snapshot, isView, assertViewLive, layoutsEqual, LAYOUT_LIMITS } from "./snapshot.js";
