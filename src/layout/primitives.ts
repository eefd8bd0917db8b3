/**
 * Scalar layouts: `bool`, the integers `i8 … u32`, the floats `f32`/`f64` (all `number`), and the 64-bit
 * integers `i64`/`u64` (`bigint`). Reads and writes are single plain typed-array accesses: the data is only
 * ever touched under a lock.
 *
 * Each type has its own small class on purpose, although they look alike: a class that names its typed array as
 * a constant property (`views.i32`) keeps every read and write a monomorphic load, where one generic class would
 * need `views[this.viewName]`, a keyed load on the hottest path of every guard.
 */

import type { DataViews, Layout, LayoutDescriptor, PrimitiveKind } from "./layout.js";
import { BaseLayout, describeValue, formatNumber, rangeFail, typeFail } from "./internal.js";

/** A scalar layout: one `bool`, number or bigint. */
export interface PrimitiveLayout<T extends number | bigint | boolean> extends Layout<T> {
  readonly kind: PrimitiveKind;
}

abstract class Primitive<T extends number | bigint | boolean> extends BaseLayout<T> implements PrimitiveLayout<T> {
  abstract override readonly kind: PrimitiveKind;
  readonly depth = 0;
  readonly nodes = 1;
  readonly elements = 1;
  #descriptor: LayoutDescriptor | undefined;

  snapshot(views: DataViews, offset: number): unknown {
    return this.read(views, offset, undefined!);
  }

  describe(): LayoutDescriptor {
    return (this.#descriptor ??= Object.freeze({ kind: this.kind }));
  }

  name(): string {
    return this.kind;
  }
}

// ---------------------------------------------------------------------------------------------------------
// bool

class BoolLayout extends Primitive<boolean> {
  readonly kind = "bool";
  readonly size = 1;
  readonly align = 1;

  read(views: DataViews, offset: number): boolean {
    return views.u8[offset] !== 0;
  }

  prepare(value: unknown): boolean {
    if (typeof value !== "boolean") typeFail(`expected a boolean for bool, got ${describeValue(value)}`);
    return value;
  }

  store(views: DataViews, offset: number, value: unknown): void {
    views.u8[offset] = value ? 1 : 0;
  }

