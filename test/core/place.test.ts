import { describe, expect, it } from 'vitest';
import {
  compileTopology,
  RAW_SCORE_NVLINK_TIER,
  fragmentationMilli,
  placeOnNode,
  profileFromShapes,
  scoreNodes,
  validateRequest,
  type GpuRequest,
  type NodeDecision,
  type NodeState,
} from '../../src/core/index.js';
import { getPreset, pcieBox } from '../../src/topology/index.js';

const dgx1 = compileTopology(getPreset('dgx1-v100')!);
const pcie8 = compileTopology(getPreset('pcie-8x-2socket')!);

function node(name: string, topology = dgx1, free: number[] = [0, 1, 2, 3, 4, 5, 6, 7], extra: Partial<NodeState> = {}): NodeState {
  return { name, topology, freeMilli: Array.from({ length: topology.n }, (_, i) => (free.includes(i) ? 1000 : 0)), ...extra };
}
const req = (gpuCount: number, over: Partial<GpuRequest> = {}): GpuRequest => ({ gpuCount, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack', ...over });
const gpusOf = (d: NodeDecision) => (d.fits ? d.gpus : d.reason);

describe('go-gpuallocator DGX-1 V100 vectors (placement-papers.md §4.2)', () => {
  it('agrees where the objective agrees: dual NVLink beats single, same or cross socket', () => {
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 1, 3]), req(2)))).toEqual([0, 3]);
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 1, 4]), req(2)))).toEqual([0, 4]);
  });
  it('differs on PCIe-switch tie-breaks that topo -m cannot see (docs/objective.md)', () => {
    // {0,2} and {4,5} are both one NVLink and leave an equal pair behind; go-gpuallocator prefers
    // {4,5} for sharing a PCIe switch, which nvidia-smi hides behind the NV1 cell. Lowest index wins.
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 2, 4, 5]), req(2)))).toEqual([0, 2]);
    // {0,4} and {5,6} are both NV2 and leave an NV2 pair: equal; lowest index wins.
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 4, 5, 6]), req(2)))).toEqual([0, 4]);
  });
  it('4 of 8 free GPUs: a whole quad', () => {
    expect(gpusOf(placeOnNode(node('a'), req(4)))).toEqual([0, 1, 2, 3]);
  });
});

describe('leftover: do not break an NVLink quad when a pair elsewhere serves', () => {
  it('takes the spare NV2 pair, not two GPUs of the free quad', () => {
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 1, 2, 3, 5, 6]), req(2)))).toEqual([5, 6]);
  });
  it('takes a single-NVLink pair rather than split the quad, although a dual-NVLink pair exists in it', () => {
    expect(gpusOf(placeOnNode(node('a', dgx1, [0, 1, 2, 3, 4, 5]), req(2)))).toEqual([4, 5]);
  });
  it('a single GPU comes from outside the quad', () => {
    const d = placeOnNode(node('a', dgx1, [0, 1, 2, 3, 6]), req(1));
    expect(gpusOf(d)).toEqual([6]);
  });
});

describe('constraints and reasons', () => {
  it('require-nvlink fails on a PCIe box with a reason naming the largest NVLink set', () => {
    const d = placeOnNode(node('p', pcie8), req(2, { topology: 'require-nvlink' }));
    expect(d.fits).toBe(false);
    if (!d.fits) expect(d.reason).toBe('no NVLink-connected set of 2 on this node (largest NVLink-connected set 1)');
  });
  it('prefer-nvlink on a PCIe box still places, on one PCIe switch', () => {
    const d = placeOnNode(node('p', pcie8), req(2));
    expect(gpusOf(d)).toEqual([0, 1]);
    if (d.fits) expect(d.breakdown.nvlinkConnected).toBe(false);
  });
  it('never gives out unhealthy or excluded GPUs, and says why when too few remain', () => {
    const d = placeOnNode(node('a', dgx1, [0, 1, 2, 3], { unhealthyMask: 0b0001 }), req(2, { excludeGpus: [3] }));
    expect(gpusOf(d)).toEqual([1, 2]);
    const no = placeOnNode(node('a', dgx1, [0, 1, 2, 3], { unhealthyMask: 0b0001 }), req(3, { excludeGpus: [3] }));
    expect(no.fits).toBe(false);
    if (!no.fits) expect(no.reason).toBe('only 2 free GPUs of the 7 that qualify, 3 asked (GPUs 4,5,6,7 in use; GPU 0 unhealthy)');
  });
  it('include restricts the choice; model and memory filter GPUs', () => {
    expect(gpusOf(placeOnNode(node('a'), req(2, { includeGpus: [5, 6, 7] })))).toEqual([5, 6]);
    expect(placeOnNode(node('a'), req(1, { models: ['A100'] })).fits).toBe(false);
    expect(placeOnNode(node('a'), req(1, { models: ['v100'] })).fits).toBe(true);
    expect(placeOnNode(node('a'), req(1, { minMemoryMiB: 32768 })).fits).toBe(false);
    const unknownMem = compileTopology(pcieBox(2));
    expect(placeOnNode(node('u', unknownMem, [0, 1]), req(1, { minMemoryMiB: 1 })).fits).toBe(false);
  });
  it('checks CPU and memory when the node tracks them', () => {
    const d = placeOnNode(node('a', dgx1, [0], { cpuFreeMilli: 4000, memoryFreeMiB: 1024 }), req(1, { cpuMilli: 8000 }));
    expect(d.fits ? 'fit' : d.reason).toBe('not enough CPU: needs 8000m, 4000m free');
  });
  it('rejects malformed requests with a message', () => {
    expect(validateRequest(req(-1))).toMatch(/≥ 0/);
    expect(validateRequest(req(1.5))).toMatch(/whole number/);
    expect(validateRequest(req(2, { milliPerGpu: 500 }))).toMatch(/only allowed with 1 GPU/);
    expect(validateRequest(req(1, { milliPerGpu: 1001 }))).toMatch(/1\.\.1000/);
    expect(validateRequest(req(1, { topology: 'nvlink' as never }))).toMatch(/require-nvlink \| prefer-nvlink \| any/);
    expect(validateRequest(req(1))).toBeNull();
  });
});

