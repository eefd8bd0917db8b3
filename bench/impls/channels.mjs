// The channel cases' floors and postMessage (lib/channel-cases.mjs): `sab-ring`, `spin-park-pingpong`,
// `post-message`. threadsafe's channel handlers are in impls/threadsafe.mjs (from the same file).
import { baselineCases } from '../lib/channel-cases.mjs';

export async function load(name) {
  const cases = baselineCases(name);
  if (!cases) throw new Error(`channels.mjs has no implementation "${name}"`);
  return cases;
}
