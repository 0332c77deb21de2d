import { describe, expect, it } from 'vitest';
import { makePolicy } from '../../src/sim/policies.js';
import { typicalProfile } from '../../src/core/index.js';
import { buildArrivals, runArrivals, runFgdProtocol } from '../../src/sim/protocol.js';
import { clusterOf, node, pod } from './helpers.js';

const items = (milli: number[]) => milli.map((m, i) => ({ id: i, totalMilli: m }));

describe('arrival sequence (seeded shuffle + resampling to 1.3× capacity)', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const pods = items(Array.from({ length: 40 }, (_, i) => (i % 3) * 500));
    const a = buildArrivals(pods, 10_000, 42).map((p) => p.id);
    expect(buildArrivals(pods, 10_000, 42).map((p) => p.id)).toEqual(a);
    expect(buildArrivals(pods, 10_000, 43).map((p) => p.id)).not.toEqual(a);
  });

  it('starts with a permutation of the whole list, then appends draws from it', () => {
    const pods = items([1000, 2000, 0, 500, 1000]);
    const out = buildArrivals(pods, 10_000, 7);
    expect(out.slice(0, 5).map((p) => p.id).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const p of out) expect(pods).toContain(p);
  });

  it('stops at the first draw that would pass 1.3 × capacity', () => {
    // All 1000 milli: 13 pods make exactly 13,000 = 1.3 × 10,000; the 14th draw would exceed.
    for (const seed of [1, 2, 3]) {
      const out = buildArrivals(items([1000, 1000, 1000, 1000, 1000]), 10_000, seed);
      expect(out).toHaveLength(13);
    }
    // Mixed sizes: the total never passes the target and stops within one pod of it.
    for (const seed of [42, 43, 44, 45]) {
      const out = buildArrivals(items([1000, 4000, 500]), 10_000, seed);
      const total = out.reduce((a, p) => a + p.totalMilli, 0);
      expect(total).toBeLessThanOrEqual(13_000);
      expect(total).toBeGreaterThan(13_000 - 4000);
    }
    expect(buildArrivals(items([1000]), 10_000, 1, 1.0)).toHaveLength(10);
  });

  it('removes random pods when the list already requests more than the target', () => {
    const out = buildArrivals(items(Array.from({ length: 20 }, () => 1000)), 10_000, 5);
    expect(out).toHaveLength(13);
  });
});

describe('placement run (arrivals only, drop on failure, per-event metrics)', () => {
  it('records used, arrived (failures included) and fragmentation after every pod', () => {
    const c = clusterOf(node('n0', 2, 'T4', 8000, 10_000));
    const pods = [pod('a', 1, 500, 1000), pod('b', 1, 1000, 1000), pod('c', 1, 1000, 1000), pod('d', 0, 0, 7000), pod('e', 1, 500, 1000)].map((p) => c.compilePod(p));
    // Profile: half the pods want a whole GPU, half a half.
    const profile = { shapes: [
      { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, weight: 0.5 },
      { cpuMilli: 0, gpuCount: 1, milliPerGpu: 500, weight: 0.5 },
    ] };
    const r = runArrivals(c, pods, makePolicy('bestfit'), 42, profile);
    expect(Array.from(r.events.arrivedMilli)).toEqual([500, 1500, 2500, 2500, 3000]);
    // a → GPU0 (lowest index among equal fits): [500,1000]; b → GPU1; c fails (no whole GPU);
    // d fails (CPU: 6000 free < 7000); e fills GPU0.
    expect(Array.from(r.events.usedMilli)).toEqual([500, 1500, 1500, 1500, 2000]);
    // After a: the 500 left on GPU0 is useless to the whole-GPU shape: 0.5 × 500.
    // After b: idle 500 on GPU0, still stranded for the whole-GPU shape: 0.5 × 500. After e: nothing idle.
    expect(Array.from(r.events.fragMilli)).toEqual([250, 250, 250, 250, 0]);
    expect(r.placedPods).toBe(3);
    expect(r.failedPods).toBe(2);
    expect(r.failedMilli).toBe(1000);
  });

  it('runs the whole protocol reproducibly on a hand-made trace', () => {
    const nodes = [node('n0', 2), node('n1', 8, 'V100M16', 96000, 512 * 1024), node('n2', 4, 'V100M32', 48000, 262144)];
    const tracePods = [pod('p0', 1, 1000, 4000), pod('p1', 1, 300, 2000), pod('p2', 2, 1000, 8000), pod('p3', 0, 0, 2000), pod('p4', 4, 1000, 16000, 4096, ['V100M32'])];
    const c = clusterOf(...nodes);
    const pods = tracePods.map((p) => c.compilePod(p));
    const profile = typicalProfile(tracePods);
    const a = runFgdProtocol(c, pods, makePolicy('fgd'), 42, profile);
    const b = runFgdProtocol(c, pods, makePolicy('fgd'), 42, profile);
    expect(Array.from(a.events.usedMilli)).toEqual(Array.from(b.events.usedMilli));
    const last = a.events.arrivedMilli.length - 1;
    expect(a.events.arrivedMilli[last]).toBeLessThanOrEqual(1.3 * c.capacityMilli);
    expect(a.events.usedMilli[last]).toBeLessThanOrEqual(c.capacityMilli);
    expect(a.placedPods + a.failedPods).toBe(a.events.arrivedMilli.length);
  });
});
