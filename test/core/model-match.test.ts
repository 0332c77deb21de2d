import { describe, expect, it } from 'vitest';
import { compileTopology, modelMatches, placeOnNode, type GpuRequest } from '../../src/core/index.js';
import { getPreset } from '../../src/topology/index.js';
import type { Topology } from '../../src/topology/types.js';
import { clusterOf, node, pod } from '../sim/helpers.js';

const withModel = (t: Topology, model: string): Topology => ({ ...t, gpus: t.gpus.map((g) => ({ ...g, model })) });

describe('GPU model rule: whole tokens, in order, any case', () => {
  it.each([
    ['NVIDIA A100-SXM4-80GB', 'A10', false],
    ['NVIDIA A100-SXM4-80GB', 'A100', true],
    ['NVIDIA A100-SXM4-80GB', 'a100-80gb', true],
    ['NVIDIA A100-SXM4-80GB', 'A100-SXM4', true],
    ['NVIDIA A100-SXM4-80GB', 'SXM4-A100', false],
    ['NVIDIA A10', 'A10', true],
    ['NVIDIA A10G', 'A10', false],
    ['NVIDIA A10G', 'a10g', true],
    ['Tesla T40', 'T4', false],
    ['Tesla V100-SXM2-16GB', 'v100', true],
    ['NVIDIA H100 80GB HBM3', 'H100', true],
    ['V100M16', 'V100M16', true],
    ['V100M16', 'V100', false],
    ['NVIDIA H100', '-', false],
  ])('%s with %s → %s', (model, wanted, expected) => {
    expect(modelMatches(model, [wanted])).toBe(expected);
  });

  it('any of several names', () => {
    expect(modelMatches('NVIDIA A10G', ['A10', 'A10G'])).toBe(true);
    expect(modelMatches('NVIDIA A10G', [])).toBe(false);
  });

  it('the core refuses A100 GPUs for linkpack.io/gpu-model A10', () => {
    const a100 = compileTopology(withModel(getPreset('dgx-a100')!, 'NVIDIA A100-SXM4-80GB'));
    const req: GpuRequest = { gpuCount: 1, milliPerGpu: 1000, topology: 'any', policy: 'binpack', models: ['A10'] };
    const state = { name: 'n', topology: a100, freeMilli: new Array(a100.n).fill(1000) };
    expect(placeOnNode(state, req).fits).toBe(false);
    expect(placeOnNode(state, { ...req, models: ['a100'] }).fits).toBe(true);
  });

  it('the simulator compiles trace models with the same rule (any case, whole tokens)', () => {
    const c = clusterOf(node('v', 8, 'V100M16'), node('a', 8, 'A100'), node('b', 8, 'A10'));
    const fitsOn = (spec: string[]) => [0, 1, 2].filter((i) => c.fits(i, c.compilePod(pod('p', 1, 1000, 1000, 1024, spec))));
    expect(fitsOn(['v100m16'])).toEqual([0]);
    expect(fitsOn(['A10'])).toEqual([2]);
    expect(fitsOn([])).toEqual([0, 1, 2]);
  });
});
