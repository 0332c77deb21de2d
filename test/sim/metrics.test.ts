import { describe, expect, it } from 'vitest';
import { meanAtArrival, pointMetrics } from '../../src/sim/metrics.js';
import { popularityProfile, typicalProfile } from '../../src/core/index.js';
import type { EventSeries } from '../../src/sim/protocol.js';
import { clusterOf, node, pod, put } from './helpers.js';

function series(arrived: number[], used: number[], frag: number[]): EventSeries {
  return { arrivedMilli: Float64Array.from(arrived), usedMilli: Float64Array.from(used), fragMilli: Float64Array.from(frag) };
}

describe('unallocated GPU at k% arrival', () => {
  // capacity 1000: arrived 400 → 40%, 495 → 50% (rounds up), 504 → 50%, 520 → 52%, 600 → 60%
  const ev = series([400, 495, 504, 520, 600], [400, 480, 490, 500, 560], [10, 20, 30, 40, 50]);
  const unalloc = (i: number) => 100 - (100 * ev.usedMilli[i]) / 1000;

  it('averages the events whose arrived demand rounds to k%', () => {
    expect(meanAtArrival(ev, 1000, 50, unalloc)).toBeCloseTo((52 + 51) / 2, 10);
    expect(meanAtArrival(ev, 1000, 60, unalloc)).toBeCloseTo(44, 10);
  });

  it('widens to k±1 where no event rounds to k, and gives null where none is near', () => {
    // 51%: none; 50..52 holds 495, 504, 520.
    expect(meanAtArrival(ev, 1000, 51, unalloc)).toBeCloseTo((52 + 51 + 50) / 3, 10);
    expect(meanAtArrival(ev, 1000, 70, unalloc)).toBeNull();
  });

  it('gives fragmentation as % of capacity and % of idle GPU', () => {
    const m = pointMetrics(ev, 1000, [50]);
    expect(m.unallocatedPct[50]).toBeCloseTo(51.5, 10);
    expect(m.fragAmountPct[50]).toBeCloseTo((2 + 3) / 2, 10);
    // idle 520 and 510: 20/520 and 30/510
    expect(m.fragRatioPct[50]).toBeCloseTo((100 * 20) / 520 / 2 + (100 * 30) / 510 / 2, 10);
  });
});

describe('fragmentation with typical pod shapes', () => {
  it('keeps the most popular shapes up to 95% of pods, then the heavy ones, and renormalises; the metric\'s (FGD\'s) view has the popular ones', () => {
    const pods = [
      ...Array.from({ length: 50 }, (_, i) => pod(`a${i}`, 1, 1000, 2000)),
      ...Array.from({ length: 30 }, (_, i) => pod(`b${i}`, 1, 300, 1000)),
      ...Array.from({ length: 15 }, (_, i) => pod(`c${i}`, 0, 0, 4000)),
      ...Array.from({ length: 4 }, (_, i) => pod(`d${i}`, 2, 1000, 8000)),
      pod('e', 1, 500, 1000, 1024, ['T4']),
    ];
    const p = typicalProfile(pods);
    // The 2-GPU shape is 4% of pods but 8,000 of 67,500 milli-GPU asked for (12%): heavy.
    expect(p.shapes.map((s) => [s.gpuCount, s.milliPerGpu, s.cpuMilli])).toEqual([
      [1, 1000, 2000],
      [1, 300, 1000],
      [0, 0, 4000],
      [2, 1000, 8000],
    ]);
    expect(p.shapes.map((s) => s.weight)).toEqual([50 / 99, 30 / 99, 15 / 99, 4 / 99]);
    const fgd = popularityProfile(p);
    expect(fgd.shapes.map((s) => s.weight)).toEqual([50 / 95, 30 / 95, 15 / 95]);
  });

  it('matches a hand computation on one node', () => {
    const c = clusterOf(node('n0', 4, 'T4', 16000, 65536));
    c.setFragProfile({
      shapes: [
        { cpuMilli: 2000, gpuCount: 1, milliPerGpu: 1000, weight: 0.5 },
        { cpuMilli: 1000, gpuCount: 1, milliPerGpu: 300, weight: 0.3 },
        { cpuMilli: 0, gpuCount: 0, milliPerGpu: 0, weight: 0.1 },
        { cpuMilli: 20000, gpuCount: 1, milliPerGpu: 100, weight: 0.1 },
      ],
    });
    expect(c.fragTotal).toBeCloseTo(0.1 * 4000 + 0.1 * 4000, 9); // empty: only the CPU-only and CPU-starved shapes
    put(c, 'n0', pod('x', 1, 1000), [3]);
    put(c, 'n0', pod('y', 1, 500), [1]);
    put(c, 'n0', pod('z', 1, 800), [2]);
    // free [1000, 500, 200, 0], idle 1700, CPU free 13000.
    // whole GPU: fits on GPU0, strands 500+200; 300-share: fits, strands 200;
    // CPU-only: all idle; 20-core shape: CPU does not fit, all idle.
    expect(c.fragTotal).toBeCloseTo(0.5 * 700 + 0.3 * 200 + 0.1 * 1700 + 0.1 * 1700, 9);
    expect(c.usedMilli).toBe(2300);
  });

  it('counts all idle GPU of a node the shape may not use (model constraint)', () => {
    const c = clusterOf(node('n0', 2, 'T4'), node('n1', 2, 'P100'));
    c.setFragProfile({ shapes: [{ cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, weight: 1, models: ['P100'] }] });
    expect(c.fragTotal).toBe(2000);
  });
});
