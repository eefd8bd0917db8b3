// Which Node binaries to run on: the one running this script, the first `node` on PATH outside
// node_modules/.bin, Node 24 and Node 26 from the `node` npm package (which ships a real binary), and any given
// with --node PATH.
//
// Node 24 and 26 are installed on first use into .bench-tmp/node24 and .bench-tmp/node26 rather than as
// devDependencies: the `node` package declares a bin named `node`, which would put it first on the PATH of every
// npm script and silently move `npm test` off Node 20.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function probe(bin) {
  try {
    const out = execFileSync(bin, ['-p', 'JSON.stringify([process.version, process.versions.v8])'], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [version, v8] = JSON.parse(out.trim());
    return { version, v8 };
  } catch (e) {
    return { error: (e.stderr?.toString() || e.message).trim().split('\n').slice(-1)[0] };
  }
}

function pathNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes(`node_modules${'/'}.bin`) || dir.includes('node-gyp-bin')) continue;
    const bin = join(dir, 'node');
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

/** The Node majors installed from npm for their own columns (Atomics.Mutex and native `using` need 24+). */
export const EXTRA_MAJORS = [24, 26];
const prefixOf = (major) => join(ROOT, '.bench-tmp', `node${major}`);
const binOf = (major) => join(prefixOf(major), 'node_modules', 'node', 'bin', 'node');

/** Installs Node `major` from the npm registry into .bench-tmp/node<major> if it is not there yet. */
export function ensureNode(major, log = console.log) {
  const bin = binOf(major);
  if (existsSync(bin)) return bin;
  log(`bench: installing Node ${major} (npm package node@${major}) into .bench-tmp/node${major} for its runtime column…`);
  try {
    mkdirSync(prefixOf(major), { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefixOf(major), `node@${major}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
  } catch (e) {
    log(`bench: could not install node@${major}: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-1)[0]}`);
  }
  return existsSync(bin) ? bin : undefined;
}

/**
 * Returns { runtimes: [{ id, bin, version, v8, major, source }], notes: [string] }, sorted by
 * version, one per distinct version.
 */
export function discoverRuntimes(extra = []) {
  const notes = [];
  const candidates = [
    { bin: process.execPath, source: 'running node' },
    { bin: pathNode(), source: 'node on PATH' },
    ...EXTRA_MAJORS.map((major) => ({ bin: binOf(major), source: `node@${major} npm package (.bench-tmp/node${major})`, major })),
    ...extra.map((bin) => ({ bin, source: '--node' })),
  ];
  const seen = new Map();
  for (const c of candidates) {
    if (!c.bin || !existsSync(c.bin)) {
      if (c.major !== undefined) {
        notes.push(`Node ${c.major} not found in .bench-tmp/node${c.major} (it is installed from npm on first run; that failed or was skipped): no node${c.major} column.`);
      } else if (c.source === '--node') {
        notes.push(`--node ${c.bin}: no such file`);
      }
      continue;
    }
    let real;
    try {
      real = realpathSync(c.bin);
    } catch {
      real = c.bin;
    }
    const info = probe(c.bin);
    if (info.error) {
      notes.push(`${c.source} (${c.bin}) does not run: ${info.error}`);
      continue;
    }
    if ([...seen.values()].some((r) => r.version === info.version || r.real === real)) continue;
    const major = Number(info.version.slice(1).split('.')[0]);
    seen.set(c.bin, { id: `node${major}`, bin: c.bin, real, source: c.source, major, ...info });
  }
  const runtimes = [...seen.values()].sort((a, b) => cmpVersion(a.version, b.version));
  for (const major of EXTRA_MAJORS) {
    if (!runtimes.some((r) => r.major === major)) continue;
    const i = notes.findIndex((n) => n.startsWith(`Node ${major} not found`));
    if (i >= 0) notes.splice(i, 1);
  }
  // Two binaries of one major would share an id: make them unique.
  for (const r of runtimes) if (runtimes.filter((o) => o.id === r.id).length > 1) r.id = `node${r.version.slice(1)}`;
  return { runtimes, notes };
}

function cmpVersion(a, b) {
  const pa = a.slice(1).split('.').map(Number);
  const pb = b.slice(1).split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}
