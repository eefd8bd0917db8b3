/**
 * Dump areas: a thread slot gets DUMP_WORDS words of the runtime's arena, the first time its thread writes a dump,
 * where (while stack capture is on) the thread keeps a small text (JSON) describing where it acquired the locks it
 * holds and where it is blocked. A deadlock or timeout report made in another thread reads it: JavaScript cannot
 * read another thread's stack. With stack capture off, no area is ever reserved. An area stays with its slot for
 * the slot's later threads.
 *
 * Layout of one area (Int32 words): [0] sequence (odd while being written), [1] byte length, then UTF-8 bytes.
 * Only the owning thread writes its area; readers retry while the sequence is odd or changes under them.
 */

import type { Runtime } from "./runtime.js";
import { allocateBlock } from "./strings.js";
import { T_DUMP_REF, slotOf } from "./threads.js";

/** Int32 words of one thread's dump area (4 KiB). */
export const DUMP_WORDS = 1024;

const D_SEQUENCE = 0;
const D_LENGTH = 1;
const D_TEXT = 2;
/** Bytes of text one area holds. */
export const DUMP_TEXT_BYTES = (DUMP_WORDS - D_TEXT) * 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Int32 index of thread `id`'s dump area, or -1 when it has none (and `reserve` is false, or the arena is full). */
function areaBase(rt: Runtime, id: number, reserve: boolean): number {
  const refIndex = rt.threadBase(slotOf(id)) + T_DUMP_REF;
  let ref = Atomics.load(rt.words, refIndex);
  if (ref === 0) {
    if (!reserve || !rt.arenaHasRoomFor(DUMP_WORDS * 4)) return -1;
    ref = allocateBlock(rt.arena, DUMP_WORDS * 4);
    Atomics.store(rt.words, refIndex, ref); // only the slot's own thread reserves its area
  }
  return (rt.arena.start + ref) / 4;
}

/** The arena grows: a view made before it grew does not reach a new area. */
function arenaWords(rt: Runtime): Int32Array {
  return new Int32Array(rt.buffer);
}

/** Replaces thread `id`'s dump text (called by that thread only). Text over the budget is cut. */
export function writeDump(rt: Runtime, id: number, text: string): void {
  const base = areaBase(rt, id, text !== "");
  if (base < 0) return;
  const words = arenaWords(rt);
  let bytes = encoder.encode(text);
  if (bytes.length > DUMP_TEXT_BYTES) bytes = bytes.subarray(0, DUMP_TEXT_BYTES);
  Atomics.add(words, base + D_SEQUENCE, 1); // odd: writing
  new Uint8Array(rt.buffer, (base + D_TEXT) * 4, bytes.length).set(bytes);
  Atomics.store(words, base + D_LENGTH, bytes.length);
  Atomics.add(words, base + D_SEQUENCE, 1); // even: stable
}

/** Reads thread `id`'s dump text, or undefined when it is empty or kept changing. */
export function readDump(rt: Runtime, id: number): string | undefined {
  const base = areaBase(rt, id, false);
  if (base < 0) return undefined;
  const words = arenaWords(rt);
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = Atomics.load(words, base + D_SEQUENCE);
    if (before & 1) continue;
    const length = Math.min(Atomics.load(words, base + D_LENGTH), DUMP_TEXT_BYTES);
    const copy = new Uint8Array(rt.buffer, (base + D_TEXT) * 4, length).slice();
    if (Atomics.load(words, base + D_SEQUENCE) !== before) continue;
    return length === 0 ? undefined : decoder.decode(copy);
  }
  return undefined;
}

/** Empties thread `id`'s dump area (a new thread in a reused slot starts clean). */
export function clearDump(rt: Runtime, id: number): void {
  writeDump(rt, id, "");
}
