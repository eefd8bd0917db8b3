#!/usr/bin/env node
// Generates src/sync/atomic-int.ts: the integer atomic types, one class each, every method written out per class.
// Why generated: a method shared by the eight classes (a base class, or a factory) would see eight typed-array types
// at each `Atomics` call site, and a polymorphic `Atomics.add` is slower than the bare call the types promise to match.
// Each class here has its own copy, so each call site sees one type.
//
//   node scripts/gen-atomics.mjs          writes the file
//   node scripts/gen-atomics.mjs --check  exits 1 when the file is not what this script writes (test/atomic.test.ts)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../src/sync/atomic-int.ts', import.meta.url));

const TYPES = [
  { name: 'AtomicI8', kind: 'i8', array: 'Int8Array', bits: 8, signed: true },
  { name: 'AtomicU8', kind: 'u8', array: 'Uint8Array', bits: 8, signed: false },
  { name: 'AtomicI16', kind: 'i16', array: 'Int16Array', bits: 16, signed: true },
  { name: 'AtomicU16', kind: 'u16', array: 'Uint16Array', bits: 16, signed: false },
  { name: 'AtomicI32', kind: 'i32', array: 'Int32Array', bits: 32, signed: true },
  { name: 'AtomicU32', kind: 'u32', array: 'Uint32Array', bits: 32, signed: false },
  { name: 'AtomicI64', kind: 'i64', array: 'BigInt64Array', bits: 64, signed: true },
  { name: 'AtomicU64', kind: 'u64', array: 'BigUint64Array', bits: 64, signed: false },
];

function limits(t) {
  if (t.bits === 64) {
    return t.signed ? { min: '-(2n ** 63n)', max: '2n ** 63n - 1n', minText: '-9223372036854775808n', maxText: '9223372036854775807n' } : { min: '0n', max: '2n ** 64n - 1n', minText: '0n', maxText: '18446744073709551615n' };
  }
  const min = t.signed ? -(2 ** (t.bits - 1)) : 0;
  const max = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
  return { min: String(min), max: String(max), minText: String(min), maxText: String(max) };
}

/** The expression that is true when `v` is a value of the type (the fast path's whole check). */
function fits(t, v) {
  const M = `${t.kind.toUpperCase()}`;
  if (t.bits === 64) return `typeof ${v} === "bigint" && ${v} >= MIN_${M} && ${v} <= MAX_${M}`;
  const exact = {
    i8: `(${v} << 24) >> 24`,
    u8: `${v} & 0xff`,
    i16: `(${v} << 16) >> 16`,
    u16: `${v} & 0xffff`,
    i32: `${v} | 0`,
    u32: `${v} >>> 0`,
  }[t.kind];
  // typeof first: a bigint in a bitwise expression with a number throws, and an object's valueOf must not run.
  return `typeof ${v} === "number" && (${exact}) === ${v}`;
}

