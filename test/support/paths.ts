import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: the first folder above this file with a package.json (works from test/ and from compiled output such as dist/test). */
export const repoRoot = (() => {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();
/** ../shared (or $LINKPACK_SHARED): read-only reference data; tests skip when it is absent. */
export const sharedDir = process.env.LINKPACK_SHARED ?? path.resolve(repoRoot, '../shared');
export const hasShared = existsSync(path.join(sharedDir, 'fixtures'));
if (!hasShared) console.warn(`[skip] ${sharedDir}/fixtures is absent (set LINKPACK_SHARED): the suites on recorded nvidia-smi outputs and traces skip`);
export const sharedFixture = (name: string) => path.join(sharedDir, 'fixtures', 'nvidia-smi', name);
export const cliPath = path.join(repoRoot, 'dist/src/cli/main.js');

/** A suite that runs the compiled code fails without it, never skips or passes silently (npm test builds first). */
export function requireBuilt(...files: string[]): void {
  for (const f of [cliPath, ...files]) if (!existsSync(f)) throw new Error(`${path.relative(repoRoot, f)} is missing: run \`npm run build\` first (npm test builds before it tests)`);
}
