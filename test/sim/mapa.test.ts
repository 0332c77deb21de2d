import { describe, expect, it } from 'vitest';
import { dgx1 } from '../../src/topology/index.js';
import { bestEffortAllocate, bestEffortPairScores, dgx1PcieScore, generateMapaJobs, runMapa, summarizeMapa, MAPA_POLICIES } from '../../src/sim/mapa.js';

describe('go-gpuallocator best effort on the DGX-1 V100 fixture', () => {
  const pair = bestEffortPairScores(dgx1(), dgx1PcieScore);
  // Test vectors of besteffort_test.go (those without required devices).
  it.each([
    [[0, 2, 4, 5], 2, [4, 5]],
    [[0, 4, 5, 6], 2, [5, 6]],
    [[0, 1, 3], 2, [0, 3]],
    [[0, 1, 4], 2, [0, 4]],
  ])('available %j, size %i → %j', (available, k, expected) => {
    expect(bestEffortAllocate(available, k, pair)).toEqual(expected);
  });

  it('returns everything when the size equals the available count, nothing when too few', () => {
    expect(bestEffortAllocate([1, 6], 2, pair)).toEqual([1, 6]);
    expect(bestEffortAllocate([1], 2, pair)).toEqual([]);
  });
});

describe('MAPA scenario', () => {
  const jobs = generateMapaJobs(200, 42);

  it('generates 2–5 GPU jobs with 5–24 unit service times, reproducibly', () => {
    expect(jobs.every((j) => j.gpus >= 2 && j.gpus <= 5 && j.serviceUnits >= 5 && j.serviceUnits <= 24)).toBe(true);
    expect(new Set(jobs.map((j) => j.gpus)).size).toBe(4);
    expect(generateMapaJobs(200, 42)).toEqual(jobs);
  });

  it.each(MAPA_POLICIES.map((p) => [p]))('%s runs every job once, FIFO, never sharing a GPU', (policy) => {
    const r = runMapa(jobs, policy);
    expect(r.jobs.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    for (let i = 1; i < r.jobs.length; i++) expect(r.jobs[i].startUnits).toBeGreaterThanOrEqual(r.jobs[i - 1].startUnits);
    for (const j of r.jobs) expect(j.gpus).toHaveLength(jobs[j.id].gpus);
    // No two jobs overlap in time on one GPU.
    for (let g = 0; g < 8; g++) {
      const spans = r.jobs.filter((j) => j.gpus.includes(g)).map((j) => [j.startUnits, j.endUnits]).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1] - 1e-9);
    }
    const work = jobs.reduce((a, j) => a + j.gpus * j.serviceUnits, 0);
    expect(r.makespanUnits).toBeGreaterThanOrEqual(work / 8);
  });

  it('lowest-index takes the lowest free ids; linkpack keeps more jobs on NVLink than it', () => {
    const base = runMapa(jobs, 'lowest-index');
    expect(base.jobs[0].gpus).toEqual(Array.from({ length: jobs[0].gpus }, (_, i) => i));
    const lp = summarizeMapa(runMapa(jobs, 'linkpack'));
    const b = summarizeMapa(base);
    expect(lp.connectedPct).toBeGreaterThan(b.connectedPct);
    expect(lp.bandwidthGBps.p25).toBeGreaterThanOrEqual(b.bandwidthGBps.p25);
  });
});
