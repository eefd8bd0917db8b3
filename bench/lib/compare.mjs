// `run.mjs --compare <ref>`: builds the library of another commit and names it as implementation
// `threadsafe@<short-sha>` (impls/index.mjs), which runs this tree's bench/impls/threadsafe.mjs against that
// commit's dist/. Only the library comes from the other commit: the cases, drivers and floors are this tree's,
// so both sides measure exactly the same loops.
//
// The tree: `git archive <sha>` extracted into .bench-tmp/compare/<sha>/ (gitignored; no `git worktree`, so the
// repository's worktree list is left alone), node_modules a symlink to this tree's, then that commit's own
// `npm run build`. A build is cached by sha (the marker file .bench-build.json records it); a failed build is
// not cached, it is retried next time.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPARE_PREFIX } from '../impls/index.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const COMPARE_DIR = join(ROOT, '.bench-tmp', 'compare');
const MARKER = '.bench-build.json';
const SHORT = 7;

function git(args) {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The dist/index.js of a `threadsafe@<sha>` implementation, or undefined when it is not a compare name. */
export function compareDist(name) {
  if (!name.startsWith(COMPARE_PREFIX)) return undefined;
  const short = name.slice(COMPARE_PREFIX.length);
  const dirs = existsSync(COMPARE_DIR) ? readdirSync(COMPARE_DIR).filter((d) => d.startsWith(short) && /^[0-9a-f]{40}$/.test(d)) : [];
  if (dirs.length !== 1) return { missing: dirs.length ? `${short} is ambiguous in .bench-tmp/compare/` : `no build of ${short} in .bench-tmp/compare/ (run bench/run.mjs --compare ${short})` };
  const dir = join(COMPARE_DIR, dirs[0]);
  if (!existsSync(join(dir, MARKER))) return { missing: `the build of ${short} did not finish (run bench/run.mjs --compare ${short} again)` };
  return { dist: join(dir, 'dist', 'index.js') };
}

/**
 * Resolves `ref`, builds that commit's library unless a build of it is cached, and returns
 * { ref, sha, name, dir, cached, ms } or { ref, sha?, name?, error } (the run goes on without it).
 */
export function prepareCompare(ref, log = () => {}) {
  let sha;
  try {
    sha = git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    return { ref, error: `git cannot resolve "${ref}" to a commit` };
  }
  const short = sha.slice(0, SHORT);
  const name = `${COMPARE_PREFIX}${short}`;
  const dir = join(COMPARE_DIR, sha);
  const subject = (() => {
    try {
      return git(['log', '-1', '--format=%s', sha]);
    } catch {
      return '';
    }
  })();
  const base = { ref, sha, short, name, dir, subject };
  if (existsSync(join(dir, MARKER)) && existsSync(join(dir, 'dist', 'index.js'))) return { ...base, cached: true };

  const t0 = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`compare: building ${name} (${ref}: ${subject}) in ${dir}`);
  const tar = join(COMPARE_DIR, `.tmp-${sha}.tar`);
  try {
    git(['archive', '--format=tar', '-o', tar, sha]);
    execFileSync('tar', ['-xf', tar, '-C', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return { ...base, error: `git archive ${short} failed: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-1)[0]}` };
  } finally {
    rmSync(tar, { force: true });
  }
  // The other commit's devDependencies may differ from this tree's: its build then fails and says so.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return { ...base, error: `${short} has no readable package.json` };
  }
  if (!pkg.scripts?.build) return { ...base, error: `${short} has no "build" script` };
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'build'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  if (r.status !== 0 || !existsSync(join(dir, 'dist', 'index.js'))) {
    const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').filter((l) => /\w/.test(l));
    return { ...base, error: `npm run build failed in ${short} (exit ${r.status ?? r.signal ?? r.error?.message}): ${out.slice(-3).join(' | ')}` };
  }
  const ms = Date.now() - t0;
  writeFileSync(join(dir, MARKER), JSON.stringify({ sha, ref, subject, builtAt: new Date().toISOString(), ms }, null, 2));
  return { ...base, cached: false, ms };
}
