/**
 * A test-only fault hook: `LINKPACK_CRASH_AT=<point>:<marker file>` makes the process SIGKILL itself
 * the first time it reaches `<point>` (the marker file is created first, so a restarted process runs
 * on). The fault suites use it to crash the extender at an exact step of a bind, which no outside
 * signal can hit reliably. Unset in production: one environment read, nothing else.
 */
import { existsSync, writeFileSync } from 'node:fs';

export type CrashPoint = 'after-annotate' | 'after-binding';

const spec = process.env.LINKPACK_CRASH_AT;

export function crashPoint(point: CrashPoint): void {
  if (!spec) return;
  const at = spec.indexOf(':');
  if (at < 0 || spec.slice(0, at) !== point) return;
  const marker = spec.slice(at + 1);
  if (existsSync(marker)) return;
  writeFileSync(marker, `${point} ${new Date().toISOString()}\n`);
  process.kill(process.pid, 'SIGKILL');
}
