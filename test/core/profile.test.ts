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

  it('groups the left-out pods by GPU request: rare CPU sizes of one heavy request join as one shape with the smallest CPU', () => {
    // 95 one-GPU pods; three 8-GPU sizes (1, 1 and 2 pods: 8, 8 and 16 of 127 GPUs, each under
    // 5% but 25% together) and one 2-GPU pod (2 GPUs: not heavy).
    const p = typicalProfile([...many(95, src(1, 1000)), src(8, 1000, 96000), src(8, 1000, 64000), ...many(2, src(8, 1000, 120000)), src(2, 1000)]);
    expect(p.shapes.map((s) => [s.gpuCount, s.cpuMilli, s.weight])).toEqual([
      [1, 1000, 95 / 99],
      [8, 64000, 4 / 99],
    ]);
    expect(p.heavyShapes).toBe(1);
    // Models are part of the request: the same pods split by model are two groups, each under 5%.
    const split = typicalProfile([...many(95, src(1, 1000)), src(8, 1000, 64000, ['A100']), src(8, 1000, 64000, ['H100'])]);
    expect(split.heavyShapes).toBe(2); // 8 of 111 GPUs each: 7.2%
    const small = typicalProfile([...many(200, src(1, 1000)), ...many(11, src(1, 1000, 2000, ['A100'])), src(8, 1000, 64000, ['A100']), src(8, 1000, 64000, ['H100'])]);
    expect(small.heavyShapes).toBeUndefined(); // 8 of 227 GPUs each: 3.5%
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
