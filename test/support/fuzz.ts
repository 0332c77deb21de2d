/** The unit-test form of an `npm run fuzz` target (bench/fuzz-<name>.ts): 2,000 inputs, 0 crashes, 0 hangs. */
import { describe, expect, it } from 'vitest';
import { runTarget, type FuzzTarget } from '../../bench/fuzz-kit.js';

export function fuzzSuite<I>(name: string, target: () => FuzzTarget<I>, inputs = 2000): void {
  describe(`fuzz: ${name}`, () => {
    it(`${inputs} inputs: 0 crashes, 0 hangs`, () => {
      // 3 s here (1 s in the 100,000-input run): vitest runs other files beside this one on 2 cores.
      const r = runTarget(target(), { inputs, seed: 20261207, hangMs: 3000 });
      expect(r.crashInputs).toEqual([]);
      expect(r.hangInputs).toEqual([]);
      expect(r.inputs).toBe(inputs);
    });
  });
}
