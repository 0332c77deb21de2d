/** The CI skip rule of test/support/skip-reporter.ts: an allow-list entry covers a skip by file and name. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALLOW_LIST, allowedSkips, unlistedSkips } from './skip-reporter.js';

describe('CI skip allow-list', () => {
  const skipped = [
    { file: 'test/e2e/crds.e2e.test.ts', name: 'CRDs on the real kube-apiserver > every CRD Established' },
    { file: 'test/agent/observe.test.ts', name: 'reads a recorded old-driver row (needs ../shared fixtures)' },
  ];

  it('an unlisted skip is reported; a listed one (file > name substring) is not', () => {
    expect(unlistedSkips(skipped, [])).toEqual(skipped);
    expect(unlistedSkips(skipped, allowedSkips('# why\n\ntest/agent/observe.test.ts > reads a recorded\n'))).toEqual([skipped[0]]);
  });

  it('the shipped allow-list is empty: CI runs every suite', () => {
    expect(allowedSkips(readFileSync(ALLOW_LIST, 'utf8'))).toEqual([]);
  });
});
