import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared (or $LINKPACK_SHARED): read-only reference data; tests skip when it is absent. */
export const sharedDir = process.env.LINKPACK_SHARED ?? path.resolve(repoRoot, '../shared');
export const hasShared = existsSync(path.join(sharedDir, 'fixtures'));
export const sharedFixture = (name: string) => path.join(sharedDir, 'fixtures', 'nvidia-smi', name);
export const cliPath = path.join(repoRoot, 'dist/src/cli/main.js');
