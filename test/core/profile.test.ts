import { describe, expect, it } from 'vitest';
import { popularityProfile, profileFromShapes, typicalProfile, type ShapeSource } from '../../src/core/index.js';

const src = (gpuCount: number, milliPerGpu: number, cpuMilli = 1000, gpuSpec: string[] = []): ShapeSource => ({ cpuMilli, gpuCount, milliPerGpu, gpuSpec });
const many = (n: number, s: ShapeSource): ShapeSource[] => Array.from({ length: n }, () => s);

describe('typical shapes: popular ones, and the heavy ones the popularity cut would drop', () => {
  // 100 pods: 95 one-GPU pods cover 95% by count; 4 eight-GPU pods are 4% of pods but
  // 32 / (95 + 32 + 0.25) = 25% of the GPUs asked for; one quarter-GPU share is neither.
  const pods = [...many(95, src(1, 1000)), ...many(4, src(8, 1000, 64000)), src(1, 250)];

  it('keeps a shape that carries ≥ 5% of the GPU demand, however rare, after the popular ones', () => {
    const p = typicalProfile(pods);
    expect(p.shapes.map((s) => [s.gpuCount, s.milliPerGpu])).toEqual([
      [1, 1000],
      [8, 1000],
    ]);
    expect(p.shapes.map((s) => s.weight)).toEqual([95 / 99, 4 / 99]);
    expect(p.heavyShapes).toBe(1);
  });

  it('FGD\'s view drops the heavy shapes and renormalises; a profile without any is its own view', () => {
    const p = typicalProfile(pods);
    const fgd = popularityProfile(p);
    expect(fgd.shapes.map((s) => [s.gpuCount, s.weight])).toEqual([[1, 1]]);
    expect(fgd.heavyShapes).toBeUndefined();
    expect(popularityProfile(p)).toBe(fgd); // memoised: the simulator asks for every pod
    const plain = typicalProfile(many(10, src(1, 1000)));
    expect(popularityProfile(plain)).toBe(plain);
  });

  it('a shape under 5% of the demand stays out: the cut is FGD\'s where nothing heavy is left', () => {
    // 2 two-GPU pods: 4 of 99 GPUs (4.04%) — below the threshold.
    const p = typicalProfile([...many(95, src(1, 1000)), ...many(2, src(2, 1000))]);
    expect(p.shapes.map((s) => s.gpuCount)).toEqual([1]);
    expect(p.heavyShapes).toBeUndefined();
  });

  it('CPU-only shapes are never heavy (they ask for no GPU), and the input order does not matter', () => {
    const cpu = [...many(96, src(1, 1000)), ...many(4, src(0, 0, 32000))];
    expect(typicalProfile(cpu).shapes.map((s) => s.gpuCount)).toEqual([1]);
    const reversed = [...pods].reverse();
    expect(typicalProfile(reversed)).toEqual(typicalProfile(pods));
    expect(profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 0 }])).toEqual({ shapes: [] });
  });
});
