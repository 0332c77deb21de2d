import { describe, expect, it } from 'vitest';
import { availableGpusByModel, compileTopology, gpusByModelOf, modelNeed, modelNeedTable, placeOnNode, typicalProfile, type GpuRequest, type NodeState, type ShapeSource, type WorkloadProfile } from '../../src/core/index.js';
import { pcieBox } from '../../src/topology/index.js';

const box = (model: string, n = 2) => compileTopology({ ...pcieBox(n), gpus: pcieBox(n).gpus.map((g) => ({ ...g, model })) });
const t4 = box('T4');
const g2 = box('G2');
const free = (ct: ReturnType<typeof box>, name: string): NodeState => ({ name, topology: ct, freeMilli: Array(ct.n).fill(1000) });
const pods = (count: number, over: Partial<ShapeSource> = {}): ShapeSource[] => Array.from({ length: count }, () => ({ cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, gpuSpec: [], ...over }));
const one: GpuRequest = { gpuCount: 1, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack' };

/** 2 T4 GPUs and 18 G2 GPUs; `constrained` of 100 pods ask for T4 only. */
function profileWith(constrained: number): WorkloadProfile {
  const supply = gpusByModelOf([t4, ...Array(9).fill(g2)]);
  return { ...typicalProfile([...pods(100 - constrained), ...pods(constrained, { gpuSpec: ['T4'] })]), gpusByModel: supply };
}

describe('model need (scarcity.ts)', () => {
  it('is the constrained share of the demand spread over the models it may use, capped at 1', () => {
    // 5% of demand asks for T4; when the 20-GPU cluster is full that is 1 GPU of T4's 2.
    expect(modelNeed(['t4'], profileWith(5))).toBeCloseTo(0.5, 9);
    expect(modelNeed(['g2'], profileWith(5))).toBe(0);
    expect(modelNeed(['t4'], profileWith(40))).toBe(1);
  });
  it('counts every constrained pod, not only the typical shapes the 95% cut keeps', () => {
    // 3 of 100 pods, each with its own CPU size: no constrained shape survives the cut.
    const src = [...pods(97), ...[1, 2, 3].map((c) => ({ cpuMilli: c, gpuCount: 1, milliPerGpu: 1000, gpuSpec: ['T4'] }))];
    const p = { ...typicalProfile(src), gpusByModel: gpusByModelOf([t4, ...Array(9).fill(g2)]) };
    expect(p.shapes.some((s) => s.models)).toBe(false);
    expect(modelNeed(['t4'], p)).toBeCloseTo(0.3, 9);
  });
  it('measured against the free GPUs: a model that fills faster is needed more, one left emptier less', () => {
    // 5% of demand asks for T4 (static need 0.5). Both T4 GPUs free, 2 of 18 G2 free: the free
    // capacity is 4, of which the T4 pods will want 0.2 — T4 is over-protected by the static need.
    const base = profileWith(5);
    const emptier = { ...base, freeGpusByModel: new Map([['t4', 2], ['g2', 2]]) };
    expect(modelNeed(['t4'], emptier)).toBeCloseTo(0.1, 9);
    // Half a T4 left, 18 G2: the T4 pods will want 0.925 GPUs of it → capped at 1.
    expect(modelNeed(['t4'], { ...base, freeGpusByModel: new Map([['t4', 0.5], ['g2', 18]]) })).toBe(1);
    // Rounded to 0.01 (0.05 · 12.6 / 2 = 0.315), so that small fill changes keep the same table.
    expect(modelNeed(['t4'], { ...base, freeGpusByModel: new Map([['t4', 2], ['g2', 10.6]]) })).toBeCloseTo(0.32, 9);
    expect([...modelNeedTable(emptier)]).toEqual([['t4', modelNeed(['t4'], emptier)]]);
    // No T4 free at all: no entry (no pod can take one); a model missing from the free map has none free.
    expect(modelNeed(['t4'], { ...base, freeGpusByModel: new Map([['g2', 5]]) })).toBe(0);
    const onT4 = placeOnNode(free(t4, 't4'), one, emptier);
    expect(onT4.fits && onT4.breakdown.scarcityMilli).toBeCloseTo(1000 * 0.1 * 0.1, 6);
  });
  it('the GPUs the coming demand can get: free without churn, the inventory with full churn', () => {
    const inventory = new Map([['t4', 4], ['g2', 16]]);
    const free = new Map([['t4', 1]]);
    expect([...availableGpusByModel(inventory, free, 0)]).toEqual([['t4', 1], ['g2', 0]]);
    expect([...availableGpusByModel(inventory, free, 0.5)]).toEqual([['t4', 2.5], ['g2', 8]]);
    expect([...availableGpusByModel(inventory, free, 1)]).toEqual([...inventory]);
    expect([...availableGpusByModel(inventory, free, 7)]).toEqual([...inventory]);
  });
  it('is 0 without the cluster supply or without constraints', () => {
    expect(modelNeed(['t4'], typicalProfile([...pods(90), ...pods(10, { gpuSpec: ['T4'] })]))).toBe(0);
    expect(modelNeed(['t4'], { ...typicalProfile(pods(100)), gpusByModel: gpusByModelOf([t4, g2]) })).toBe(0);
  });
});

describe('the scarcity term in the node score', () => {
  it('an unconstrained pod leaves the model that constrained pods need, a T4 pod still gets a T4', () => {
    const p = profileWith(20);
    const onT4 = placeOnNode(free(t4, 't4'), one, p);
    const onG2 = placeOnNode(free(g2, 'g2'), one, p);
    expect(onT4.fits && onG2.fits).toBe(true);
    if (!onT4.fits || !onG2.fits) return;
    expect(onT4.breakdown.scarcityMilli).toBeCloseTo(1000, 6); // need 1 → the whole GPU counts
    expect(onG2.breakdown.scarcityMilli).toBeUndefined();
    expect(onG2.rawScore).toBeGreaterThan(onT4.rawScore);
    expect(placeOnNode(free(g2, 'g2'), { ...one, models: ['T4'] }, p).fits).toBe(false);
    expect(placeOnNode(free(t4, 't4'), { ...one, models: ['T4'] }, p).fits).toBe(true);
  });
  it('a lightly needed model costs little (need², not need): the same pod scores nearly alike on both', () => {
    const p = profileWith(2); // need(T4) = 0.2 → 40 milli per GPU taken
    const onT4 = placeOnNode(free(t4, 't4'), one, p);
    expect(onT4.fits && onT4.breakdown.scarcityMilli).toBeCloseTo(40, 6);
  });
  it('a CPU-only pod carries no scarcity', () => {
    const d = placeOnNode(free(t4, 't4'), { gpuCount: 0, milliPerGpu: 0, topology: 'any', policy: 'binpack', cpuMilli: 1 }, profileWith(20));
    expect(d.fits && d.breakdown.scarcityMilli).toBeUndefined();
  });
});