function classText(t) {
  const T = t.bits === 64 ? 'bigint' : 'number';
  const lit = (x) => (t.bits === 64 ? `${x}n` : `${x}`);
  const L = limits(t);
  const M = t.kind.toUpperCase();
  const check = (v, method, arg) => `    if (!(${fits(t, v)})) badValue("${t.name}", "${method}", "${arg}", ${v}, MIN_${M}, MAX_${M});`;
  const wrapMax = L.maxText;
  const wrapExample = t.signed
    ? `new ${t.name}(${wrapMax}).fetchAdd(${lit(1)}) leaves ${L.minText}`
    : `new ${t.name}(${wrapMax}).fetchAdd(${lit(1)}) leaves ${lit(0)}; new ${t.name}(${lit(0)}).fetchSub(${lit(1)}) leaves ${wrapMax}`;
  const rmw = (method, op, verb) => `
  /**
   * ${verb}; returns the previous value.${method === 'fetchAdd' || method === 'fetchSub' ? ' Wraps around on overflow, as Rust does.' : ''}
   * @throws ${t.bits === 64 ? 'TypeError when `value` is not a bigint' : 'TypeError when `value` is not a number'}; RangeError when it is ${t.bits === 64 ? '' : 'not an integer or '}outside ${L.minText}..${L.maxText}.
   */
  ${method}(value: ${T}): ${T} {
${check('value', method, 'value')}
    return Atomics.${op}(this.#a, 0, value);
  }
`;
  return `
/**
 * ${t.signed ? 'A signed' : 'An unsigned'} ${t.bits}-bit integer shared between threads, changed atomically (Rust's \`${t.name}\`), as a
 * \`${T}\` from ${L.minText} to ${L.maxText}. Each operation is one \`Atomics\` call on ${/^I/.test(t.array) ? 'an' : 'a'} \`${t.array}\`
 * (\`fetchNand\`, \`fetchMax\`, \`fetchMin\` and \`update\` are compare-and-swap loops), sequentially consistent.
 * Arithmetic wraps around as in Rust: ${wrapExample}. A value outside the type's range is a \`RangeError\`
 * (Rust rejects it at compile time), a value of another JS type a \`TypeError\`.
 *
 * @example
 * import { ${t.name}, spawn } from "threadsafe";
 * const hits = new ${t.name}(${lit(0)}, { name: "hits" });
 * const workers = [1, 2].map(() => spawn((hits) => { for (let i = 0; i < 100; i++) hits.fetchAdd(${lit(1)}); }, [hits]));
 * for (const w of workers) await w.join();
 * hits.load();                              // ${lit(200)}
 * hits.compareExchange(${lit(200)}, ${lit(0)});             // ${lit(200)}: it was ${lit(200)}, so it is ${lit(0)} now
 * hits.fetchMax(${lit(7)});                         // ${lit(0)}; the value is ${lit(7)}
 */
export class ${t.name} implements SharedObject {
  readonly #a: ${t.array};
  readonly #core: AtomicCore;

  /**
   * @param value the initial value (default ${lit(0)}).
   * @throws TypeError or RangeError when \`value\` does not fit, or an option is malformed.
   */
  constructor(value: ${T} = ${lit(0)}, options?: AtomicOptions) {
    const revived = takeReviving();
    if (revived) {
      this.#core = revived;
      this.#a = revived.array as ${t.array};
      return;
    }
${check('value', 'constructor', 'value')}
    this.#core = createAtomic(${t.kind}, value, options, "new ${t.name}(value, options)");
    this.#a = this.#core.array as ${t.array};
  }

  /** The value. */
  load(): ${T} {
    return Atomics.load(this.#a, 0);
  }

  /**
   * Stores \`value\`.
   * @throws TypeError or RangeError when \`value\` is not ${t.bits === 64 ? 'a bigint' : 'an integer'} from ${L.minText} to ${L.maxText}.
   */
  store(value: ${T}): void {
${check('value', 'store', 'value')}
    Atomics.store(this.#a, 0, value);
  }

  /**
   * Stores \`value\`; returns the previous value.
   * @throws TypeError or RangeError when \`value\` does not fit.
   */
  swap(value: ${T}): ${T} {
${check('value', 'swap', 'value')}
    return Atomics.exchange(this.#a, 0, value);
  }

  /**
   * Stores \`next\` if the value is \`current\`; returns the previous value either way (it succeeded iff that equals
   * \`current\`).
   * @throws TypeError or RangeError when \`current\` or \`next\` does not fit.
   */
  compareExchange(current: ${T}, next: ${T}): ${T} {
${check('current', 'compareExchange', 'current')}
${check('next', 'compareExchange', 'next')}
    return Atomics.compareExchange(this.#a, 0, current, next);
  }
${rmw('fetchAdd', 'add', 'Adds `value`')}${rmw('fetchSub', 'sub', 'Subtracts `value`')}${rmw('fetchAnd', 'and', 'Bitwise "and" with `value`')}${rmw('fetchOr', 'or', 'Bitwise "or" with `value`')}${rmw('fetchXor', 'xor', 'Bitwise "xor" with `value`')}
  /**
   * Bitwise "nand" with \`value\` (the value becomes \`~(old & value)\`); returns the previous value.
   * @throws TypeError or RangeError when \`value\` does not fit.
   */
  fetchNand(value: ${T}): ${T} {
${check('value', 'fetchNand', 'value')}
    const a = this.#a;
    for (;;) {
      const old = Atomics.load(a, 0);
      // ~(old & value) has the right low ${t.bits} bits; the typed array keeps exactly those.
      if (Atomics.compareExchange(a, 0, old, ~(old & value)) === old) return old;
    }
  }

  /**
   * Stores the larger of the value and \`value\`; returns the previous value.
   * @throws TypeError or RangeError when \`value\` does not fit.
   */
  fetchMax(value: ${T}): ${T} {
${check('value', 'fetchMax', 'value')}
    const a = this.#a;
    let old = Atomics.load(a, 0);
    while (old < value) {
      const seen = Atomics.compareExchange(a, 0, old, value);
      if (seen === old) break;
      old = seen;
    }
    return old;
  }

  /**
   * Stores the smaller of the value and \`value\`; returns the previous value.
   * @throws TypeError or RangeError when \`value\` does not fit.
   */
  fetchMin(value: ${T}): ${T} {
${check('value', 'fetchMin', 'value')}
    const a = this.#a;
    let old = Atomics.load(a, 0);
    while (old > value) {
      const seen = Atomics.compareExchange(a, 0, old, value);
      if (seen === old) break;
      old = seen;
    }
    return old;
  }

  /**
   * Replaces the value with \`fn(value)\` atomically (a compare-and-swap loop: \`fn\` may run more than once when
   * other threads change the value meanwhile, so it should have no side effects); returns the previous value.
   * \`fn\`'s result must fit the type: it is not wrapped (use \`fetchAdd\` for wrapping arithmetic).
   * @throws TypeError when \`fn\` is not a function; TypeError or RangeError when its result does not fit (nothing is
   *   stored then); what \`fn\` throws.
   */
  update(fn: (value: ${T}) => ${T}): ${T} {
    checkUpdateFn(fn, "${t.name}");
    const a = this.#a;
    for (;;) {
      const old = Atomics.load(a, 0);
      const next = fn(old);
${check('next', 'update', 'the value fn returned').replace(/^    /, '      ')}
      if (Atomics.compareExchange(a, 0, old, next) === old) return old;
    }
  }

  /** The object's name in reports: the one given, or \`Atomic#<id>\`. */
  get name(): string {
    return this.#core.rt.objectName(this.#core.id);
  }

  /** The per-thread core (sharing). */
  [atomicCore](): AtomicCore {
    return this.#core;
  }

  /** Where this atomic lives in the runtime (sharing, lifetime). */
  [sharedObject](): SharedRef {
    return { rt: this.#core.rt, id: this.#core.id, kind: ObjectKind.Atomic };
  }
}

registerAtomicClass("${t.kind}", ${t.name} as AtomicClass, (data) => new ${t.array}(data, DATA_OFFSET, 1));
`;
}

