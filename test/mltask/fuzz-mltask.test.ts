/**
 * The `mltask` fuzz target of `npm run fuzz` (bench/fuzz-mltask.ts), 2,000 inputs: random MLTask manifests (and MLTaskClasses, and their YAML) through validation and render.
 * No crash (an exception other than the module's documented answer to bad input) and no hang. The
 * 100,000-input run and its figures: docs/reliability.md, "Fuzzing".
 */
import { describe, expect, it } from 'vitest';
import { mltaskTarget } from '../../bench/fuzz-mltask.js';
import { runTarget } from '../../bench/fuzz-kit.js';

describe('fuzz: mltask', () => {
  it('2,000 inputs: 0 crashes, 0 hangs', () => {
    // 3 s here (1 s in the 100,000-input run): vitest runs other files beside this one on 2 cores.
    const r = runTarget(mltaskTarget(), { inputs: 2000, seed: 20261207, hangMs: 3000 });
    expect(r.crashInputs).toEqual([]);
    expect(r.hangInputs).toEqual([]);
    expect(r.inputs).toBe(2000);
  });
});
