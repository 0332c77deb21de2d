import { describe, expect, it } from 'vitest';
import type { PolicySummary } from '../../src/sim/metrics.js';
import { pairedAgainstBestBaseline, pairedDifference, tQuantile975, welchDifference } from '../../src/sim/paired.js';

/** A summary with these per-seed unallocated % at point 100 (seeds 1..n); the mean is theirs. */
function summary(policy: string, perSeedPct: (number | null)[], seeds = perSeedPct.map((_, i) => i + 1)): PolicySummary {
  const v = perSeedPct.filter((x): x is number => x !== null);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return {
    policy,
    workload: 'w',
    seeds,
    unallocatedPct: { 100: mean },
    unallocatedSd: { 100: 0 },
    fragAmountPct: {},
    fragRatioPct: {},
    nvlink: { multiGpuPods: 0, connectedPct: null, connectedPctWhereAllowed: null, meanBottleneckGBps: null } as unknown as PolicySummary['nvlink'],
    placedPods: 0,
    failedPods: 0,
    droppedDemandPct: 0,
    meanRunMs: 0,
    perSeed: seeds.map((seed, i) => ({ seed, metrics: { unallocatedPct: { 100: perSeedPct[i] ?? null }, fragAmountPct: {}, fragRatioPct: {} } })),
  };
}

describe('tQuantile975', () => {
  it("gives Student's t two-sided 95% quantiles: the table, then the expansion", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(9)).toBe(2.262);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(40)).toBeCloseTo(2.021, 2);
    expect(tQuantile975(99)).toBeCloseTo(1.984, 2);
    expect(tQuantile975(10_000)).toBeCloseTo(1.96, 2);
  });
  it('refuses a degree of freedom that is not a positive integer', () => {
    expect(() => tQuantile975(0)).toThrow(/positive integer, got 0/);
    expect(() => tQuantile975(2.5)).toThrow(/got 2.5/);
  });
});

describe('pairedAgainstBestBaseline', () => {
  it('takes the baseline with the lowest mean and gives the mean, the t interval and the seeds won of the per-seed differences', () => {
    const out = pairedAgainstBestBaseline(
      [summary('bestfit', [10, 12, 11, 9]), summary('fgd', [13, 13, 13, 13]), summary('linkpack', [9, 12.5, 10, 8])],
      [100],
    );
    // differences −1, +0.5, −1, −1: mean −0.625, sd 0.75
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ point: 100, policy: 'linkpack', against: 'bestfit', fewerSeeds: 3, seeds: 4 });
    expect(out[0]!.meanPct).toBeCloseTo(-0.625, 10);
    expect(out[0]!.ci95Pct).toBeCloseTo((3.182 * 0.75) / 2, 10);
  });
  it("never takes one of linkpack's own variants as the baseline", () => {
    const out = pairedAgainstBestBaseline([summary('linkpack-deployed', [1, 1]), summary('fgd', [5, 6]), summary('linkpack', [4, 4])], [100]);
    expect(out[0]).toMatchObject({ against: 'fgd', fewerSeeds: 2 });
    expect(out[0]!.meanPct).toBeCloseTo(-1.5, 10);
  });
  it('pairs by seed, leaving out seeds where either has no value', () => {
    const out = pairedAgainstBestBaseline([summary('bestfit', [2, 4, null], [7, 8, 9]), summary('linkpack', [3, 5, 1], [8, 9, 7])], [100]);
    // seed 7: 1 − 2; seed 8: 3 − 4; seed 9: no baseline value
    expect(out[0]).toMatchObject({ seeds: 2, fewerSeeds: 2 });
    expect(out[0]!.meanPct).toBeCloseTo(-1, 10);
    expect(out[0]!.ci95Pct).toBeCloseTo(0, 10);
  });
  it('has no interval with one seed, and nothing without linkpack or a baseline', () => {
    expect(pairedAgainstBestBaseline([summary('bestfit', [2]), summary('linkpack', [1])], [100])[0]!.ci95Pct).toBeNull();
    expect(pairedAgainstBestBaseline([summary('bestfit', [2])], [100])).toEqual([]);
    expect(pairedAgainstBestBaseline([summary('linkpack', [2]), summary('linkpack-noprofile', [1])], [100])).toEqual([]);
  });
});

describe('welchDifference', () => {
  it("gives Welch's interval with the degrees of freedom rounded down", () => {
    // a = 1/10, b = 4/10: se = √0.5, df = 0.25 / (0.01/9 + 0.16/9) = 13.2 → 13 (t = 2.16)
    const d = welchDifference({ mean: 5, sd: 1, n: 10 }, { mean: 4, sd: 2, n: 10 });
    expect(d.meanPct).toBe(1);
    expect(d.ci95Pct).toBeCloseTo(2.16 * Math.sqrt(0.5), 10);
  });
  it('has no interval below two values a side, and none wider than zero without spread', () => {
    expect(welchDifference({ mean: 5, sd: 0, n: 1 }, { mean: 4, sd: 1, n: 10 }).ci95Pct).toBeNull();
    expect(welchDifference({ mean: 5, sd: 0, n: 5 }, { mean: 4, sd: 0, n: 10 })).toEqual({ meanPct: 1, ci95Pct: 0 });
  });
});

describe('pairedDifference', () => {
  it('is null when no seed has both values', () => {
    expect(pairedDifference(summary('linkpack', [1], [1]), summary('fgd', [2], [2]), 100)).toBeNull();
  });
});