function fileText() {
  const consts = TYPES.map((t) => {
    const L = limits(t);
    const M = t.kind.toUpperCase();
    return `const MIN_${M} = ${L.min};\nconst MAX_${M} = ${L.max};`;
  }).join('\n');
  return `// GENERATED by scripts/gen-atomics.mjs: edit the script, not this file (\`node scripts/gen-atomics.mjs\`).
/**
 * The integer atomic types: \`AtomicI8\`, \`AtomicU8\`, \`AtomicI16\`, \`AtomicU16\`, \`AtomicI32\`, \`AtomicU32\` (number),
 * \`AtomicI64\`, \`AtomicU64\` (bigint). What they share (allocation, sharing, errors, \`AtomicBool\`) is in atomic.ts;
 * each class here has its own copy of every method so that each \`Atomics\` call site sees one typed-array type.
 *
 * Every argument is checked on the fast path by one comparison (a number equal to its own \`| 0\`, \`>>> 0\`, shift or
 * mask; a bigint between the type's bounds); anything else goes to \`badValue\`, which says what is allowed.
 */

import { i8, u8, i16, u16, i32, u32, i64, u64 } from "../layout/index.js";
import { ObjectKind } from "../runtime/kinds.js";
import { DATA_OFFSET } from "./data.js";
import { atomicCore, badValue, checkUpdateFn, createAtomic, registerAtomicClass, takeReviving, type AtomicClass, type AtomicCore, type AtomicOptions } from "./atomic.js";
import { sharedObject, type SharedObject, type SharedRef } from "./shareable.js";

${consts}
${TYPES.map(classText).join('')}`;
}

const text = fileText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('src/sync/atomic-int.ts is not what scripts/gen-atomics.mjs writes: run node scripts/gen-atomics.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
