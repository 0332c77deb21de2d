/** kube-scheduler's 0..10 levels from the core's raw scores (the mapping is the extender's). */
import { describe, expect, it } from 'vitest';
import { compileTopology, placeOnNode, type GpuRequest, type NodeState } from '../../src/core/index.js';
import { extenderScores, extenderScoresFromRaw, nodeTieRank } from '../../src/extender/scores.js';
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

describe('the pick and its ties', () => {
  const raw = (xs: number[]) => Float64Array.from(xs);
  it('only the highest raw score gets 10; every other fitting node is 1..8, two levels below', () => {
    const s = extenderScoresFromRaw(raw([5, 9, 7, NaN, 8.999]));
    expect(Array.from(s)).toHaveLength(5);
    expect(s[1]).toBe(10);
    expect(s[3]).toBe(0);
    for (const i of [0, 2, 4]) {
      expect(s[i]).toBeGreaterThanOrEqual(1);
      expect(s[i]).toBeLessThanOrEqual(8);
    }
    expect(s[4]).toBeGreaterThan(s[2]!);
    expect(s[2]).toBeGreaterThan(s[0]!);
  });
  it('equal raw scores: the lowest tie rank takes 10 whatever the input order, others stay ≤ 8', () => {
    const ranks = [30, 10, 20];
    const s = extenderScoresFromRaw(raw([4, 4, 4]), (i) => ranks[i]!);
    expect(Array.from(s)).toEqual([8, 10, 8]);
    // Without a tie rank the first in input order wins.
    expect(Array.from(extenderScoresFromRaw(raw([4, 4])))).toEqual([10, 8]);
  });
  it('nodeTieRank is a stable 32-bit order of names, not the input order', () => {
    expect(nodeTieRank('gpu-node-1')).toBe(nodeTieRank('gpu-node-1'));
    expect(nodeTieRank('gpu-node-1')).not.toBe(nodeTieRank('gpu-node-2'));
    const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const byRank = [...names].sort((a, b) => nodeTieRank(a) - nodeTieRank(b));
    expect(byRank).not.toEqual(names);
    for (const n of names) expect(Number.isInteger(nodeTieRank(n)) && nodeTieRank(n) >= 0 && nodeTieRank(n) < 2 ** 32).toBe(true);
    // extenderScores breaks equal decisions by the names' rank.
    const ds = names.slice(0, 5).map((n) => placeOnNode(node(n, pcie8), req(1)));
    const s = extenderScores(ds);
    const winner = names.slice(0, 5).reduce((a, b) => (nodeTieRank(b) < nodeTieRank(a) ? b : a));
    expect(s[names.indexOf(winner)]).toBe(10);
    expect(s.filter((x) => x === 10)).toHaveLength(1);
  });
});
