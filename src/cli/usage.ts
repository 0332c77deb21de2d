/** What every CLI error shares: the hint line after it, and the version `--version` prints. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const USAGE_HINT = "(add --help for the options, or run 'linkpack help <command>')";

/** The version in package.json, found from this file in src/ or dist/src/. */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'linkpack' && pkg.version) return pkg.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Exit status of a usage error (bad flag, bad value); 1 is for failures of the work itself. */
export const EXIT_USAGE = 2;

/** Errors a user caused (bad flag value, missing file): one line and the hint, exit 2. */
export function isUsageError(e: unknown): boolean {
  const name = (e as { name?: string; code?: string } | null)?.name;
  return name === 'UsageError' || (e as { code?: string } | null)?.code === 'commander.invalidArgument';
}