describe('GPU shares', () => {
  const shared = (free: number[]): NodeState => ({ name: 's', topology: dgx1, freeMilli: free });
  it('packs a share onto an already shared GPU with the tightest fit', () => {
    const d = placeOnNode(shared([1000, 600, 300, 1000, 1000, 1000, 1000, 1000]), req(1, { milliPerGpu: 250 }));
    expect(gpusOf(d)).toEqual([2]);
  });
  it('breaks a whole GPU only when no shared one fits, choosing one outside intact groups', () => {
    const d = placeOnNode(shared([0, 0, 0, 0, 1000, 1000, 1000, 100]), req(1, { milliPerGpu: 500 }));
    // GPU 7 has only 100 left; among 4,5,6 taking 4 leaves 5-6 (NV2).
    expect(gpusOf(d)).toEqual([4]);
  });
});

describe('node score', () => {
  const raw = (d: NodeDecision) => (d.fits ? d.rawScore : NaN);
  it('a node that gives an NVLink-connected set beats one that cannot, whatever the packing', () => {
    const nv = placeOnNode(node('nv', dgx1), req(2)); // empty node
    const busyPcie = placeOnNode(node('pc', pcie8, [0, 1]), req(2)); // would be fully packed
    expect(raw(nv)).toBeGreaterThan(raw(busyPcie));
    expect(raw(nv)).toBeGreaterThanOrEqual(RAW_SCORE_NVLINK_TIER);
    expect(raw(busyPcie)).toBeLessThan(RAW_SCORE_NVLINK_TIER);
  });
  it('a single GPU goes where it costs no NVLink (PCIe box before a DGX-1)', () => {
    const [onDgx, onPcie] = [placeOnNode(node('d'), req(1)), placeOnNode(node('p', pcie8), req(1))];
    expect(raw(onPcie)).toBeGreaterThan(raw(onDgx));
  });
  it('binpack prefers the fuller node, spread the emptier', () => {
    const a = node('full', pcie8, [0, 1, 2]);
    const b = node('empty', pcie8);
    expect(raw(placeOnNode(a, req(1)))).toBeGreaterThan(raw(placeOnNode(b, req(1))));
    expect(raw(placeOnNode(b, req(1, { policy: 'spread' })))).toBeGreaterThan(raw(placeOnNode(a, req(1, { policy: 'spread' }))));
  });
});

describe('fragmentation (FGD)', () => {
  it('counts idle GPU a typical shape cannot use', () => {
    const profile = profileFromShapes([
      { shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 500 }, count: 1 },
      { shape: { cpuMilli: 0, gpuCount: 2, milliPerGpu: 1000 }, count: 1 },
    ]);
    const n = { name: 'x', topology: compileTopology(pcieBox(2)), freeMilli: [1000, 300] };
    // shape A (0.5 GPU): fits on GPU0; GPU1's 300 is stranded → 300. Shape B (2 GPUs) cannot fit → all 1300 idle.
    expect(fragmentationMilli(n, profile)).toBeCloseTo(0.5 * 300 + 0.5 * 1300);
  });
  it('with a profile, a share goes where fragmentation grows least', () => {
    const profile = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 500 }, count: 1 }]);
    const d = placeOnNode({ name: 's', topology: compileTopology(pcieBox(2)), freeMilli: [1000, 700] }, req(1, { milliPerGpu: 200 }), profile);
    // Taking 200 of GPU1 leaves 500, still usable by the 0.5 shape: growth 0.
    expect(gpusOf(d)).toEqual([1]);
    if (d.fits) expect(d.breakdown.fragDeltaMilli).toBe(0);
  });
});

