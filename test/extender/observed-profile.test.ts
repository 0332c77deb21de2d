import { describe, expect, it } from 'vitest';
import { MIN_PODS_FOR_PROFILE, observedProfile, profileFromPods } from '../../src/extender/observed-profile.js';
import { modelNeedTable, typicalProfile, type WorkloadProfile } from '../../src/core/index.js';
import { schedulerPod } from './fixtures.js';

const pods = (n: number, gpus: number, ann: Record<string, string> = {}) => Array.from({ length: n }, (_, i) => schedulerPod(`p${gpus}-${i}-${Object.keys(ann).length}`, gpus, ann));

describe('observed workload profile', () => {
  it('groups GPU pods by count, share and model; CPU-only pods and bad pods are not shapes', () => {
    const profile = profileFromPods([
      ...pods(30, 1),
      ...pods(10, 1, { 'linkpack.io/gpu-milli': '500' }),
      ...pods(10, 4, { 'linkpack.io/gpu-model': 'A100' }),
      ...pods(5, 0),
      ...pods(3, 2, { 'linkpack.io/topology': 'bogus' }),
    ])!;
    const byKey = new Map(profile.shapes.map((s) => [`${s.gpuCount}|${s.milliPerGpu}|${(s.models ?? []).join(',')}`, s.weight]));
    expect(byKey.get('1|1000|')).toBeCloseTo(30 / 50);
    expect(byKey.get('1|500|')).toBeCloseTo(10 / 50);
    expect(byKey.get('4|1000|A100')).toBeCloseTo(10 / 50);
    expect(profile.shapes.reduce((a, s) => a + s.weight, 0)).toBeCloseTo(1);
  });

  it('one builder: the simulator\'s typicalProfile over the same shapes, whatever the pod order; CPU-only pods count on GPU nodes', () => {
    const onNode = (p: ReturnType<typeof schedulerPod>, node: string) => ({ ...p, spec: { ...p.spec, nodeName: node } });
    const list = [
      ...pods(10, 1),
      ...pods(10, 2),
      ...pods(10, 4, { 'linkpack.io/gpu-model': 'H100' }),
      ...pods(6, 0).map((p) => onNode(p, 'gpu-a')),
      ...pods(50, 0).map((p) => onNode(p, 'cpu-only-node')),
    ];
    const isGpuNode = (n: string) => n.startsWith('gpu-');
    const forward = profileFromPods(list, { isGpuNode })!;
    const backward = profileFromPods([...list].reverse(), { isGpuNode })!;
    expect(backward).toEqual(forward);
    const shapes = [
      // Shapes carry each pod's CPU request (fixtures: 4 cores with GPUs, 100m without), as the trace's do.
      ...Array.from({ length: 10 }, () => ({ cpuMilli: 4000, gpuCount: 1, milliPerGpu: 1000, gpuSpec: [] })),
      ...Array.from({ length: 10 }, () => ({ cpuMilli: 4000, gpuCount: 2, milliPerGpu: 1000, gpuSpec: [] })),
      ...Array.from({ length: 10 }, () => ({ cpuMilli: 4000, gpuCount: 4, milliPerGpu: 1000, gpuSpec: ['H100'] })),
      ...Array.from({ length: 6 }, () => ({ cpuMilli: 100, gpuCount: 0, milliPerGpu: 0, gpuSpec: [] })),
    ];
    expect(forward).toEqual(typicalProfile(shapes));
    expect(forward.shapes.find((s) => s.gpuCount === 0)?.weight).toBeCloseTo(6 / 36);
    // The cluster's GPUs per model, when given, feed the model-scarcity term.
    const supply = new Map([['h100', 16], ['a100', 48]]);
    expect(profileFromPods(list, { isGpuNode, gpusByModel: () => supply })).toEqual({ ...forward, gpusByModel: supply });
    // With the free GPUs per model the term is measured against what is still free.
    const free = new Map([['h100', 3], ['a100', 20.5]]);
    expect(profileFromPods(list, { isGpuNode, gpusByModel: () => supply, freeGpusByModel: () => free })).toEqual({ ...forward, gpusByModel: supply, freeGpusByModel: free });
  });

  it('too few GPU pods: no profile (NVLink tier first)', () => {
    expect(profileFromPods(pods(MIN_PODS_FOR_PROFILE - 1, 2))).toBeUndefined();
    expect(profileFromPods(pods(MIN_PODS_FOR_PROFILE, 2))).toBeDefined();
  });

  it('recomputes only when older than its max age', () => {
    let t = 0;
    let calls = 0;
    const list = pods(25, 1);
    const source = observedProfile(() => (calls++, list), 1000, () => t);
    const first = source();
    t = 999;
    expect(source()).toBe(first);
    expect(calls).toBe(1);
    list.push(...pods(25, 8));
    t = 1000;
    const next = source()!;
    expect(calls).toBe(2);
    expect(next.shapes.map((s) => s.gpuCount).sort()).toEqual([1, 8]);
  });

  it('with a pod count, rebuilds early each time the count doubles (from MIN_PODS_FOR_PROFILE), else at its age', () => {
    const t = 0;
    let calls = 0;
    const list = pods(5, 1);
    const source = observedProfile(() => (calls++, list), 30_000, () => t, { podCount: () => list.length });
    expect(source()).toBeUndefined(); // 5 pods: too few
    list.push(...pods(MIN_PODS_FOR_PROFILE - 6, 1));
    expect(source()).toBeUndefined(); // 19 pods: no early rebuild below the minimum
    expect(calls).toBe(1);
    list.push(...pods(1, 1));
    const at20 = source()!; // 20 pods: the first profile, at once (without the count: 30 s later)
    expect(calls).toBe(2);
    expect(at20.shapes.map((s) => s.gpuCount)).toEqual([1]);
    list.push(...pods(19, 8));
    expect(source()).toBe(at20); // 39 < 2 × 20
    list.push(...pods(1, 8));
    expect(source()!.shapes.map((s) => s.gpuCount).sort()).toEqual([1, 8]); // 40: doubled
    expect(calls).toBe(3);
  });

  it('between rebuilds reads the free GPUs per model every second: a new profile only when the need changes', () => {
    let t = 0;
    let calls = 0;
    // 6 A100-only pods of 40: need 0.15 × 16/8 = 0.3 on the inventory, 0.15 × 10/2 = 0.75 once
    // only 2 of 8 A100 are free.
    const list = [...pods(6, 1, { 'linkpack.io/gpu-model': 'A100' }), ...pods(34, 1)];
    const supply = new Map([['a100', 8], ['t4', 8]]);
    let free = new Map([['a100', 8], ['t4', 8]]);
    const source = observedProfile(() => (calls++, list), 30_000, () => t, { gpusByModel: () => supply, freeGpusByModel: () => free });
    const first = source()!;
    const needA100 = (p: WorkloadProfile) => modelNeedTable(p).get('a100')!;
    const before = needA100(first);
    expect(before).toBeCloseTo(0.3);
    free = new Map([['a100', 2], ['t4', 8]]); // A100 filling up
    t = 999;
    expect(source()).toBe(first); // within the second: unchanged
    t = 1000;
    const later = source()!;
    expect(needA100(later)).toBeCloseTo(0.75);
    expect(later.shapes).toBe(first.shapes); // the shapes were not rebuilt
    expect(calls).toBe(1);
    free = new Map([['a100', 2], ['t4', 8]]); // the same supply again
    t = 2000;
    expect(source()).toBe(later); // same need table: same object
  });
});
