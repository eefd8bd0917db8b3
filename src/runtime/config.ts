/**
 * Program-wide settings (`configure`). The shareable ones live in the runtime header, so threads started after a
 * change inherit it; the report callback is a function and stays with the thread that set it (each thread's
 * reports go to its own `onReport`, or to `console.warn`).
 */

import { H_CONFIG, H_STALL_WARN_MS, type Runtime } from "./runtime.js";

/** What lock-order checking does on an inversion. */
export type LockOrderMode = "off" | "warn" | "throw";
/** When stacks are captured for reports. */
export type StackMode = "off" | "blocking" | "all";

/** A diagnostic the library reports without throwing (lock-order inversions in 'warn' mode, stalls). */
export interface Report {
  readonly kind: "lock-order" | "stall";
  /** The full human-readable report. */
  readonly message: string;
}

const LOCK_ORDER_MODES: readonly LockOrderMode[] = ["off", "warn", "throw"];
const STACK_MODES: readonly StackMode[] = ["off", "blocking", "all"];
const LOCK_ORDER_BITS = 0b0011;
const STACKS_SHIFT = 2;
const STACKS_BITS = 0b1100;
/** Default stall warning: a wait longer than this is reported once (through onReport). */
export const DEFAULT_STALL_WARN_MS = 30_000;

/** This thread's copy of the settings (read on slow paths; `tracking` also on the fast path). */
export const settings = {
  lockOrder: "off" as LockOrderMode,
  stacks: "off" as StackMode,
  stallWarnMs: DEFAULT_STALL_WARN_MS,
  onReport: (report: Report): void => {
    console.warn(report.message);
  },
};

/**
 * True when every acquisition must be recorded (lock-order checking, or stacks: 'all'). The fast path reads only
 * this flag.
 */
export let tracking = false;

function refreshTracking(): void {
  tracking = settings.lockOrder !== "off" || settings.stacks === "all";
}

/** Writes the shareable settings into the runtime header. */
export function storeSettings(rt: Runtime): void {
  const bits = LOCK_ORDER_MODES.indexOf(settings.lockOrder) | (STACK_MODES.indexOf(settings.stacks) << STACKS_SHIFT);
  Atomics.store(rt.words, H_CONFIG, bits);
  Atomics.store(rt.words, H_STALL_WARN_MS, settings.stallWarnMs);
}

/** Reads the shareable settings from the runtime header (a thread joining a runtime inherits them). */
export function loadSettings(rt: Runtime): void {
  const bits = Atomics.load(rt.words, H_CONFIG);
  settings.lockOrder = LOCK_ORDER_MODES[bits & LOCK_ORDER_BITS] ?? "off";
  settings.stacks = STACK_MODES[(bits & STACKS_BITS) >> STACKS_SHIFT] ?? "off";
  settings.stallWarnMs = Atomics.load(rt.words, H_STALL_WARN_MS);
  refreshTracking();
}

/** Validates `changes` completely, then applies them to this thread's settings (nothing is applied on an error). */
export function applySettings(changes: {
  lockOrder?: unknown;
  stacks?: unknown;
  stallWarnMs?: unknown;
  onReport?: unknown;
}): void {
  if (changes.lockOrder !== undefined) {
    if (!LOCK_ORDER_MODES.includes(changes.lockOrder as LockOrderMode)) {
      throw new TypeError(`threadsafe: configure({ lockOrder }): expected "off", "warn" or "throw", got ${String(changes.lockOrder)}`);
    }
  }
  if (changes.stacks !== undefined) {
    if (!STACK_MODES.includes(changes.stacks as StackMode)) {
      throw new TypeError(`threadsafe: configure({ stacks }): expected "off", "blocking" or "all", got ${String(changes.stacks)}`);
    }
  }
  if (changes.stallWarnMs !== undefined) {
    const ms = changes.stallWarnMs;
    if (typeof ms !== "number") throw new TypeError(`threadsafe: configure({ stallWarnMs }): expected a number of milliseconds, got ${String(ms)}`);
    if (!Number.isInteger(ms) || ms < 0 || ms > 0x7fffffff) {
      throw new RangeError(`threadsafe: configure({ stallWarnMs }): expected a whole number of milliseconds from 0 (off) to 2147483647, got ${ms}`);
    }
  }
  if (changes.onReport !== undefined && typeof changes.onReport !== "function") {
    throw new TypeError(`threadsafe: configure({ onReport }): expected a function, got ${typeof changes.onReport}`);
  }
  if (changes.lockOrder !== undefined) settings.lockOrder = changes.lockOrder as LockOrderMode;
  if (changes.stacks !== undefined) settings.stacks = changes.stacks as StackMode;
  if (changes.stallWarnMs !== undefined) settings.stallWarnMs = changes.stallWarnMs as number;
  if (changes.onReport !== undefined) settings.onReport = changes.onReport as (report: Report) => void;
  refreshTracking();
}

/** Sends a report to this thread's handler; a throwing handler does not break the lock that reported. */
export function report(item: Report): void {
  try {
    settings.onReport(item);
  } catch (error) {
    console.error("threadsafe: configure({ onReport }) handler threw:", error);
  }
}
