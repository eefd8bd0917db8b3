// The idiom rows of `uncontended` (variants of threadsafe in lib/cases.mjs): the same critical section,
// `value += 1` on a Mutex<i32>, written the other ways the API offers. Each checks first that this build
// has the API it needs and reports n/a (Unavailable) otherwise, so that an older commit under
// `--compare` says so instead of failing.
import { createRequire } from 'node:module';
import { Unavailable } from '../lib/measure.mjs';

// `using` as a user writes it. Node 20 cannot parse it: a library user targeting Node 20 ships what a
// bundler makes of it, so the `using` row is this source compiled by esbuild with target node20 (at bench
// time, by the esbuild in node_modules, outside the timing); `using-native` imports it as is, where the
// runtime parses `using` itself (n/a elsewhere).
const USING_SOURCE = `export function loop(m, n) {
  for (let i = 0; i < n; i++) {
    using g = m.lock();
    g.value += 1;
  }
}
`;

const importSource = (code) => import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);

function esbuildVersion() {
  try {
    return createRequire(import.meta.url)('esbuild/package.json').version;
  } catch {
    return '?';
  }
}

async function usingLoop(native) {
  if (native) {
    try {
      return { mod: await importSource(USING_SOURCE), how: 'native `using` (no compilation)' };
    } catch (e) {
      if (e?.name === 'SyntaxError') throw new Unavailable(`Node ${process.version} does not parse \`using\` (see the esbuild row)`);
      throw e;
    }
  }
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Unavailable(`esbuild not installed (npm install): ${e?.message ?? e}`);
  }
  // transformSync: one short-lived esbuild process, gone before the timing starts.
  const { code } = esbuild.transformSync(USING_SOURCE, { loader: 'js', format: 'esm', target: 'node20' });
  if (/\busing\s+g\b/.test(code)) throw new Error('esbuild left `using` in its node20 output');
  return { mod: await importSource(code), how: `\`using\` lowered by esbuild ${esbuildVersion()} (target node20: try/finally + its __using/__callDispose helpers)` };
}

// `using` compiled by tsc (target ES2022: its __addDisposableResource/__disposeResources helpers, an env object per
// block) and by tsx as a user running a .ts file would (tsx compiles with esbuild for the running Node: lowered on
// Node 20, as the esbuild row; whatever esbuild decides for newer Nodes).
async function usingTsc() {
  let ts;
  try {
    ts = (await import('typescript')).default;
  } catch (e) {
    throw new Unavailable(`typescript not installed (npm install): ${e?.message ?? e}`);
  }
  const { outputText } = ts.transpileModule(USING_SOURCE, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  if (/\busing\s+g\b/.test(outputText)) throw new Error('tsc left `using` in its ES2022 output');
  return { mod: await importSource(outputText), how: `\`using\` lowered by tsc ${ts.version} (target ES2022: __addDisposableResource/__disposeResources)` };
}

async function usingTsx() {
  let api;
  try {
    api = await import('tsx/esm/api');
  } catch (e) {
    throw new Unavailable(`tsx not installed (npm install): ${e?.message ?? e}`);
  }
  const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
  const dir = new URL('../../.bench-tmp/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`using-tsx-${process.pid}.ts`, dir);
  writeFileSync(file, USING_SOURCE.replace('(m, n)', '(m: { lock(): { value: number } & Disposable }, n: number)'));
  const mod = await api.tsImport(file.href, import.meta.url);
  rmSync(file, { force: true });
  const version = createRequire(import.meta.url)('tsx/package.json').version;
  return { mod, how: `\`using\` in a .ts file run by tsx ${version} (its esbuild, target: the running Node)` };
}

/**
 * The `using` loop (`USING_SOURCE`, `loop(m, n)`) as the variant compiles it: `using` (esbuild, target node20),
 * `using-tsc`, `using-tsx` or `using-native`. Shared by threadsafe's rows and the raw futex's `using` floors, so both
 * run exactly the same compiled loop.
 */
export async function usingModule(variant) {
  return variant === 'using-tsc' ? usingTsc() : variant === 'using-tsx' ? usingTsx() : usingLoop(variant === 'using-native');
}

/** { loop(n), note } for one idiom on mutex `m` (a Mutex<i32>). */
export async function idiomLoop(variant, m, who) {
  const proto = Object.getPrototypeOf(m);
  switch (variant) {
    case 'with': {
      if (typeof proto.with !== 'function') throw new Unavailable(`${who}: no Mutex.prototype.with in this build`);
      return {
        loop(n) {
          for (let i = 0; i < n; i++) {
            m.with((g) => {
              g.value += 1;
            });
          }
        },
        note: '`m.with((g) => { g.value += 1; })` (a fresh arrow per call, as written inline)',
      };
    }
    case 'withAsync': {
      if (typeof proto.withAsync !== 'function') throw new Unavailable(`${who}: no Mutex.prototype.withAsync in this build`);
      return {
        async loop(n) {
          for (let i = 0; i < n; i++) {
            await m.withAsync((g) => {
              g.value += 1;
            });
          }
        },
        note: '`await m.withAsync((g) => { g.value += 1; })`: includes the awaits (compare with lockAsync and its `await null` row, not with the sync floor)',
      };
    }
    case 'using':
    case 'using-tsc':
    case 'using-tsx':
    case 'using-native': {
      const g = m.lock();
      const disposable = typeof g[Symbol.dispose] === 'function';
      g.unlock();
      if (!disposable) throw new Unavailable(`${who}: the guard has no [Symbol.dispose] in this build`);
      const { mod, how } = await usingModule(variant);
      return { loop: (n) => mod.loop(m, n), note: `\`using g = m.lock(); g.value += 1;\`: ${how}` };
    }
    default:
      throw new Error(`unknown idiom "${variant}"`);
  }
}
