/**
 * Dump areas: each thread slot owns DUMP_WORDS words of the runtime buffer where, while stack capture is on, the
 * thread keeps a small text (JSON) describing where it acquired the locks it holds and where it is blocked. A
 * deadlock or timeout report made in another thread reads it: JavaScript cannot read another thread's stack.
 *
 * Layout of one area (Int32 words): [0] sequence (odd while being written), [1] byte length, then UTF-8 bytes.
 * Only the owning thread writes its area; readers retry while the sequence is odd or changes under them.
 */

import type { Runtime } from "./runtime.js";
import { slotOf } from "./threads.js";

/** Int32 words of one thread's dump area (4 KiB). */
export const DUMP_WORDS = 1024;

const D_SEQUENCE = 0;
const D_LENGTH = 1;
const D_TEXT = 2;
/** Bytes of text one area holds. */
export const DUMP_TEXT_BYTES = (DUMP_WORDS - D_TEXT) * 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function areaBase(rt: Runtime, id: number): number {
  return rt.dumpsBase + slotOf(id) * DUMP_WORDS;
}

/** Replaces thread `id`'s dump text (called by that thread only). Text over the budget is cut. */
export function writeDump(rt: Runtime, id: number, text: string): void {
  const base = areaBase(rt, id);
  let bytes = encoder.encode(text);
  if (bytes.length > DUMP_TEXT_BYTES) bytes = bytes.subarray(0, DUMP_TEXT_BYTES);
  Atomics.add(rt.words, base + D_SEQUENCE, 1); // odd: writing
  new Uint8Array(rt.buffer, (base + D_TEXT) * 4, bytes.length).set(bytes);
  Atomics.store(rt.words, base + D_LENGTH, bytes.length);
  Atomics.add(rt.words, base + D_SEQUENCE, 1); // even: stable
}

/** Reads thread `id`'s dump text, or undefined when it is empty or kept changing. */
export function readDump(rt: Runtime, id: number): string | undefined {
  const base = areaBase(rt, id);
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = Atomics.load(rt.words, base + D_SEQUENCE);
    if (before & 1) continue;
    const length = Math.min(Atomics.load(rt.words, base + D_LENGTH), DUMP_TEXT_BYTES);
    const copy = new Uint8Array(rt.buffer, (base + D_TEXT) * 4, length).slice();
    if (Atomics.load(rt.words, base + D_SEQUENCE) !== before) continue;
    return length === 0 ? undefined : decoder.decode(copy);
  }
  return undefined;
}

/** Empties thread `id`'s dump area (a new thread in a reused slot starts clean). */
export function clearDump(rt: Runtime, id: number): void {
  writeDump(rt, id, "");
}