  override write(views: DataViews, offset: number, value: boolean): void {
    if (typeof value !== "boolean") this.check(value, "value");
    views.u8[offset] = value ? 1 : 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// integers that fit a number

type IntKind = "i8" | "u8" | "i16" | "u16" | "i32" | "u32";

abstract class IntLayout extends Primitive<number> {
  abstract override readonly kind: IntKind;
  abstract readonly min: number;
  abstract readonly max: number;

  /** True when `value` is a number this layout stores exactly. */
  abstract fits(value: unknown): value is number;

  prepare(value: unknown): number {
    if (this.fits(value)) return value;
    if (typeof value !== "number") {
      typeFail(`expected a number for ${this.kind}, got ${describeValue(value)}`);
    }
    if (!Number.isInteger(value) && Number.isFinite(value)) {
      rangeFail(`${formatNumber(value)} is not an integer (${this.kind} takes integers from ${this.min} to ${this.max})`);
    }
    if (Number.isNaN(value)) {
      rangeFail(`NaN is not an integer (${this.kind} takes integers from ${this.min} to ${this.max})`);
    }
    return rangeFail(`${formatNumber(value)} is out of range for ${this.kind} (${this.min} to ${this.max})`);
  }
}

class I8Layout extends IntLayout {
  readonly kind = "i8";
  readonly size = 1;
  readonly align = 1;
  readonly min = -128;
  readonly max = 127;
  fits(value: unknown): value is number {
    return typeof value === "number" && (value << 24) >> 24 === value;
  }
  read(views: DataViews, offset: number): number {
    return views.i8[offset];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.i8[offset] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.i8[offset] = value;
  }
}

class U8Layout extends IntLayout {
  readonly kind = "u8";
  readonly size = 1;
  readonly align = 1;
  readonly min = 0;
  readonly max = 255;
  fits(value: unknown): value is number {
    return typeof value === "number" && (value & 0xff) === value;
  }
  read(views: DataViews, offset: number): number {
    return views.u8[offset];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.u8[offset] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.u8[offset] = value;
  }
}

class I16Layout extends IntLayout {
  readonly kind = "i16";
  readonly size = 2;
  readonly align = 2;
  readonly min = -32768;
  readonly max = 32767;
  fits(value: unknown): value is number {
    return typeof value === "number" && (value << 16) >> 16 === value;
  }
  read(views: DataViews, offset: number): number {
    return views.i16[offset >> 1];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.i16[offset >> 1] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.i16[offset >> 1] = value;
  }
}

class U16Layout extends IntLayout {
  readonly kind = "u16";
  readonly size = 2;
  readonly align = 2;
  readonly min = 0;
  readonly max = 65535;
  fits(value: unknown): value is number {
    return typeof value === "number" && (value & 0xffff) === value;
  }
  read(views: DataViews, offset: number): number {
    return views.u16[offset >> 1];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.u16[offset >> 1] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.u16[offset >> 1] = value;
  }
}

class I32Layout extends IntLayout {
  readonly kind = "i32";
  readonly size = 4;
  readonly align = 4;
  readonly min = -2147483648;
  readonly max = 2147483647;
  fits(value: unknown): value is number {
    return typeof value === "number" && (value | 0) === value;
  }
  read(views: DataViews, offset: number): number {
    return views.i32[offset >> 2];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.i32[offset >> 2] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.i32[offset >> 2] = value;
  }
}

class U32Layout extends IntLayout {
  readonly kind = "u32";
  readonly size = 4;
  readonly align = 4;
  readonly min = 0;
  readonly max = 4294967295;
  fits(value: unknown): value is number {
    return typeof value === "number" && value >>> 0 === value;
  }
  read(views: DataViews, offset: number): number {
    return views.u32[offset >> 2];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.u32[offset >> 2] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (!this.fits(value)) this.check(value, "value");
    views.u32[offset >> 2] = value;
  }
}

// ---------------------------------------------------------------------------------------------------------
// floats

abstract class FloatLayout extends Primitive<number> {
  prepare(value: unknown): number {
    if (typeof value !== "number") typeFail(`expected a number for ${this.kind}, got ${describeValue(value)}`);
    return value;
  }
}

class F32Layout extends FloatLayout {
  readonly kind = "f32";
  readonly size = 4;
  readonly align = 4;
  read(views: DataViews, offset: number): number {
    return views.f32[offset >> 2];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.f32[offset >> 2] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (typeof value !== "number") this.check(value, "value");
    views.f32[offset >> 2] = value;
  }
}

class F64Layout extends FloatLayout {
  readonly kind = "f64";
  readonly size = 8;
  readonly align = 8;
  read(views: DataViews, offset: number): number {
    return views.f64[offset >> 3];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.f64[offset >> 3] = value as number;
  }
  override write(views: DataViews, offset: number, value: number): void {
    if (typeof value !== "number") this.check(value, "value");
    views.f64[offset >> 3] = value;
  }
}

// ---------------------------------------------------------------------------------------------------------
// 64-bit integers

abstract class BigIntLayout extends Primitive<bigint> {
  abstract override readonly kind: "i64" | "u64";
  abstract readonly min: bigint;
  abstract readonly max: bigint;
  abstract fits(value: unknown): value is bigint;

  prepare(value: unknown): bigint {
    if (this.fits(value)) return value;
    if (typeof value !== "bigint") {
      if (typeof value === "number" && Number.isSafeInteger(value)) {
        typeFail(`expected a bigint for ${this.kind}, got number ${formatNumber(value)}; write ${value}n (the n suffix) or BigInt(${value})`);
      }
      typeFail(`expected a bigint for ${this.kind} (a literal with the n suffix, like 5n, or BigInt(x)), got ${describeValue(value)}`);
    }
    return rangeFail(`${value}n is out of range for ${this.kind} (${this.min}n to ${this.max}n)`);
  }
}

class I64Layout extends BigIntLayout {
  readonly kind = "i64";
  readonly size = 8;
  readonly align = 8;
  readonly min = -(2n ** 63n);
  readonly max = 2n ** 63n - 1n;
  fits(value: unknown): value is bigint {
    return typeof value === "bigint" && BigInt.asIntN(64, value) === value;
  }
  read(views: DataViews, offset: number): bigint {
    return views.i64[offset >> 3];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.i64[offset >> 3] = value as bigint;
  }
  override write(views: DataViews, offset: number, value: bigint): void {
    if (!this.fits(value)) this.check(value, "value");
    views.i64[offset >> 3] = value;
  }
}

class U64Layout extends BigIntLayout {
  readonly kind = "u64";
  readonly size = 8;
  readonly align = 8;
  readonly min = 0n;
  readonly max = 2n ** 64n - 1n;
  fits(value: unknown): value is bigint {
    return typeof value === "bigint" && BigInt.asUintN(64, value) === value;
  }
  read(views: DataViews, offset: number): bigint {
    return views.u64[offset >> 3];
  }
  store(views: DataViews, offset: number, value: unknown): void {
    views.u64[offset >> 3] = value as bigint;
  }
  override write(views: DataViews, offset: number, value: bigint): void {
    if (!this.fits(value)) this.check(value, "value");
    views.u64[offset >> 3] = value;
  }
}

// ---------------------------------------------------------------------------------------------------------
// the constants

/**
 * A boolean, stored in one byte (0 or 1). Takes only `true`/`false`.
 * @example const ready = new Mutex(bool, false);
 */
export const bool: PrimitiveLayout<boolean> = new BoolLayout();

/** A signed 8-bit integer (`-128` to `127`). Takes only integer numbers in range. */
export const i8: PrimitiveLayout<number> = new I8Layout();

/** An unsigned 8-bit integer (`0` to `255`). Takes only integer numbers in range. */
export const u8: PrimitiveLayout<number> = new U8Layout();

/** A signed 16-bit integer (`-32768` to `32767`). Takes only integer numbers in range. */
export const i16: PrimitiveLayout<number> = new I16Layout();

/** An unsigned 16-bit integer (`0` to `65535`). Takes only integer numbers in range. */
export const u16: PrimitiveLayout<number> = new U16Layout();

/**
 * A signed 32-bit integer (`-2147483648` to `2147483647`). Takes only integer numbers in range.
 * @example const counter = new Mutex(i32, 0);
 */
export const i32: PrimitiveLayout<number> = new I32Layout();

/** An unsigned 32-bit integer (`0` to `4294967295`). Takes only integer numbers in range. */
export const u32: PrimitiveLayout<number> = new U32Layout();

/**
 * A 32-bit float. Takes any number; it is rounded to the nearest `f32` (`Math.fround`) when stored, so a
 * read gives back `Math.fround(written)`.
 */
export const f32: PrimitiveLayout<number> = new F32Layout();

/** A 64-bit float: any number, stored exactly (including `-0`, `NaN` and the infinities). */
export const f64: PrimitiveLayout<number> = new F64Layout();

/**
 * A signed 64-bit integer, as a `bigint` (`-(2n ** 63n)` to `2n ** 63n - 1n`). Numbers are refused: write `5n`.
 * @example const total = new Mutex(i64, 0n);
 */
export const i64: PrimitiveLayout<bigint> = new I64Layout();

/** An unsigned 64-bit integer, as a `bigint` (`0n` to `2n ** 64n - 1n`). Numbers are refused: write `5n`. */
export const u64: PrimitiveLayout<bigint> = new U64Layout();

/** The scalar layouts by kind. */
export const PRIMITIVES: Readonly<Record<PrimitiveKind, BaseLayout<unknown>>> = Object.freeze({
  bool: bool as BaseLayout<boolean>,
  i8: i8 as BaseLayout<number>,
  u8: u8 as BaseLayout<number>,
  i16: i16 as BaseLayout<number>,
  u16: u16 as BaseLayout<number>,
  i32: i32 as BaseLayout<number>,
  u32: u32 as BaseLayout<number>,
  f32: f32 as BaseLayout<number>,
  f64: f64 as BaseLayout<number>,
  i64: i64 as BaseLayout<bigint>,
  u64: u64 as BaseLayout<bigint>,
});
