import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { hostPriorityJson } from '../../src/extender/wire-json.js';
import { HostPriorityListSchema } from '../../src/extender/wire-schemas.js';

describe('hostPriorityJson', () => {
  it('is JSON.stringify of the HostPriorityList for any names, quotes, backslashes and unicode included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.integer({ min: 0, max: 10 }))), (pairs) => {
        const names = pairs.map((p) => p[0]);
        const scores = pairs.map((p) => p[1]);
        const text = hostPriorityJson(names, scores);
        const expected = names.map((Host, i) => ({ Host, Score: scores[i]! }));
        expect(JSON.parse(text)).toEqual(expected);
        expect(Value.Check(HostPriorityListSchema, JSON.parse(text))).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(hostPriorityJson(['a"b', 'c\\d', 'é'], Uint8Array.of(1, 2, 3))).toBe(JSON.stringify([{ Host: 'a"b', Score: 1 }, { Host: 'c\\d', Score: 2 }, { Host: 'é', Score: 3 }]));
  });
});
