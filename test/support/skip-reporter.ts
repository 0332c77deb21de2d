/**
 * Every skipped test is listed with its file, its name (which says what it needs) and its note,
 * so a skip never passes unseen. Under CI=true a skip fails the run unless test/ci-allowed-skips.txt
 * lists it: CI that skips the control-plane or ../shared suites (Go or the shared folder missing)
 * would otherwise stay green while testing little.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export const ALLOW_LIST = path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), 'ci-allowed-skips.txt');

/** Lines of the allow-list: `<file> > <test name>` substrings (blank lines and # comments ignored). */
export function allowedSkips(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export interface SkippedTest {
  file: string;
  name: string;
  note?: string;
}

/** The skips the allow-list does not cover. */
export function unlistedSkips(skipped: SkippedTest[], allowed: string[]): SkippedTest[] {
  return skipped.filter((s) => !allowed.some((a) => `${s.file} > ${s.name}`.includes(a)));
}

export default class SkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: SkippedTest[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state !== 'skipped') continue;
        skipped.push({ file: m.relativeModuleId, name: t.fullName, ...(r.note ? { note: r.note } : {}) });
      }
    }
    if (!skipped.length) return;
    const line = (s: SkippedTest) => `  ${s.file} > ${s.name}${s.note ? ` (${s.note})` : ''}`;
    console.log(`\n${skipped.length} skipped test(s); each name says what it needs, the reason is printed above as its suite loaded:\n${skipped.map(line).join('\n')}`);
    if (process.env.CI !== 'true') return;
    const unlisted = unlistedSkips(skipped, existsSync(ALLOW_LIST) ? allowedSkips(readFileSync(ALLOW_LIST, 'utf8')) : []);
    if (!unlisted.length) return;
    console.error(`\nCI=true: ${unlisted.length} skipped test(s) not listed in test/ci-allowed-skips.txt, so this run fails:\n${unlisted.map(line).join('\n')}`);
    process.exitCode = 1;
  }
}
