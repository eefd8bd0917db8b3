/**
 * UTF-8 for `string` and `json`: byte length with lone-surrogate detection, an allocation-free encoder, and a
 * decoder that never hands shared memory to `TextDecoder` (browsers refuse shared views).
 */

const decoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/**
 * The UTF-8 byte length of `s`, or `-1 - i` when `s` has a lone surrogate at index `i` (such a string has no
 * UTF-8 form; `TextEncoder` would silently replace it with U+FFFD).
 */
export function utf8Length(s: string): number {
  let bytes = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if ((c & 0xfc00) === 0xd800) {
      if (i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        bytes += 4;
        i++;
      } else return -1 - i;
    } else if ((c & 0xfc00) === 0xdc00) return -1 - i;
    else bytes += 3;
  }
  return bytes;
}

/**
 * Writes the UTF-8 of a well-formed string `s` into `u8` at `at` and returns the bytes written. The caller has
 * checked that `s` is well-formed and fits.
 */
export function encodeUtf8(s: string, u8: Uint8Array, at: number, room: number): number {
  const n = s.length;
  if (n > 64) return encoder.encodeInto(s, u8.subarray(at, at + room)).written;
  let p = at;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      u8[p++] = c;
    } else if (c < 0x800) {
      u8[p++] = 0xc0 | (c >> 6);
      u8[p++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xfc00) === 0xd800) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      u8[p++] = 0xf0 | (c >> 18);
      u8[p++] = 0x80 | ((c >> 12) & 0x3f);
      u8[p++] = 0x80 | ((c >> 6) & 0x3f);
      u8[p++] = 0x80 | (c & 0x3f);
    } else {
      u8[p++] = 0xe0 | (c >> 12);
      u8[p++] = 0x80 | ((c >> 6) & 0x3f);
      u8[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p - at;
}

/** Decodes `u8[start, end)`. Invalid sequences (only possible in corrupted memory) become U+FFFD. */
export function decodeUtf8(u8: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = u8[i];
      if (b >= 0x80) return decoder.decode(u8.slice(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  // `slice` copies into a fresh, unshared buffer: TextDecoder refuses shared views on some runtimes.
  return decoder.decode(u8.slice(start, end));
}
