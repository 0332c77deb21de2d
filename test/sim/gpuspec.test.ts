import { describe, expect, it } from 'vitest';
import { constrainedPctOf, constraintPool, withModelConstraints } from '../../src/sim/gpuspec.js';
import type { TracePod } from '../../src/sim/trace.js';

const pod = (i: number, gpuCount: number, milliPerGpu: number, gpuSpec: string[] = []): TracePod => ({ name: `p${i}`, cpuMilli: 1000, memoryMiB: 1, gpuCount, milliPerGpu, gpuSpec });
const base = [...Array.from({ length: 200 }, (_, i) => pod(i, 1, i % 2 ? 500 : 1000)), ...Array.from({ length: 50 }, (_, i) => pod(200 + i, 0, 0))];
const source = [pod(0, 1, 500, ['T4']), pod(1, 1, 1000, ['G2']), pod(2, 1, 1000, ['V100M16', 'V100M32']), pod(3, 1, 300, [])];

describe('model-constrained variants (gpuspec.ts)', () => {
  it('constrains exactly NN% of the GPU pods, never a CPU-only pod, drawing by class', () => {
    const out = withModelConstraints(base, 15, constraintPool(source), 7);
    const constrained = out.filter((p) => p.gpuSpec.length > 0);
    expect(constrained.length).toBe(30);
    expect(constrained.every((p) => p.gpuCount > 0)).toBe(true);
    for (const p of constrained) expect(p.milliPerGpu < 1000 ? [['T4']] : [['G2'], ['V100M16', 'V100M32']]).toContainEqual(p.gpuSpec);
    // Everything but the constraint is the base list's.
    expect(out.map(({ gpuSpec: _, ...rest }) => rest)).toEqual(base.map(({ gpuSpec: _, ...rest }) => rest));
  });
  it('is seeded, drops constraints already there, and refuses a share outside 0..100', () => {
    const pool = constraintPool(source);
    expect(withModelConstraints(base, 20, pool, 1)).toEqual(withModelConstraints(base, 20, pool, 1));
    expect(withModelConstraints(base, 20, pool, 1)).not.toEqual(withModelConstraints(base, 20, pool, 2));
    expect(withModelConstraints(source, 0, pool, 1).every((p) => p.gpuSpec.length === 0)).toBe(true);
    expect(() => withModelConstraints(base, 120, pool, 1)).toThrow(/0\.\.100%, got 120/);
  });
  it('names: gpuspecNN → NN', () => {
    expect(constrainedPctOf('gpuspec15')).toBe(15);
    expect(constrainedPctOf('gpuspec10-gen')).toBeUndefined();
    expect(constrainedPctOf('default')).toBeUndefined();
  });
});