describe('scoreNodes (the prioritize hot path) agrees with placeOnNode', () => {
  it('same raw scores and the same fits, with and without the decision cache', async () => {
    const fc = (await import('fast-check')).default;
    const tops = ['dgx1-v100', 'dgx2', 'pcie-8x-nvlink-pairs', 'pcie-4x'].map((p) => compileTopology(getPreset(p)!));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.array(fc.constantFrom(0, 250, 500, 1000), { minLength: 16, maxLength: 16 })), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<GpuRequest['topology']>('require-nvlink', 'prefer-nvlink', 'any'),
        fc.constantFrom(250, 1000),
        (specs, k, topology, milli) => {
          const nodes = specs.map(([t, free], i): NodeState => ({ name: `n${i}`, topology: tops[t], freeMilli: free.slice(0, tops[t].n) }));
          const r = req(milli < 1000 ? 1 : k, { topology, milliPerGpu: milli });
          const raw = scoreNodes(nodes, r);
          const rawExhaustive = scoreNodes(nodes, r, undefined, { exhaustive: true });
          nodes.forEach((n, i) => {
            const d = placeOnNode(n, r);
            expect(Number.isNaN(raw[i])).toBe(!d.fits);
            if (d.fits) expect(raw[i]).toBe(d.rawScore);
            expect(Object.is(raw[i], rawExhaustive[i]) || raw[i] === rawExhaustive[i]).toBe(true);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('CPU-only requests (gpuCount 0)', () => {
  const profile = profileFromShapes([{ shape: { cpuMilli: 8000, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
  const cpuNode = (name: string, cpuFreeMilli: number): NodeState => ({ name, topology: compileTopology(pcieBox(2)), freeMilli: [1000, 1000], cpuFreeMilli, cpuTotalMilli: 64000 });
  it('validates: no GPUs means no GPU share', () => {
    expect(validateRequest(req(0, { milliPerGpu: 0 }))).toBeNull();
    expect(validateRequest(req(0, { milliPerGpu: 500 }))).toMatch(/0 milli-GPU/);
  });
  it('fits on CPU alone, takes no GPU, and prefers the node where it strands no GPU', () => {
    const tight = placeOnNode(cpuNode('tight', 12000), req(0, { milliPerGpu: 0, cpuMilli: 8000 }), profile);
    const roomy = placeOnNode(cpuNode('roomy', 40000), req(0, { milliPerGpu: 0, cpuMilli: 8000 }), profile);
    expect(tight.fits && roomy.fits).toBe(true);
    if (tight.fits && roomy.fits) {
      expect(tight.gpus).toEqual([]);
      // On "tight" the pod leaves 4000m: an 8-core GPU pod no longer fits, both GPUs are stranded.
      expect(tight.breakdown.fragDeltaMilli).toBe(2000);
      expect(roomy.breakdown.fragDeltaMilli).toBe(0);
      expect(roomy.rawScore).toBeGreaterThan(tight.rawScore);
    }
    expect(placeOnNode(cpuNode('full', 4000), req(0, { milliPerGpu: 0, cpuMilli: 8000 })).fits).toBe(false);
  });
});

describe('fragmentation-aware order (with a workload profile)', () => {
  // Typical pods: whole single GPUs. A node with one stranded share is already fragmented.
  const profile = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
  it('an NVLink node still wins among equal fragmentation points', () => {
    const nv = placeOnNode(node('nv', dgx1, [0, 1, 2, 3]), req(2), profile);
    const pc = placeOnNode(node('pc', pcie8, [0, 1, 2, 3]), req(2), profile);
    expect(nv.fits && pc.fits).toBe(true);
    if (nv.fits && pc.fits) {
      expect(nv.breakdown.fragDeltaMilli).toBe(pc.breakdown.fragDeltaMilli);
      expect(nv.rawScore).toBeGreaterThan(pc.rawScore);
    }
  });
  it('a whole fragmentation point outweighs the soft NVLink preference; require-nvlink does not yield', () => {
    // Typical pod: 8 cores + 1 GPU. On the DGX-1 the 2-GPU pod's 12 cores leave 4 cores, so the
    // third free GPU becomes unusable (ΔF = +1000 → 26 points); the PCIe box is emptied (ΔF = 0 → 50).
    const withCpu = profileFromShapes([{ shape: { cpuMilli: 8000, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
    const nvNode: NodeState = { name: 'nv', topology: dgx1, freeMilli: [1000, 1000, 1000, 0, 0, 0, 0, 0], cpuFreeMilli: 16000 };
    const pcNode: NodeState = { name: 'pc', topology: pcie8, freeMilli: [1000, 1000, 0, 0, 0, 0, 0, 0], cpuFreeMilli: 64000 };
    const r = req(2, { cpuMilli: 12000 });
    const nv = placeOnNode(nvNode, r, withCpu);
    const pc = placeOnNode(pcNode, r, withCpu);
    expect(nv.fits && pc.fits).toBe(true);
    if (nv.fits && pc.fits) {
      expect([nv.breakdown.fragDeltaMilli, pc.breakdown.fragDeltaMilli]).toEqual([1000, 0]);
      expect(pc.rawScore).toBeGreaterThan(nv.rawScore);
      expect(nv.breakdown.nvlinkConnected && !pc.breakdown.nvlinkConnected).toBe(true);
    }
    // Without a profile the NVLink node leads; with require-nvlink the PCIe box is not a candidate.
    const [a, b] = [placeOnNode(nvNode, r), placeOnNode(pcNode, r)];
    expect(a.fits && b.fits && a.rawScore > b.rawScore).toBe(true);
    expect(placeOnNode(pcNode, req(2, { cpuMilli: 12000, topology: 'require-nvlink' }), withCpu).fits).toBe(false);
  });
  it('among equal points: a node where the pod takes no NVLink capacity, then the fuller node — not how many GB/s', () => {
    // Typical pods: 2 whole GPUs. A 1-GPU pod on any of these leaves the points equal.
    const pairs = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 2, milliPerGpu: 1000 }, count: 1 }]);
    const r = req(1);
    const fullDgx = placeOnNode(node('dgx-full', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), r, pairs);
    const halfDgx = placeOnNode(node('dgx-half', dgx1, [0, 1, 2, 3]), r, pairs);
    const pcie = placeOnNode(node('pcie', pcie8, [0, 1, 2, 3, 4, 5, 6, 7]), r, pairs);
    expect(fullDgx.fits && halfDgx.fits && pcie.fits).toBe(true);
    if (!(fullDgx.fits && halfDgx.fits && pcie.fits)) return;
    expect(new Set([fullDgx, halfDgx, pcie].map((d) => d.breakdown.fragDeltaMilli)).size).toBe(1);
    // The PCIe box loses no NVLink bandwidth: it leads although it is the emptiest.
    expect(pcie.rawScore).toBeGreaterThan(halfDgx.rawScore);
    expect(pcie.rawScore).toBeGreaterThan(fullDgx.rawScore);
    // Both DGX-1s lose NVLink bandwidth: the fuller one wins (packing).
    expect(halfDgx.rawScore).toBeGreaterThan(fullDgx.rawScore);
    // However much each loses: the last pair of an HGX H100 (~450 GB/s) against one DGX-1 GPU's links (150 GB/s).
    const h100 = compileTopology(getPreset('hgx-h100')!);
    const singles = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
    const lastPair = placeOnNode(node('h100-2', h100, [6, 7]), r, singles);
    const emptyDgx = placeOnNode(node('dgx-empty', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), r, singles);
    expect(lastPair.fits && emptyDgx.fits && lastPair.rawScore > emptyDgx.rawScore).toBe(true);
    // Without a profile NVLink preservation still comes before packing.
    const [p0, e0] = [placeOnNode(node('h100-2', h100, [6, 7]), r), placeOnNode(node('dgx-empty', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), r)];
    expect(p0.fits && e0.fits && e0.rawScore > p0.rawScore).toBe(true);
  });
  it('a share among equal points: no packing and no NVLink bit, the caller\'s stable node order decides; whole GPUs still pack', () => {
    // Typical pods: 1 whole GPU. A 300-milli share on one of two PCIe boxes, one nearly full, one
    // half used, strands 700 milli on either: the points and the NVLink bit are equal, so are the raw scores.
    const singles = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
    const nearlyFull = node('pcie-a', pcie8, [0, 1]);
    const half = node('pcie-b', pcie8, [0, 1, 2, 3]);
    const share = req(1, { milliPerGpu: 300 });
    const [a, b] = [placeOnNode(nearlyFull, share, singles), placeOnNode(half, share, singles)];
    expect(a.fits && b.fits).toBe(true);
    if (!(a.fits && b.fits)) return;
    expect(a.breakdown.fragDeltaMilli).toBe(b.breakdown.fragDeltaMilli);
    expect(a.rawScore).toBe(b.rawScore);
    // A whole GPU on the same two boxes: the fuller one wins.
    const [wa, wb] = [placeOnNode(nearlyFull, req(1), singles), placeOnNode(half, req(1), singles)];
    expect(wa.fits && wb.fits && wa.rawScore > wb.rawScore).toBe(true);
    // Nor does the NVLink bit decide for a share: on an empty DGX-1 it takes a GPU with free NVLink
    // peers, on the PCIe box none, and the raw scores are still equal; a whole GPU goes to the PCIe box.
    const dgx = node('dgx', dgx1);
    const [d, p] = [placeOnNode(dgx, share, singles), placeOnNode(half, share, singles)];
    expect(d.fits && p.fits).toBe(true);
    if (!(d.fits && p.fits)) return;
    expect(d.breakdown.fragDeltaMilli).toBe(p.breakdown.fragDeltaMilli);
    expect(d.breakdown.leftoverQuality).toBeLessThan(1);
    expect(d.rawScore).toBe(p.rawScore);
    const [wd, wp] = [placeOnNode(dgx, req(1), singles), placeOnNode(half, req(1), singles)];
    expect(wd.fits && wp.fits && wp.rawScore > wd.rawScore).toBe(true);
  });
  it('among equal points a share goes where it leaves the free whole GPUs their CPU (8 cores each)', () => {
    const singles = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 1 }]);
    const share = req(1, { milliPerGpu: 300, cpuMilli: 4000 });
    // Four free GPUs; the share breaks one and three stay whole: they need 24 cores after it.
    const boxWith = (cpuFreeMilli: number | undefined) => node('pcie', pcie8, [0, 1, 2, 3], cpuFreeMilli === undefined ? {} : { cpuFreeMilli, cpuTotalMilli: 64_000 });
    const [rich, exact, poor, untracked] = [boxWith(40_000), boxWith(28_000), boxWith(20_000), boxWith(undefined)].map((n) => placeOnNode(n, share, singles));
    expect(rich.fits && exact.fits && poor.fits && untracked.fits).toBe(true);
    if (!(rich.fits && exact.fits && poor.fits && untracked.fits)) return;
    expect(poor.breakdown.fragDeltaMilli).toBe(rich.breakdown.fragDeltaMilli);
    expect(rich.rawScore).toBe(exact.rawScore); // 24 cores left: enough
    expect(rich.rawScore).toBe(untracked.rawScore); // without the node's CPU, no judgement
    expect(poor.rawScore).toBeLessThan(rich.rawScore); // 16 cores left for three GPUs
    expect(poor.breakdown.leavesGpusShortOfCpu).toBe(true);
    expect(rich.breakdown.leavesGpusShortOfCpu).toBeUndefined();
    // A whole GPU is not held to it.
    const [wr, wp] = [boxWith(40_000), boxWith(20_000)].map((n) => placeOnNode(n, req(1, { cpuMilli: 4000 }), singles));
    expect(wr.fits && wp.fits && wr.rawScore === wp.rawScore).toBe(true);
  });
});


describe('fragDeltaOf (one pass) equals F(after) − F(before)', () => {
  it('on random nodes, shapes and placements', async () => {
    const fc = (await import('fast-check')).default;
    const { fragDeltaOf, fragmentationOf } = await import('../../src/core/fragmentation.js');
    const shape = fc.record({
      cpuMilli: fc.constantFrom(0, 4000, 16000),
      gpuCount: fc.integer({ min: 0, max: 4 }),
      milliPerGpu: fc.constantFrom(100, 500, 1000),
      models: fc.constantFrom(undefined, ['v100'], ['a100', 't4']),
      weight: fc.double({ min: 0.01, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 400 }),
        fc.option(fc.integer({ min: 0, max: 32000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 8000 }),
        fc.array(shape, { minLength: 1, maxLength: 6 }),
        (free, usable, taken, milli, cpu, cpuTaken, shapes) => {
          const profile = { shapes };
          const models = dgx1.modelsLower;
          const after = free.map((f, i) => (taken & (1 << i) ? f - milli : f));
          const expected =
            fragmentationOf(after, usable, models, cpu === undefined ? undefined : cpu - cpuTaken, profile) - fragmentationOf(free, usable, models, cpu, profile);
          expect(fragDeltaOf(free, usable, models, cpu, profile, taken, milli, cpuTaken)).toBeCloseTo(expected, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
});
