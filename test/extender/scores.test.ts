/** kube-scheduler's 0..10 levels from the core's raw scores (the mapping is the extender's). */
import { describe, expect, it } from 'vitest';
import { compileTopology, placeOnNode, type GpuRequest, type NodeState } from '../../src/core/index.js';
import { extenderScores } from '../../src/extender/scores.js';
import { getPreset } from '../../src/topology/index.js';

const dgx1 = compileTopology(getPreset('dgx1-v100')!);
const pcie8 = compileTopology(getPreset('pcie-8x-2socket')!);
const node = (name: string, topology = dgx1, free: number[] = [0, 1, 2, 3, 4, 5, 6, 7]): NodeState => ({ name, topology, freeMilli: Array.from({ length: topology.n }, (_, i) => (free.includes(i) ? 1000 : 0)) });
const req = (gpuCount: number, over: Partial<GpuRequest> = {}): GpuRequest => ({ gpuCount, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack', ...over });

describe('extenderScores', () => {
  it('NVLink-connected sets take the upper band 6..10, the rest 1..5', () => {
    const s = extenderScores([placeOnNode(node('nv'), req(2)), placeOnNode(node('pc', pcie8, [0, 1]), req(2))]);
    expect(s[0]).toBeGreaterThanOrEqual(6);
    expect(s[1]).toBeLessThanOrEqual(5);
    expect(s[1]).toBeGreaterThanOrEqual(1);
  });
  it('keeps the raw order: binpack prefers the fuller node', () => {
    const bin = extenderScores([placeOnNode(node('full', pcie8, [0, 1, 2]), req(1)), placeOnNode(node('empty', pcie8), req(1))]);
    expect(bin[0]).toBeGreaterThan(bin[1]);
  });
  it('uses the whole 0..10 range: 0 for no fit, distinct levels by rank', () => {
    const ds = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((used) => placeOnNode(node(`n${used}`, pcie8, [0, 1, 2, 3, 4, 5, 6, 7].slice(used)), req(1)));
    const s = extenderScores(ds);
    expect(s[8]).toBe(0); // a full node
    expect(Math.max(...s)).toBe(10);
    expect(Math.min(...s.slice(0, 8))).toBe(1);
    for (let i = 1; i < 8; i++) expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]);
  });
});
